# Reference values for the after-the-fit tests (issue 18): emmeans and contrasts, anova tables
# (lmerTest type I/II/III, car::Anova), ranova, drop1, step, performance's R2/ICC/VIF/compare and
# broom.mixed's tidy/glance/augment, on factorial models with interactions.
# Run from the repository root:  Rscript tests/inference/reference/make_postfit.R
# Writes tests/inference/reference/postfit_<model>.json and postfit_compare.json.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(emmeans); library(car); library(performance)
  library(broom.mixed); library(jsonlite)
})
data_dir <- "src/mixedmodels/datasets/data"
load_data <- function(name, factors, ordered = character(0)) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")))
  for (f in factors) d[[f]] <- factor(d[[f]])
  for (f in ordered) d[[f]] <- factor(d[[f]], ordered = TRUE)
  d
}
rows <- function(frame) {
  frame <- as.data.frame(frame)
  lapply(seq_len(nrow(frame)), function(i) {
    row <- lapply(frame[i, , drop = FALSE], function(v) if (is.factor(v)) as.character(v) else v)
    c(list(.row = rownames(frame)[i]), row)
  })
}
emm_rows <- function(object, adjust = NULL) {
  s <- if (is.null(adjust)) summary(object, infer = c(TRUE, TRUE))
       else summary(object, infer = c(TRUE, TRUE), adjust = adjust)
  rows(s)
}

models <- list(
  list(id = "penicillin", data = "penicillin", factors = c("plate", "sample"),
       formula = "diameter ~ sample + (1 | plate)", contrasts = NULL, py_contrasts = NULL,
       specs = list(list(specs = "sample", by = NULL))),
  list(id = "pastes", data = "pastes", factors = c("batch", "cask"),
       formula = "strength ~ cask + (1 | batch) + (1 | batch:cask)", contrasts = NULL,
       py_contrasts = NULL, specs = list(list(specs = "cask", by = NULL))),
  list(id = "dietox", data = "dietox", factors = c("Pig", "Evit", "Cu"),
       formula = "Weight ~ Evit * Cu + Time + (1 + Time | Pig)", contrasts = NULL,
       py_contrasts = NULL,
       specs = list(list(specs = "Evit", by = NULL), list(specs = "Cu", by = NULL),
                    list(specs = "Evit", by = "Cu"), list(specs = c("Evit", "Cu"), by = NULL))),
  list(id = "dietox_slope", data = "dietox", factors = c("Pig", "Evit", "Cu"),
       formula = "Weight ~ Evit * Time + Cu + (1 + Time | Pig)", contrasts = NULL,
       py_contrasts = NULL,
       specs = list(list(specs = "Evit", by = NULL), list(specs = "Cu", by = "Evit"))),
  list(id = "oats", data = "oats", factors = c("Block", "Variety", "nitro"),
       formula = "yield ~ nitro * Variety + (1 | Block/Variety)", contrasts = NULL,
       py_contrasts = NULL,
       specs = list(list(specs = "nitro", by = NULL), list(specs = "Variety", by = NULL),
                    list(specs = "Variety", by = "nitro"))),
  list(id = "oats_coded", data = "oats", factors = c("Block", "Variety", "nitro"),
       formula = "yield ~ nitro * Variety + (1 | Block/Variety)",
       contrasts = list(nitro = "contr.helmert", Variety = "contr.sum"),
       py_contrasts = list(nitro = "helmert", Variety = "sum"),
       specs = list(list(specs = "nitro", by = NULL))),
  list(id = "cake", data = "cake", factors = c("recipe", "replicate"), ordered = "temperature",
       formula = "angle ~ recipe * temperature + (1 | recipe:replicate)", contrasts = NULL,
       py_contrasts = list(temperature = "poly"),
       specs = list(list(specs = "recipe", by = NULL), list(specs = "temperature", by = "recipe")))
)

custom_contrasts <- function(k) {
  first <- c(1, rep(-1 / (k - 1), k - 1))
  last <- c(-1, rep(0, k - 2), 1)
  list(first_vs_rest = first, last_vs_first = last)
}

one_model <- function(m) {
  ordered <- if (is.null(m$ordered)) character(0) else m$ordered
  # refits (ranova, step, emmeans) evaluate the call again: data and contrasts live globally
  assign("dat", load_data(m$data, m$factors, ordered), envir = globalenv())
  assign("ctr", m$contrasts, envir = globalenv())
  assign("form", as.formula(m$formula), envir = globalenv())
  fit <- if (is.null(m$contrasts)) lmerTest::lmer(form, data = dat, REML = TRUE)
         else lmerTest::lmer(form, data = dat, REML = TRUE, contrasts = ctr)
  fit_lme4 <- as(fit, "lmerMod")
  out <- list(id = m$id, data = m$data, formula = m$formula, factors = c(m$factors, ordered),
              contrasts = m$py_contrasts, REML = TRUE,
              theta = unname(getME(fit, "theta")), fixef = as.list(fixef(fit)),
              sigma = sigma(fit), REMLcrit = REMLcrit(fit_lme4))
  # emmeans and contrasts, Kenward-Roger (emmeans' default) and Satterthwaite
  emm <- list()
  for (s in m$specs) {
    for (mode in c("kenward-roger", "satterthwaite")) {
      e <- if (is.null(s$by)) emmeans(fit_lme4, s$specs, lmer.df = mode)
           else emmeans(fit_lme4, s$specs, by = s$by, lmer.df = mode)
      k <- nrow(e@grid) / (if (is.null(s$by)) 1 else length(unique(e@grid[[s$by]])))
      entry <- list(specs = s$specs, by = s$by, ddf = mode,
                    emmeans = emm_rows(e), emmeans_sidak = emm_rows(e, "sidak"),
                    contrasts = list())
      add <- function(method, adjust, obj) {
        entry$contrasts[[length(entry$contrasts) + 1]] <<-
          list(method = method, adjust = adjust, rows = emm_rows(obj, adjust))
      }
      for (adj in c("tukey", "holm", "bonferroni", "sidak", "none"))
        add("pairwise", adj, pairs(e))
      add("revpairwise", "tukey", contrast(e, "revpairwise"))
      for (adj in c("dunnettx", "holm", "none"))
        add("trt.vs.ctrl", adj, contrast(e, "trt.vs.ctrl"))
      if (k >= 3) {
        cc <- custom_contrasts(k)
        entry$custom <- cc
        for (adj in c("none", "holm", "bonferroni")) add("custom", adj, contrast(e, cc))
      }
      emm[[length(emm) + 1]] <- entry
    }
  }
  out$emmeans <- emm
  # anova tables
  an <- list()
  for (type in c(1, 2, 3)) for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    an[[paste0("type", type, "_", ddf)]] <- rows(anova(fit, type = type, ddf = ddf))
  }
  an$hypotheses_type3 <- lapply(attr(anova(fit, type = 3), "hypotheses"), unname)
  an$hypotheses_type2 <- lapply(attr(anova(fit, type = 2), "hypotheses"), unname)
  an$car_type2 <- rows(car::Anova(fit_lme4, type = 2))
  an$car_type3 <- rows(car::Anova(fit_lme4, type = 3))
  out$anova <- an
  out$ranova <- rows(ranova(fit))
  out$drop1 <- rows(drop1(fit))
  out$drop1_kr <- rows(drop1(fit, ddf = "Kenward-Roger"))
  st <- step(fit)
  final <- attr(st, "model")
  out$step <- list(random = rows(st$random), fixed = rows(st$fixed),
                   model = paste(deparse(formula(final), width.cutoff = 500), collapse = ""),
                   REMLcrit = if (inherits(final, "merMod")) REMLcrit(final) else NULL,
                   theta = if (inherits(final, "merMod")) unname(getME(final, "theta")) else NULL)
  # performance
  r2 <- r2_nakagawa(fit_lme4)
  ic <- icc(fit_lme4)
  out$r2 <- list(conditional = unname(r2$R2_conditional), marginal = unname(r2$R2_marginal))
  out$icc <- list(adjusted = ic$ICC_adjusted, unadjusted = ic$ICC_unadjusted)
  vc <- insight::get_variance(fit_lme4)
  out$variance <- lapply(vc, function(v) unname(unlist(v)))
  out$vif <- tryCatch(rows(check_collinearity(fit_lme4)), error = function(e) NULL)
  # broom.mixed
  out$tidy_fixed <- rows(tidy(fit, effects = "fixed", conf.int = TRUE))
  out$tidy_fixed_kr <- rows(tidy(fit, effects = "fixed", conf.int = TRUE, ddf.method = "Kenward-Roger"))
  out$tidy_ran_pars <- rows(tidy(fit, effects = "ran_pars"))
  out$tidy_ran_pars_var <- rows(tidy(fit, effects = "ran_pars", scales = "vcov"))
  out$tidy_ran_vals <- rows(tidy(fit, effects = "ran_vals"))
  out$glance <- as.list(as.data.frame(glance(fit)))
  aug <- as.data.frame(augment(fit_lme4))
  out$augment <- aug[, c(".fitted", ".resid", ".hat", ".cooksd", ".fixed")]
  out
}

versions <- sapply(c("lme4", "lmerTest", "pbkrtest", "emmeans", "car", "performance", "insight",
                     "broom.mixed"), function(p) as.character(packageVersion(p)))
for (m in models) {
  cat(m$id, "\n")
  res <- one_model(m)
  res$versions <- as.list(versions)
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE,
                    null = "null"),
             file.path("tests/inference/reference", paste0("postfit_", m$id, ".json")))
}

# compare_performance over several dietox fits (REML)
d <- load_data("dietox", c("Pig", "Evit", "Cu"))
f1 <- lmer(Weight ~ Time + (1 | Pig), data = d)
f2 <- lmer(Weight ~ Time + (1 + Time | Pig), data = d)
f3 <- lmer(Weight ~ Evit * Cu + Time + (1 + Time | Pig), data = d)
cmp <- as.data.frame(compare_performance(f1, f2, f3))
sleep <- load_data("sleepstudy", "Subject")
s1 <- lmer(Reaction ~ Days + (Days | Subject), sleep)
s2 <- lmer(Reaction ~ Days + (1 | Subject), sleep)
out <- list(
  dietox = list(formulas = c("Weight ~ Time + (1 | Pig)", "Weight ~ Time + (1 + Time | Pig)",
                             "Weight ~ Evit * Cu + Time + (1 + Time | Pig)"),
                rows = rows(cmp[, setdiff(names(cmp), c("Name", "Model"))]),
                theta = lapply(list(f1, f2, f3), function(f) unname(getME(f, "theta")))),
  sleepstudy = list(
    formulas = c("Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)"),
    theta = lapply(list(s1, s2), function(f) unname(getME(f, "theta"))),
    rows = rows({x <- as.data.frame(compare_performance(s1, s2)); x[, setdiff(names(x), c("Name", "Model"))]}),
    r2 = list(conditional = unname(r2_nakagawa(s1)$R2_conditional),
              marginal = unname(r2_nakagawa(s1)$R2_marginal)),
    icc = list(adjusted = icc(s1)$ICC_adjusted, unadjusted = icc(s1)$ICC_unadjusted),
    ranova = rows(ranova(s1)), step = list(random = rows(step(s1)$random))),
  versions = as.list(versions)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           "tests/inference/reference/postfit_compare.json")
