# lme4's answers to the differential test's problems (tests/differential/problem_families.py).
# usage: Rscript make_reference.R PROBLEM_DIR OUT_JSON
# PROBLEM_DIR holds manifest.json (id, formula, REML, weights, offset, sha256 per problem) and
# <id>.csv; tools/differential_reference.py writes it and runs this script.
#
# Rows: lme4's na.omit drops a row with a missing value in any column (every column of a
# problem's CSV is used by its model). A row with prior weight 0 is dropped too, lm's rule:
# lme4 1.1-31 accepts zero weights but its criterion is then Inf (the log-determinant of the
# weights is -Inf; measured here: REML criterion Inf, theta left near its start), so the fit on
# the full data would not mean what "a weight-0 row does not contribute" means.
#
# Each problem is fitted with lme4's three optimizers (nloptwrap, the default; bobyqa;
# Nelder_Mead), as allFit does, and the one with the lowest criterion is kept.
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
dir <- args[1]; out <- args[2]
manifest <- fromJSON(file.path(dir, "manifest.json"), simplifyVector = FALSE)
only <- if (length(args) > 2) strsplit(args[3], ",")[[1]] else NULL
optimizers <- c("nloptwrap", "bobyqa", "Nelder_Mead")
categorical <- c("g", "a", "b", "c", "f")

crit <- function(m, reml) if (reml) as.numeric(REMLcrit(m)) else as.numeric(deviance(m))

fit_one <- function(p) {
  d <- read.csv(file.path(dir, paste0(p$id, ".csv")), stringsAsFactors = FALSE,
                colClasses = "character")
  for (col in names(d)) {
    d[[col]] <- if (col %in% categorical) factor(d[[col]]) else as.numeric(d[[col]])
  }
  d <- d[complete.cases(d), , drop = FALSE]
  if (!is.null(p$weights)) d <- d[d[[p$weights]] > 0, , drop = FALSE]
  d <- droplevels(d)
  reml <- isTRUE(p$REML)
  fml <- as.formula(p$formula)
  if (!is.null(p$offset)) fml <- update(fml, as.formula(paste(". ~ . + offset(", p$offset, ")")))
  wts <- if (is.null(p$weights)) NULL else d[[p$weights]]
  fits <- list(); times <- list(); objs <- list(); conv <- list()
  for (opt in optimizers) {
    warned <- character(0)
    t0 <- proc.time()[["elapsed"]]
    m <- tryCatch(
      withCallingHandlers(
        suppressMessages(lmer(fml, data = d, REML = reml, weights = wts,
                              control = lmerControl(optimizer = opt))),
        warning = function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") }
      ),
      error = function(e) NULL)
    times[[opt]] <- proc.time()[["elapsed"]] - t0
    if (is.null(m)) next
    fits[[opt]] <- m
    objs[[opt]] <- crit(m, reml)
    msgs <- c(m@optinfo$conv$lme4$messages, warned)
    msgs <- unique(msgs[!grepl("singular", msgs)])
    conv[[opt]] <- msgs
  }
  best <- names(objs)[which.min(unlist(objs))]
  m <- fits[[best]]
  cs <- summary(m)$coefficients
  list(
    id = p$id, sha256 = p$sha256, REML = reml,
    nobs = nobs(m), ngrps = as.list(ngrps(m)),
    objective = crit(m, reml),
    theta = I(unname(getME(m, "theta"))), theta_names = I(names(getME(m, "theta"))),
    cnms = lapply(seq_along(m@cnms), function(i) list(group = names(m@cnms)[i], columns = I(m@cnms[[i]]))),
    fixef = as.list(fixef(m)),
    se = as.list(setNames(cs[, "Std. Error"], rownames(cs))),
    sigma = sigma(m),
    singular = isSingular(m),
    optimizer = best,
    convergence_warnings = I(conv[[best]]),
    objectives = objs,
    warned = lapply(conv, function(x) length(x) > 0),
    seconds = times
  )
}

results <- list()
for (p in manifest) {
  if (!is.null(only) && !(p$id %in% only)) next
  r <- tryCatch(fit_one(p), error = function(e) list(id = p$id, sha256 = p$sha256, error = conditionMessage(e)))
  results[[length(results) + 1]] <- r
  cat(p$id, if (is.null(r$error)) sprintf("%.6f %s", r$objective, r$optimizer) else r$error, "\n")
}
writeLines(toJSON(list(lme4_version = as.character(packageVersion("lme4")),
                       R_version = R.version.string, problems = results),
                  auto_unbox = TRUE, digits = I(17), null = "null"), out)
