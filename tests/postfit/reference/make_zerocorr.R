# zerocorr / fulldummy spellings: lme4 fits of the same models written with lme4's dummy().
# usage: Rscript tests/postfit/reference/make_zerocorr.R ../shared/data tests/postfit/reference
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(file.path(args[1], "sleepstudy.csv"))
d$Subject <- factor(d$Subject)
d$phase <- factor(ifelse(d$Days < 5, "early", "late"))
fits <- list(
  zerocorr = list(ours = "Reaction ~ Days + zerocorr(0 + phase | Subject)",
    lme4 = Reaction ~ Days + (0 + dummy(phase, "early") | Subject) + (0 + dummy(phase, "late") | Subject)),
  zerocorr_fulldummy = list(ours = "Reaction ~ Days + zerocorr(1 + fulldummy(phase) | Subject)",
    lme4 = Reaction ~ Days + (1 | Subject) + (0 + dummy(phase, "early") | Subject) + (0 + dummy(phase, "late") | Subject)),
  correlated = list(ours = "Reaction ~ Days + (0 + phase | Subject)",
    lme4 = Reaction ~ Days + (0 + phase | Subject))
)
out <- lapply(fits, function(f) {
  m <- lmer(f$lme4, data = d, REML = TRUE)
  best <- m
  for (opt in c("bobyqa", "Nelder_Mead")) {
    m2 <- suppressWarnings(update(m, control = lmerControl(optimizer = opt)))
    if (REMLcrit(m2) < REMLcrit(best)) best <- m2
  }
  vc <- as.data.frame(VarCorr(best))
  list(formula = f$ours, lme4_formula = paste(deparse(f$lme4, width.cutoff = 500L), collapse = ""),
       objective = REMLcrit(best), fixef = as.list(fixef(best)), sigma = sigma(best),
       vcov_components = vc$vcov, predict = unname(predict(best, newdata = d[c(1, 7, 25), ])))
})
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), file.path(args[2], "zerocorr.json"))
