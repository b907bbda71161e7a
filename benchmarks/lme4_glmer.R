# Time lme4::glmer on the GLMM benchmark's models (used by `python -m benchmarks.glmm` when
# Rscript and lme4 are installed; never needed by the tests).
# usage: Rscript lme4_glmer.R SPECS.json OUT.json
# SPECS: [{"id", "csv", "formula", "family", "link", "nAGQ", "weights", "factors", "repeats"}]
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
specs <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (s in specs) {
  d <- read.csv(s$csv, stringsAsFactors = FALSE)
  for (f in unlist(s$factors)) if (f %in% names(d)) d[[f]] <- factor(d[[f]])
  fam <- get(s$family)(link = if (is.null(s$link)) NULL else s$link)
  if (is.null(s$link)) fam <- get(s$family)()
  fml <- as.formula(s$formula)
  w <- if (is.null(s$weights)) NULL else d[[s$weights]]
  d$.w <- if (is.null(w)) 1 else w
  times <- c()
  for (i in seq_len(max(1, s$repeats))) {
    t0 <- proc.time()[["elapsed"]]
    m <- suppressMessages(suppressWarnings(
      if (is.null(s$weights)) glmer(fml, data = d, family = fam, nAGQ = s$nAGQ)
      else glmer(fml, data = d, family = fam, nAGQ = s$nAGQ, weights = .w)))
    times <- c(times, proc.time()[["elapsed"]] - t0)
  }
  ll <- as.numeric(logLik(m))
  out[[length(out) + 1]] <- list(id = s$id, seconds = median(times), min_seconds = min(times),
                                 feval = m@optinfo$feval, minus2loglik = -2 * ll)
}
write_json(out, args[2], auto_unbox = TRUE, digits = NA)
