# Time glmmTMB::glmmTMB on the covariance-structure models. Used by `python -m benchmarks` when
# Rscript and glmmTMB are installed (never needed by the tests).
# usage: Rscript glmmtmb_fit.R SPECS.json OUT.json
# SPECS: [{"id", "csv", "formula", "factors": [...], "subset", "map", "REML", "repeats"}]
# The default call, as a user makes it; where its standard-error step fails (toep), again with
# se = FALSE (reported).
suppressMessages({library(glmmTMB); library(jsonlite)})
args <- commandArgs(TRUE)
specs <- fromJSON(args[1], simplifyVector = FALSE)
out <- list()
for (s in specs) {
  d <- read.csv(s$csv, stringsAsFactors = FALSE)
  for (f in unlist(s$factors)) d[[f]] <- factor(d[[f]])
  if (!is.null(s$subset)) d <- droplevels(d[eval(parse(text = s$subset), d), ])
  map <- if (is.null(s$map)) list() else list(theta = factor(unlist(s$map)))
  fml <- as.formula(s$formula)
  reml <- isTRUE(s$REML)
  se <- TRUE
  times <- c()
  m <- NULL
  for (i in seq_len(max(1, s$repeats))) {
    t0 <- proc.time()[["elapsed"]]
    m <- tryCatch(suppressMessages(suppressWarnings(
      glmmTMB(fml, data = d, REML = reml, map = map, se = se))), error = function(e) NULL)
    if (is.null(m) && se) {
      se <- FALSE
      m <- tryCatch(suppressMessages(suppressWarnings(
        glmmTMB(fml, data = d, REML = reml, map = map, se = se))), error = function(e) NULL)
    }
    times <- c(times, proc.time()[["elapsed"]] - t0)
    if (is.null(m)) break
  }
  if (is.null(m)) {
    out[[length(out) + 1]] <- list(id = s$id, error = "glmmTMB failed")
    next
  }
  out[[length(out) + 1]] <- list(id = s$id, seconds = median(times), min_seconds = min(times),
                                 objective = 2 * m$fit$objective, convergence = m$fit$convergence,
                                 se = se, pdHess = if (se) m$sdr$pdHess else NA)
}
write_json(out, args[2], auto_unbox = TRUE, digits = NA)
