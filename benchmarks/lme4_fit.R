# Time lme4::lmer on the benchmark's models. Used by `python -m benchmarks` when Rscript and
# lme4 are installed (never needed by the tests).
# usage: Rscript lme4_fit.R SPECS.json OUT.json
# SPECS: [{"id", "csv", "formula", "factors": [...], "REML", "repeats"}]
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
specs <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (s in specs) {
  d <- read.csv(s$csv, stringsAsFactors = FALSE)
  for (f in unlist(s$factors)) d[[f]] <- factor(d[[f]])
  fml <- as.formula(s$formula)
  reml <- isTRUE(s$REML)
  times <- c()
  for (i in seq_len(max(1, s$repeats))) {
    t0 <- proc.time()[["elapsed"]]
    m <- suppressMessages(suppressWarnings(lmer(fml, data = d, REML = reml)))
    times <- c(times, proc.time()[["elapsed"]] - t0)
  }
  crit <- if (reml) as.numeric(REMLcrit(m)) else as.numeric(deviance(m))
  out[[length(out) + 1]] <- list(id = s$id, seconds = median(times), min_seconds = min(times),
                                 feval = m@optinfo$feval, objective = crit)
}
write_json(out, args[2], auto_unbox = TRUE, digits = NA)
