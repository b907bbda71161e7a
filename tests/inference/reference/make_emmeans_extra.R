# emmeans beyond the basics (issue 18, GLMM part): the consec / eff / poly contrast families,
# the mvt adjustment (multivariate t, mvtnorm's randomised quasi-Monte Carlo: set.seed), the
# estimability of means of a rank-deficient fixed design (nonEst rows NA), and response-scale
# inference by regrid() on glmer fits (logit and probit). Run from the repository root:
#   Rscript tests/inference/reference/make_emmeans_extra.R
# Writes tests/inference/reference/emmeans_extra.json.
suppressPackageStartupMessages({library(lme4); library(emmeans); library(jsonlite)})
set.seed(20261202)
data_dir <- "src/mixedmodels/datasets/data"
rows <- function(s) {
  s <- as.data.frame(s)
  lapply(seq_len(nrow(s)), function(i) lapply(s[i, , drop = FALSE], function(v) if (is.factor(v)) as.character(v) else v))
}
tab <- function(object, ...) rows(summary(object, infer = c(TRUE, TRUE), ...))
oats <- read.csv(file.path(data_dir, "oats.csv"))
for (f in c("Block", "Variety", "nitro")) oats[[f]] <- factor(oats[[f]])
form <- yield ~ nitro * Variety + (1 | Block/Variety)
fit <- lmer(form, oats)
e <- emmeans(fit, "nitro")
eb <- emmeans(fit, "nitro", by = "Variety")
lmm <- list(
  theta = unname(getME(fit, "theta")),
  consec = tab(contrast(e, "consec")), eff = tab(contrast(e, "eff")),
  poly = tab(contrast(e, "poly")), pairs_mvt = tab(pairs(e), adjust = "mvt"),
  consec_by = tab(contrast(eb, "consec")),
  consec_sidak = tab(contrast(e, "consec"), adjust = "sidak"),
  means_mvt = tab(e, adjust = "mvt")
)
# a rank-deficient design: the cell nitro 0.6 x Victory is empty
miss <- oats[!(oats$nitro == "0.6" & oats$Variety == "Victory"), ]
fit_miss <- lmer(form, miss)
em <- emmeans(fit_miss, "nitro", by = "Variety")
deficient <- list(
  theta = unname(getME(fit_miss, "theta")),
  dropped = attr(getME(fit_miss, "X"), "col.dropped"),
  nitro_by_variety = tab(em), nitro = tab(emmeans(fit_miss, "nitro")),
  variety = tab(emmeans(fit_miss, "Variety")),
  pairs_by_variety = tab(pairs(em), adjust = "none"),
  consec_by_variety = tab(contrast(em, "consec"), adjust = "none")
)
cbpp <- read.csv(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
glmm <- list()
for (link in c("logit", "probit")) {
  g <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
             family = binomial(link = link))
  eg <- emmeans(g, "period")
  rg <- regrid(eg)
  glmm[[link]] <- list(
    fixef = as.list(fixef(g)), vcov = unname(as.matrix(vcov(g))),
    consec = tab(contrast(eg, "consec")), regrid = tab(rg),
    regrid_pairs = tab(pairs(rg)), regrid_consec = tab(contrast(rg, "consec")),
    regrid_eff = tab(contrast(rg, "eff")),
    pairs_response = tab(pairs(eg), type = "response")
  )
}
out <- list(oats = lmm, oats_missing = deficient, cbpp = glmm,
            versions = list(lme4 = as.character(packageVersion("lme4")),
                            emmeans = as.character(packageVersion("emmeans")),
                            mvtnorm = as.character(packageVersion("mvtnorm"))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"),
           "tests/inference/reference/emmeans_extra.json")
