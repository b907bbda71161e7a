# lme4's fits of the R spellings and weights checked by tests/test_rsyntax.py and
# tests/test_weights.py. Run from this folder: Rscript make_input_reference.R
# Writes pixel.csv (nlme's Pixel data) and input_reference.json.
suppressMessages({library(lme4); library(jsonlite); library(splines)})

data(Pixel, package = "nlme")
pixel <- data.frame(Dog = as.character(Pixel$Dog), Side = as.character(Pixel$Side),
                    day = as.integer(Pixel$day), pixel = Pixel$pixel)
write.csv(pixel, "pixel.csv", row.names = FALSE)
pixel$Dog <- factor(pixel$Dog); pixel$Side <- factor(pixel$Side)

sleep <- read.csv("../../../shared/data/sleepstudy.csv")
if (!nrow(sleep)) stop("sleepstudy.csv not found")
sleep$Subject <- factor(sleep$Subject)
sleep$n <- 1 + (seq_len(nrow(sleep)) - 1) %% 5      # the Python tests make the same columns
sleep$b <- sleep$Days > 4

fit_case <- function(name, formula, data, dataset, REML = TRUE, newdata = NULL, ...) {
  fit <- lmer(formula, data, REML = REML, control = lmerControl(calc.derivs = FALSE), ...)
  out <- list(name = name, formula = paste(deparse(formula, width.cutoff = 500), collapse = ""),
              data = dataset, REML = REML, objective = if (REML) REMLcrit(fit) else deviance(fit),
              fixef = as.list(fixef(fit)), sigma = sigma(fit), theta = unname(getME(fit, "theta")),
              theta_names = names(getME(fit, "theta")), nobs = nobs(fit))
  if (!is.null(newdata)) {
    out$newdata <- newdata
    out$predict_fixed <- unname(predict(fit, newdata = newdata, re.form = NA))
  }
  out
}

new_days <- data.frame(Days = c(2.5, 11, 0), n = c(2, 5, 1), Subject = "308")
cases <- list(
  fit_case("pixel", pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog), pixel, "pixel"),
  fit_case("power", Reaction ~ I(Days^2) + (1 | Subject), sleep, "sleep"),
  fit_case("arithmetic", Reaction ~ exp(n/5) + log(n + 1) + I(n * 2 - 1) + (1 | Subject), sleep,
           "sleep"),
  fit_case("factor", Reaction ~ factor(n) + (1 | Subject), sleep, "sleep"),
  fit_case("poly_raw", Reaction ~ poly(Days, 2, raw = TRUE) + (1 | Subject), sleep, "sleep",
           newdata = new_days),
  fit_case("poly", Reaction ~ poly(Days, 3) + (1 | Subject), sleep, "sleep", newdata = new_days),
  fit_case("scale", Reaction ~ scale(Days) + (1 | Subject), sleep, "sleep", newdata = new_days),
  fit_case("scale_no_scale", Reaction ~ scale(Days, scale = FALSE) + (1 | Subject), sleep,
           "sleep"),
  fit_case("as_numeric", Reaction ~ as.numeric(Days) + as.factor(n) + (1 | Subject), sleep,
           "sleep"),
  fit_case("relevel", Reaction ~ relevel(factor(n), ref = "3") + (1 | Subject), sleep, "sleep"),
  fit_case("logical_ops", Reaction ~ I(Days > 3 & n < 3) + I(!Days > 3) + (1 | Subject), sleep,
           "sleep"),
  fit_case("modulo", Reaction ~ I(Days %% 2) + I(Days %/% 3) + (1 | Subject), sleep, "sleep"),
  fit_case("offset", Reaction ~ offset(10 * log(n)) + Days + (1 | Subject), sleep, "sleep",
           newdata = new_days),
  fit_case("ordered", Reaction ~ ordered(n) + (1 | Subject), sleep, "sleep"),
  fit_case("maths", Reaction ~ sqrt(n) + log(n, 2) + abs(Days - 4) + (1 | Subject), sleep,
           "sleep"),
  fit_case("ifelse_pmax", Reaction ~ ifelse(Days > 4, 1, 0) + pmax(Days, 3) + (1 | Subject),
           sleep, "sleep"),
  fit_case("bs", Reaction ~ bs(Days, 3) + (1 | Subject), sleep, "sleep"),
  fit_case("logical_column", Reaction ~ 0 + b + (1 | Subject), sleep, "sleep"),
  fit_case("logical_slope", Reaction ~ Days + (0 + b | Subject), sleep, "sleep"),
  fit_case("power_slope", Reaction ~ Days + (I(Days^2) | Subject), sleep, "sleep")
)

# prior weights: lm's rule for zero weights is lme4's fit without those rows
w <- 0.5 + ((seq_len(nrow(sleep)) - 1) %% 7) / 4
zero <- c(3, 50, 100)
w[zero] <- 0
keep <- w > 0
kept <- sleep[keep, ]
kept$w <- w[keep]
weights <- list()
for (REML in c(TRUE, FALSE)) {
  fit <- lmer(Reaction ~ Days + (Days | Subject), kept, weights = w, REML = REML)
  weights[[if (REML) "REML" else "ML"]] <- list(
    objective = if (REML) REMLcrit(fit) else deviance(fit), fixef = as.list(fixef(fit)),
    sigma = sigma(fit), theta = unname(getME(fit, "theta")), nobs = nobs(fit),
    AIC = AIC(fit), zero_rows = zero - 1,      # 0-based for Python
    zero_fitted = unname(predict(fit, newdata = sleep[zero, ])),
    pearson_quantiles = unname(quantile(residuals(fit, type = "pearson", scaled = TRUE))))
}
# what lme4 itself does with the zero weights left in (for the closing note)
with_zeros <- suppressWarnings(lmer(Reaction ~ Days + (Days | Subject), sleep, weights = w))
weights$lme4_with_zeros <- list(objective = REMLcrit(with_zeros),
                                theta = unname(getME(with_zeros, "theta")),
                                nobs = nobs(with_zeros))

out <- list(lme4 = as.character(packageVersion("lme4")), cases = cases, weights = weights)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "input_reference.json")
