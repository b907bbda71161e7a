# lme4 fits of statsmodels' R-comparison data sets lme08 and lme09 (writes lme_r.json).
# Run from tests/compat/data: Rscript lme_r.R
# The same models as statsmodels' regression/tests/results/lme_results.R: dependent ("drf",
# one unstructured 2 x 2 term) or independent ("irf", one term per column) random effects,
# by ML and REML.
library(lme4)
library(jsonlite)
out <- list()
for (ds in c("08", "09")) {
  data <- read.csv(sprintf("lme%s.csv", ds))
  for (irf in c(FALSE, TRUE)) {
    for (reml in c(FALSE, TRUE)) {
      re <- if (irf) "(0 + exog_re_0 | groups) + (0 + exog_re_1 | groups)" else
        "(0 + exog_re_0 + exog_re_1 | groups)"
      fml <- as.formula(paste("endog ~ 0 + exog_fe_0 + exog_fe_1 +", re))
      md <- lmer(fml, data = data, REML = reml)
      vc <- VarCorr(md)
      cov_re <- if (irf) diag(c(vc[[1]][1, 1], vc[[2]][1, 1])) else as.matrix(vc$groups)[, ]
      key <- sprintf("lme%s_%s_%s", ds, if (reml) "reml" else "ml", if (irf) "irf" else "drf")
      out[[key]] <- list(
        fe_params = unname(fixef(md)),
        vcov_fe = unname(as.matrix(vcov(md))),
        cov_re = unname(cov_re),
        scale = attr(vc, "sc")^2,
        llf = as.numeric(logLik(md))
      )
    }
  }
}
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "lme_r.json")
