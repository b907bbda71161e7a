# Reference values for the post-fit tools of issue 18 (prediction, influence, workflow).
# usage (from the repository root):
#   Rscript tests/postfit/reference/make_postfit.R ../shared/data tests/postfit/reference
# lme4 1.1-31, merTools 0.5.2. One JSON per model: the fit, predictions on a small grid
# (re.form NULL / NA / a subset), fixed-part SEs, hatvalues, cooks.distance, lme4's
# influence.merMod group deletion, rePCA, getME, allFit and merTools::predictInterval.
suppressMessages({library(lme4); library(merTools); library(jsonlite)})
args <- commandArgs(TRUE)
datadir <- args[1]; outdir <- args[2]
load_data <- function(name, factors) {
  d <- read.csv(file.path(datadir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
triplets <- function(M) {
  M <- as(as(M, "CsparseMatrix"), "TsparseMatrix")
  list(i = M@i, j = M@j, x = M@x, dim = dim(M))
}
specs <- list(
  list(id = "sleepstudy", data = "sleepstudy", factors = c("Subject"),
       formula = "Reaction ~ Days + (Days | Subject)", subset = "~(1 | Subject)",
       group = "Subject"),
  list(id = "penicillin", data = "penicillin", factors = c("plate", "sample"),
       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", subset = "~(1 | plate)",
       group = "sample"),
  list(id = "pastes", data = "pastes", factors = c("batch", "cask"),
       formula = "strength ~ 1 + (1 | batch/cask)", subset = "~(1 | batch)",
       group = "batch"),
  list(id = "dietox", data = "dietox", factors = c("Pig", "Evit", "Cu"),
       formula = "Weight ~ Time * Evit + Cu + (Time | Pig)", subset = "~(1 | Pig)",
       group = "Pig")
)
for (s in specs) {
  d <- load_data(s$data, s$factors)
  fml <- as.formula(s$formula)
  m <- lmer(fml, data = d, REML = TRUE)
  mf <- model.frame(m)
  # a grid: the first 6 used rows and the same rows with new levels of every grouping factor
  grid <- d[as.integer(rownames(mf))[c(1, 2, 3, 10, 20, 30)], , drop = FALSE]
  rownames(grid) <- NULL
  X <- model.matrix(terms(m), grid, contrasts.arg = attr(getME(m, "X"), "contrasts"))
  se_fixed <- sqrt(rowSums((X %*% as.matrix(vcov(m))) * X))
  gnames <- names(getME(m, "flist"))
  newlev <- grid
  for (g in unique(unlist(strsplit(gnames, ":")))) {
    newlev[[g]] <- factor(paste0("new_", as.character(grid[[g]])))
  }
  infl <- influence(m, groups = s$group)
  cd_group <- cooks.distance(infl)
  pca <- rePCA(m)
  af <- suppressWarnings(suppressMessages(allFit(m, verbose = FALSE)))
  saf <- summary(af)
  crit <- sapply(af, function(x) if (inherits(x, "merMod")) REMLcrit(x) else NA)
  set.seed(1)
  pi95 <- predictInterval(m, newdata = grid, n.sims = 20000, level = 0.95, seed = 1)
  pi_fixed <- predictInterval(m, newdata = grid, n.sims = 20000, level = 0.9, seed = 2,
                              which = "fixed", include.resid.var = FALSE)
  out <- list(
    id = s$id, data = s$data, factors = s$factors, formula = s$formula,
    lme4_version = as.character(packageVersion("lme4")),
    merTools_version = as.character(packageVersion("merTools")),
    objective = REMLcrit(m), theta = unname(getME(m, "theta")), fixef = as.list(fixef(m)),
    sigma = sigma(m),
    grid = grid,
    predict_full = unname(predict(m, newdata = grid)),
    predict_fixed = unname(predict(m, newdata = grid, re.form = NA)),
    re_form_subset = s$subset,
    predict_subset = unname(predict(m, newdata = grid, re.form = as.formula(s$subset))),
    predict_fitted_subset = unname(predict(m, re.form = as.formula(s$subset))),
    predict_new_levels = unname(predict(m, newdata = newlev, allow.new.levels = TRUE)),
    se_fixed = unname(se_fixed),
    hatvalues = unname(hatvalues(m)),
    cooks_distance = unname(cooks.distance(m)),
    influence_group = s$group,
    influence_levels = rownames(infl[[2]]),
    influence_cooks = unname(as.numeric(cd_group)),
    influence_fixef = unname(as.matrix(infl[[2]])),
    # dfbetas as lme4's dfbetas (whose vapply fails for one coefficient): dfbeta / deleted SEs
    influence_dfbetas = unname(as.matrix(dfbeta(infl)) /
      do.call(rbind, lapply(infl[[6]], function(v) sqrt(diag(as.matrix(v)))))),
    influence_varcov = unname(as.matrix(infl[[4]])),
    rePCA = lapply(pca, function(p) list(sdev = p$sdev, rotation = unname(p$rotation))),
    rePCA_names = names(pca),
    getme = list(
      theta = unname(getME(m, "theta")), beta = unname(getME(m, "beta")),
      u = unname(getME(m, "u")), b = unname(as.numeric(getME(m, "b"))),
      y = unname(getME(m, "y")), X = unname(as.matrix(getME(m, "X"))),
      Lambda = triplets(getME(m, "Lambda")), Z = triplets(getME(m, "Z")),
      Zt = triplets(getME(m, "Zt")), lower = unname(getME(m, "lower")),
      n_rtrms = getME(m, "n_rtrms"), p = getME(m, "p"), q = getME(m, "q"),
      n = getME(m, "n"), cnms = getME(m, "cnms"), Gp = unname(getME(m, "Gp")),
      flist_names = names(getME(m, "flist")), devcomp_pwrss = getME(m, "devcomp")$cmp[["pwrss"]],
      REML = getME(m, "REML")
    ),
    allfit_optimizers = names(af),
    allfit_objective = unname(crit),
    allfit_fixef = unname(as.matrix(saf$fixef)),
    predict_interval = list(level = 0.95, n_sims = 20000, fit = pi95$fit, upr = pi95$upr,
                            lwr = pi95$lwr),
    predict_interval_fixed = list(level = 0.9, n_sims = 20000, fit = pi_fixed$fit,
                                  upr = pi_fixed$upr, lwr = pi_fixed$lwr)
  )
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null"),
             file.path(outdir, paste0(s$id, ".json")))
  cat(s$id, "done\n")
}
# update.formula: R's answers for the formula updates the tests use
updates <- list(
  c("Reaction ~ Days + (Days | Subject)", ". ~ . - Days"),
  c("Reaction ~ Days + (Days | Subject)", ". ~ . + I(Days^2)"),
  c("Reaction ~ Days + (Days | Subject)", "log(.) ~ ."),
  c("Reaction ~ Days + (Days | Subject)", ". ~ . - (Days | Subject) + (1 | Subject)"),
  c("Weight ~ Time * Evit + Cu + (Time | Pig)", ". ~ . - Time:Evit"),
  c("Weight ~ Time * Evit + Cu + (Time | Pig)", ". ~ . - Cu"),
  c("Weight ~ Time * Evit + Cu + (Time | Pig)", ". ~ Time + (1 | Pig)"),
  c("y ~ a + b + (1 | g)", "~ . + c"),
  c("y ~ a * b + (1 | g)", ". ~ . - a:b"),
  c("y ~ a + b + (1 | g)", ". ~ .^2"),
  c("y ~ a + (1 | g)", ". ~ . - 1"),
  c("y ~ a + (1 | g)", ". ~ . + (0 + a | g)")
)
upd <- lapply(updates, function(u) list(
  old = u[1], new = u[2],
  result = paste(deparse(update.formula(as.formula(u[1]), as.formula(u[2])), width.cutoff = 500L),
                 collapse = "")))
# format.pval as printCoefmat uses it (digits = 4, eps = .Machine$double.eps) and the default
pv <- c(0, 1e-300, 2e-16, 3e-16, 1.234567e-10, 0.0001234, 0.001234, 0.01234, 0.1234, 0.5, 1)
fp <- list(values = pv,
           each_default = sapply(pv, function(p) format.pval(p)),
           each_digits3 = sapply(pv, function(p) format.pval(p, digits = 3)),
           vector_digits4 = format.pval(pv, digits = 4),
           vector_mixed = format.pval(c(0.0001234, 0.5, 1e-20), digits = 4),
           vector_small = format.pval(c(1e-20, 3e-5), digits = 3))
writeLines(toJSON(list(updates = upd, format_pval = fp), auto_unbox = TRUE, digits = NA),
           file.path(outdir, "formula_and_format.json"))
cat("done\n")
