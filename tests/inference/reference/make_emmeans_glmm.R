# emmeans on a glmer fit (cbpp, binomial logit): link and response scales, pairwise contrasts
# (differences of logits and odds ratios); car::Anova and broom.mixed's tidy/glance of the fit. Run from the repository root:
#   Rscript tests/inference/reference/make_emmeans_glmm.R
suppressPackageStartupMessages({library(lme4); library(emmeans); library(jsonlite); library(car)
  library(broom.mixed)})
d <- read.csv("src/mixedmodels/datasets/data/cbpp.csv")
d$herd <- factor(d$herd); d$period <- factor(d$period)
fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, family = binomial)
rows <- function(s) {
  s <- as.data.frame(s)
  lapply(seq_len(nrow(s)), function(i) lapply(s[i, , drop = FALSE], function(v) if (is.factor(v)) as.character(v) else v))
}
e <- emmeans(fit, "period")
out <- list(
  formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  theta = unname(getME(fit, "theta")), fixef = as.list(fixef(fit)),
  vcov = unname(as.matrix(vcov(fit))),
  emmeans_link = rows(summary(e, infer = c(TRUE, TRUE))),
  emmeans_response = rows(summary(e, infer = c(TRUE, TRUE), type = "response")),
  pairs_link = rows(summary(pairs(e), infer = c(TRUE, TRUE))),
  pairs_response = rows(summary(pairs(e), infer = c(TRUE, TRUE), type = "response")),
  car_type2 = rows(car::Anova(fit, type = 2)), car_type3 = rows(car::Anova(fit, type = 3)),
  tidy_fixed = rows(tidy(fit, effects = "fixed", conf.int = TRUE)),
  tidy_ran_pars = rows(tidy(fit, effects = "ran_pars")),
  tidy_ran_vals = rows(tidy(fit, effects = "ran_vals")),
  glance = as.list(as.data.frame(glance(fit))),
  versions = list(car = as.character(packageVersion("car")),
                  broom.mixed = as.character(packageVersion("broom.mixed")),lme4 = as.character(packageVersion("lme4")),
                  emmeans = as.character(packageVersion("emmeans")))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"),
           "tests/inference/reference/emmeans_glmm_cbpp.json")
