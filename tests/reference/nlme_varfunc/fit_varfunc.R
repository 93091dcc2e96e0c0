# Frozen nlme::lme references for comboplan.fit_growth_mixed variance functions, baseline
# models and correlated random effects.  Run once; tests read results.json, never R.
#   Rscript tests/reference/nlme_varfunc/fit_varfunc.R
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "study.csv"), stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c("control", "A", "B", "AB"))
d$mouse <- factor(d$mouse, levels = unique(d$mouse))
d$logy <- log(d$vol)
base <- tapply(d$logy[d$day == 0], d$mouse[d$day == 0], identity)
d$logv0 <- as.numeric(base[as.character(d$mouse)])
d$logrel <- d$logy - d$logv0
d$t <- d$day
d$c0 <- d$logv0 - mean(base)
post <- d[d$t > 0, ]
ctrl <- lmeControl(maxIter = 1000, msMaxIter = 1000, niterEM = 50, tolerance = 1e-12,
                   msTol = 1e-14, returnObject = TRUE, msMaxEval = 5000)

summ <- function(m) {
  vs <- m$modelStruct$varStruct
  vpar <- if (is.null(vs)) list() else {
    if (inherits(vs, "varComb")) {
      out <- list()
      for (k in seq_along(vs)) out[[class(vs[[k]])[1]]] <- as.list(coef(vs[[k]], unconstrained = FALSE, allCoef = TRUE))
      out
    } else setNames(list(as.list(coef(vs, unconstrained = FALSE, allCoef = TRUE))), class(vs)[1])
  }
  G <- unclass(getVarCov(m)); attributes(G) <- attributes(G)[c("dim", "dimnames")]
  list(
    method = m$method,
    fixef = as.list(fixef(m)),
    se = as.list(sqrt(diag(vcov(m)))),
    sigma = m$sigma,
    G = unname(G), G_names = colnames(G),
    varStruct = vpar,
    logLik = as.numeric(logLik(m)),
    df_logLik = attr(logLik(m), "df"),
    AIC = AIC(m), BIC = BIC(m),
    ranef = lapply(as.list(ranef(m)), as.numeric),
    ranef_rows = rownames(ranef(m)),
    nobs = m$dims$N
  )
}

fits <- list(); failures <- list()
run <- function(name, expr) {
  r <- tryCatch(expr, error = function(e) e)
  if (inherits(r, "error")) failures[[name]] <<- conditionMessage(r) else fits[[name]] <<- summ(r)
  invisible(r)
}
models <- list()
for (meth in c("REML", "ML")) {
  s <- tolower(meth)
  f0 <- logrel ~ 0 + t:arm
  models[[paste0("homo_", s)]] <- run(paste0("homo_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl))
  models[[paste0("arm_", s)]] <- run(paste0("arm_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl,
        weights = varIdent(form = ~ 1 | arm)))
  models[[paste0("animal_", s)]] <- run(paste0("animal_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl,
        weights = varIdent(form = ~ 1 | mouse)))
  models[[paste0("power_time_", s)]] <- run(paste0("power_time_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl,
        weights = varPower(form = ~ t)))
  models[[paste0("power_", s)]] <- run(paste0("power_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl,
        weights = varPower()))
  models[[paste0("arm_power_", s)]] <- run(paste0("arm_power_", s),
    lme(f0, random = ~ 0 + t | mouse, data = post, method = meth, control = ctrl,
        weights = varComb(varIdent(form = ~ 1 | arm), varPower())))
  models[[paste0("corr_", s)]] <- run(paste0("corr_", s),
    lme(f0, random = ~ t | mouse, data = post, method = meth, control = ctrl))
  models[[paste0("covariate_", s)]] <- run(paste0("covariate_", s),
    lme(logy ~ 1 + c0 + t:arm, random = ~ t | mouse, data = post, method = meth, control = ctrl))
  models[[paste0("observation_", s)]] <- run(paste0("observation_", s),
    lme(logy ~ 1 + t:arm, random = ~ t | mouse, data = d, method = meth, control = ctrl))
}
lrt <- anova(models$homo_reml, models$arm_reml)
tests <- list(homo_vs_arm_reml = list(L.Ratio = lrt$L.Ratio[2], p = lrt$`p-value`[2], df = lrt$df))

res <- list(
  data = list(file = "study.csv", md5 = unname(tools::md5sum(file.path(here, "study.csv"))),
              n_rows = nrow(d), n_post = nrow(post)),
  fits = fits, failures = failures, tests = tests,
  run_info = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                  jsonlite = as.character(packageVersion("jsonlite")), date = as.character(Sys.Date()),
                  control = "lmeControl(maxIter=1000, msMaxIter=1000, niterEM=50, tolerance=1e-12, msTol=1e-14)")
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "results.json"))
writeLines(capture.output(sessionInfo()), file.path(here, "session_info.txt"))
