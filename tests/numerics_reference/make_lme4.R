# lme4 1.1-31 fits of the problems in problems.json (made by make_data.py), the best of
# lme4's optimizers per problem; written to lme4.json. Run from this directory:
#   Rscript make_lme4.R
library(lme4)
library(jsonlite)

problems <- fromJSON("problems.json", simplifyDataFrame = FALSE)
files <- list()
out <- list()
for (p in problems) {
  if (is.null(files[[p$file]])) files[[p$file]] <- read.csv(p$file, stringsAsFactors = FALSE)
  data <- files[[p$file]]
  if (!is.null(p$problem)) data <- data[data$problem == p$problem, ]
  if ("groups" %in% names(data)) data$groups <- factor(data$groups)
  if ("g" %in% names(data)) data$g <- factor(data$g)
  best <- NULL
  best_optimizer <- NULL
  messages <- list()
  for (optimizer in c("bobyqa", "Nelder_Mead", "nloptwrap")) {
    fit <- tryCatch(
      suppressWarnings(suppressMessages(lmer(
        as.formula(p$formula), data, REML = p$REML,
        control = lmerControl(optimizer = optimizer)
      ))),
      error = function(e) NULL
    )
    if (is.null(fit)) next
    crit <- if (p$REML) REMLcrit(fit) else deviance(fit)
    messages[[optimizer]] <- as.list(fit@optinfo$conv$lme4$messages)
    if (is.null(best) || crit < best$criterion) {
      best <- list(fit = fit, criterion = crit)
      best_optimizer <- optimizer
    }
  }
  fit <- best$fit
  out[[p$id]] <- list(
    objective = best$criterion,
    optimizer = best_optimizer,
    theta = unname(getME(fit, "theta")),
    fixef = as.list(fixef(fit)),
    sigma = sigma(fit),
    singular = isSingular(fit),
    bobyqa_messages = messages[["bobyqa"]],
    nobs = nobs(fit)
  )
}
write_json(out, "lme4.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
