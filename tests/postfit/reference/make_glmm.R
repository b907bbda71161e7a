# Reference values of the post-fit tools on glmer fits (issue 18, GLMM part).
# usage (from the repository root):
#   Rscript tests/postfit/reference/make_glmm.R src/mixedmodels/datasets/data tests/postfit/reference
# lme4 1.1-31, performance 0.10.2, insight 0.19.0, broom.mixed 0.2.9.4. One JSON per model
# (glmm_<id>.json): the fit; insight::get_variance, performance::r2_nakagawa and icc, the null
# model insight refits; the likelihood-ratio tests of every random term (anova(full, reduced),
# the reduced model refitted with glmer, or glm when no random term is left) and
# drop1(test = "Chisq"), each reduced fit's estimates; hatvalues, cooks.distance and
# broom.mixed's augment; the hat matrix of the final working weights formed densely from
# lme4's Z, Lambda and X at the fitted means (scaled by the prior or by the working weights),
# and glm's hatvalues / cooks.distance of the fixed part (the theta = 0 limit).
suppressMessages({library(lme4); library(performance); library(insight)
  library(broom.mixed); library(jsonlite)})
args <- commandArgs(TRUE)
datadir <- args[1]; outdir <- args[2]
load_data <- function(name, factors) {
  d <- read.csv(file.path(datadir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
specs <- list(
  list(id = "cbpp", data = "cbpp", factors = c("herd", "period", "obs"), family = "binomial",
       link = "logit",
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  list(id = "cbpp_obs", data = "cbpp", factors = c("herd", "period", "obs"),
       family = "binomial", link = "logit",
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)"),
  list(id = "cbpp_probit", data = "cbpp", factors = c("herd", "period", "obs"),
       family = "binomial", link = "probit",
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  list(id = "grouseticks", data = "grouseticks", factors = c("INDEX", "BROOD", "YEAR", "LOCATION"),
       family = "poisson", link = "log",
       formula = "TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"),
  list(id = "owls", data = "owls", factors = c("Nest", "FoodTreatment", "SexParent"),
       family = "poisson", link = "log",
       formula = "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)")
)
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
estimates <- function(m) {
  if (inherits(m, "merMod")) {
    list(theta = unname(getME(m, "theta")), beta = unname(fixef(m)),
         logLik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), glm = FALSE)
  } else {
    list(theta = list(), beta = unname(coef(m)), logLik = as.numeric(logLik(m)),
         df = attr(logLik(m), "df"), glm = TRUE)
  }
}
table_rows <- function(tab) {
  tab <- as.data.frame(tab)
  lapply(seq_len(nrow(tab)), function(i) c(list(term = rownames(tab)[i]), as.list(tab[i, , drop = FALSE])))
}
dense_hat <- function(m) {
  Z <- as.matrix(getME(m, "Z")); Lambda <- as.matrix(getME(m, "Lambda")); X <- getME(m, "X")
  fam <- family(m)
  eta <- predict(m, type = "link"); mu <- fitted(m)
  pw <- weights(m, type = "prior")
  W <- pw * fam$mu.eta(eta)^2 / fam$variance(mu)
  A <- cbind(Z %*% Lambda, X)
  q <- ncol(Z); p <- ncol(X)
  M <- crossprod(A * sqrt(W)) + diag(c(rep(1, q), rep(0, p)))
  quad <- rowSums((A %*% solve(M)) * A)
  r <- residuals(m, type = "pearson")
  h_prior <- pw * quad; h_work <- W * quad
  list(prior = unname(h_prior), working = unname(h_work),
       cooks_prior = unname((r / (1 - h_prior))^2 * h_prior / p),
       cooks_working = unname((r / (1 - h_work))^2 * h_work / p))
}
for (s in specs) {
  d <- load_data(s$data, s$factors)
  fam <- binomial(link = s$link)
  if (s$family == "poisson") fam <- poisson(link = s$link)
  fml <- as.formula(s$formula)
  m <- glmer(fml, data = d, family = fam, control = ctrl)
  # likelihood-ratio tests of the random terms: each removed in turn
  bars <- findbars(fml)
  fixed <- deparse1(nobars(fml))
  ranova <- list()
  for (i in seq_along(bars)) {
    others <- vapply(bars[-i], function(b) paste0("(", deparse1(b), ")"), "")
    f_red <- paste(c(fixed, others), collapse = " + ")
    red <- if (length(others)) glmer(as.formula(f_red), data = d, family = fam, control = ctrl)
           else glm(as.formula(f_red), data = d, family = fam)
    a <- as.data.frame(anova(m, red))
    ranova[[i]] <- c(list(label = paste0("(", deparse1(bars[[i]]), ")"), formula = f_red,
                          Chisq = a$Chisq[2], Df = a$Df[2], p = a[["Pr(>Chisq)"]][2],
                          anova = table_rows(a)), estimates(red))
  }
  # drop1 with likelihood-ratio tests, and each reduced fit
  dr <- drop1(m, test = "Chisq")
  drop_fits <- list()
  for (term in rownames(dr)[-1]) {
    red <- update(m, as.formula(paste("~ . -", term)), control = ctrl)
    drop_fits[[term]] <- c(list(formula = deparse1(formula(red))), estimates(red))
  }
  # Nakagawa's R2 and the ICC, with insight's variances and null model
  vars <- get_variance(m)
  null <- null_model(m)
  mu0 <- exp(unname(fixef(null))[1])
  aug <- as.data.frame(augment(m))
  keep <- c(".fitted", ".resid", ".hat", ".cooksd", ".fixed", ".mu", ".offset", ".sqrtXwt",
            ".sqrtrwt", ".weights", ".wtres", ".eta")
  g <- glm(nobars(fml), data = d, family = fam)
  out <- list(
    id = s$id, data = s$data, formula = s$formula, family = s$family, link = s$link,
    fit = estimates(m),
    variance = lapply(vars, unname),
    r2 = lapply(r2_nakagawa(m), unname), icc = lapply(as.list(icc(m)), unname),
    null = list(formula = deparse1(formula(null)), beta = unname(fixef(null)),
                theta = unname(getME(null, "theta")), mu = mu0,
                lognormal = log1p(1 / mu0), delta = 1 / mu0, trigamma = trigamma(mu0)),
    ranova = ranova, drop1 = table_rows(dr), drop1_fits = drop_fits,
    hatvalues = unname(suppressWarnings(hatvalues(m))),
    cooks = unname(suppressWarnings(cooks.distance(m))),
    working_weights = unname(weights(m, type = "working")),
    dense = dense_hat(m),
    augment = lapply(aug[keep], unname),
    glm = list(beta = unname(coef(g)), hatvalues = unname(hatvalues(g)),
               cooks = unname(cooks.distance(g))),
    versions = list(lme4 = as.character(packageVersion("lme4")),
                    performance = as.character(packageVersion("performance")),
                    insight = as.character(packageVersion("insight")),
                    broom.mixed = as.character(packageVersion("broom.mixed")))
  )
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"),
             file.path(outdir, paste0("glmm_", s$id, ".json")))
  cat(s$id, "\n")
}
