# emmeans on a glmer fit (cbpp, binomial logit): link and response scales, pairwise contrasts
# (differences of logits and odds ratios). Run from the repository root:
#   Rscript tests/inference/reference/make_emmeans_glmm.R
suppressPackageStartupMessages({library(lme4); library(emmeans); library(jsonlite)})
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
  versions = list(lme4 = as.character(packageVersion("lme4")),
                  emmeans = as.character(packageVersion("emmeans")))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"),
           "tests/inference/reference/emmeans_glmm_cbpp.json")
