# Extra lme4 1.1-31 references for tests/glmm (run from the repository root):
#   Rscript tests/glmm/reference/make_extra.R
# Writes tests/glmm/reference/extra_*.json: nAGQ = 0, quadrature with several nAGQ, Gamma,
# glmer.nb, predict types, residual types. Data: src/mixedmodels/datasets/data.
suppressMessages({library(lme4); library(jsonlite)})
dat <- "src/mixedmodels/datasets/data"
out <- "tests/glmm/reference"
rd <- function(name, factors) {
  d <- read.csv(file.path(dat, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                      optCtrl = list(maxfun = 1e5))
save <- function(id, m, spec, extra = list()) {
  fe <- fixef(m)
  res <- c(list(id = id, spec = spec, formula = spec$formula,
                minus2loglik_lme4 = -2 * as.numeric(logLik(m)),
                fixef = as.list(fe), theta = as.numeric(getME(m, "theta")),
                se = as.list(sqrt(diag(as.matrix(vcov(m))))),
                sigma = sigma(m), deviance = deviance(m), nobs = nobs(m)), extra)
  write_json(res, file.path(out, paste0("extra_", id, ".json")), auto_unbox = TRUE,
             digits = NA, pretty = TRUE)
}
cbpp <- rd("cbpp", c("herd", "period"))
f_cbpp <- cbind(incidence, size - incidence) ~ period + (1 | herd)
# nAGQ = 0 and quadrature with several numbers of nodes
m0 <- glmer(f_cbpp, cbpp, binomial, nAGQ = 0L, control = tight)
save("cbpp_nagq0", m0, list(data = "cbpp", formula = deparse(f_cbpp), family = "binomial",
                            nAGQ = 0))
for (k in c(2L, 5L, 12L, 25L)) {
  mk <- glmer(f_cbpp, cbpp, binomial, nAGQ = k, control = tight)
  # lme4's logLik for nAGQ > 1 omits the saturated model's -2 log L: stored as is
  save(paste0("cbpp_agq", k), mk, list(data = "cbpp", formula = deparse(f_cbpp),
                                       family = "binomial", nAGQ = k))
}
# predictions and residuals of the Laplace fit
m1 <- glmer(f_cbpp, cbpp, binomial, control = tight)
nd <- cbpp[c(1, 5, 9, 20, 40), ]
save("cbpp_predict", m1, list(data = "cbpp", formula = deparse(f_cbpp), family = "binomial",
                              nAGQ = 1),
     list(predict_link = as.numeric(predict(m1, nd, type = "link")),
          predict_response = as.numeric(predict(m1, nd, type = "response")),
          predict_fixed = as.numeric(predict(m1, nd, re.form = NA, type = "response")),
          rows = c(1, 5, 9, 20, 40) - 1,
          resid_deviance = as.numeric(residuals(m1, "deviance")),
          resid_pearson = as.numeric(residuals(m1, "pearson")),
          resid_working = as.numeric(residuals(m1, "working")),
          resid_response = as.numeric(residuals(m1, "response"))))
# Gamma with a log link (simulated, seeded in R)
set.seed(101)
g <- factor(rep(1:20, each = 10)); x <- rep(seq(-1, 1, length.out = 10), 20)
b <- rnorm(20, 0, 0.4)
mu <- exp(1 + 0.5 * x + b[as.integer(g)])
y <- rgamma(200, shape = 4, scale = mu / 4)
gdat <- data.frame(y = y, x = x, g = g)
write.csv(gdat, file.path(out, "gamma_data.csv"), row.names = FALSE)
mg <- glmer(y ~ x + (1 | g), gdat, Gamma(link = "log"), control = tight)
save("gamma_log", mg, list(data = "gamma_data.csv", formula = "y ~ x + (1 | g)",
                           family = "Gamma", link = "log", nAGQ = 1),
     list(varcorr = as.data.frame(VarCorr(mg))))
# negative binomial (grouseticks)
gt <- rd("grouseticks", c("INDEX", "BROOD", "YEAR", "LOCATION"))
mnb <- glmer.nb(TICKS ~ YEAR + HEIGHT + (1 | LOCATION), gt)
save("grouseticks_nb", mnb, list(data = "grouseticks", formula = "TICKS ~ YEAR + HEIGHT + (1 | LOCATION)",
                                 family = "negative_binomial", nAGQ = 1),
     list(nb_theta = getME(mnb, "glmer.nb.theta")))
