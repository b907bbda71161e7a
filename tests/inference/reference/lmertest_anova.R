# Reference values for tests/inference/test_anova.py and test_tests.py: lmerTest's anova
# (type III and type I, Satterthwaite and Kenward-Roger) for models with interactions,
# multi-row contrast tests (contestMD) and lme4's likelihood-ratio table.
# Run from the repository root:  Rscript tests/inference/reference/lmertest_anova.R
suppressPackageStartupMessages({library(lmerTest); library(jsonlite)})
dietox <- read.csv("src/mixedmodels/datasets/data/dietox.csv", stringsAsFactors = TRUE)
dietox$Pig <- factor(dietox$Pig)
sleep <- read.csv("src/mixedmodels/datasets/data/sleepstudy.csv")
sleep$Subject <- factor(sleep$Subject)

table_rows <- function(tab) {
  lapply(seq_len(nrow(tab)), function(i) c(list(term = rownames(tab)[i]), as.list(tab[i, ])))
}
fit_anovas <- function(formula, data, name) {
  fit <- lmer(as.formula(formula), data = data, REML = TRUE)
  list(
    id = name, formula = formula, theta = unname(getME(fit, "theta")),
    fixef = as.list(fixef(fit)),
    type3_satterthwaite = table_rows(anova(fit, type = 3)),
    type1_satterthwaite = table_rows(anova(fit, type = 1)),
    type3_kenward_roger = table_rows(anova(fit, type = 3, ddf = "Kenward-Roger")),
    type3_contrasts = lapply(show_tests(anova(fit, type = 3)), function(L) unname(L))
  )
}
models <- list(
  fit_anovas("Weight ~ Evit * Cu + Time + (1|Pig)", dietox, "dietox_factor_interaction"),
  fit_anovas("Weight ~ Time * Cu + Evit + (1|Pig)", dietox, "dietox_covariate_interaction")
)
# multi-row contrasts
fit <- lmer(Weight ~ Evit * Cu + Time + (1|Pig), data = dietox)
L <- rbind(c(0, 1, 0, 0, 0, 0, 0, 0, 0, 0), c(0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
           c(0, 0, 0, 1, -1, 0, 0, 0, 0, 0))
contrasts <- list(
  L = L,
  satterthwaite = as.list(contestMD(fit, L, ddf = "Satterthwaite")),
  kenward_roger = as.list(contestMD(fit, L, ddf = "Kenward-Roger"))
)
# likelihood-ratio table (REML fits refitted with ML)
m0 <- lmer(Reaction ~ 1 + (Days | Subject), sleep)
m1 <- lmer(Reaction ~ Days + (Days | Subject), sleep)
m2 <- lmer(Reaction ~ Days + I(Days^2) + (Days | Subject), sleep)
lrt <- as.data.frame(lme4:::anova.merMod(m2, m0, m1))
out <- list(
  lmerTest = as.character(packageVersion("lmerTest")),
  pbkrtest = as.character(packageVersion("pbkrtest")),
  lme4 = as.character(packageVersion("lme4")),
  models = models, contrasts = contrasts,
  lrt = list(formulas = c(m0 = "Reaction ~ 1 + (Days|Subject)",
                          m1 = "Reaction ~ Days + (Days|Subject)",
                          m2 = "Reaction ~ Days + I(Days**2) + (Days|Subject)"),
             rows = table_rows(lrt))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/inference/reference/lmertest_anova.json")
