## Frozen nlme references for comboplan.fit_growth_nlme (Gompertz and logistic NLME growth models).
##
## Run from anywhere:   Rscript tests/reference/nlme_growth/make_reference.R      (a few minutes)
## Needs: gompertz.csv and logistic.csv (written by make_data.py, committed), ../nlme_theoph/nlme_helpers.R
## (extract_nlme, marginal_loglik, run_info, write_json_pretty).  Writes results.json and session_info.txt
## next to this script.  The tests (tests/test_growth_nlme.py) read results.json; they never run R.
##
## Data: 4 arms (control, A, B, AB; factor levels in that order) x 8 animals x days 0, 2, ..., 28; logV = natural log
## of tumour volume (mm^3), written with 17 significant digits.
##
## Models, in comboplan's parameterisation (cell means for the per-arm rate, log-scale parameters):
##   Gompertz: logV = lv0_i + exp(lr_i - ld) (1 - exp(-exp(ld) day))          [v0, rate, decay]
##   Logistic: logV = lk - log(1 + (exp(lk - lv0_i) - 1) exp(-exp(lr_i) day))   [v0, rate, vmax]
##   lv0_i = lv0 + b_v0_i,  lr_i = lr[arm_i] + b_r_i,  b ~ N(0, diag(omega^2)),  eps ~ N(0, sigma^2) on logV
## Fits (keys of results.json -> fits):
##   gompertz_v0_ml / _reml       random effect on lv0 only (the model is then linear in the random effect with a
##                                constant Jacobian: nlme's Lindstrom-Bates ML and the Laplace ML are both exact ML)
##   gompertz_v0_common_ml        the same with one rate for all arms (lr ~ 1), ML; anova() against gompertz_v0_ml
##   gompertz_ml / _reml          random effects on lv0 and lr (diagonal)
##   logistic_ml / _reml          random effects on lv0 and lr (diagonal)
##   inscript_laplace_gompertz, inscript_laplace_logistic
##                                the Laplace (Gauss-Newton Hessian, FOCE-I form) ML optimum computed here with
##                                marginal_loglik() + optim(): the criterion comboplan maximises
## For the ML nlme fits, laplace_loglik_at_nlme_estimates is marginal_loglik() at nlme's estimates (equal to nlme's
## logLik when nlme's modes are the conditional modes), and agq7 values give the exact marginal likelihood (adaptive
## Gauss-Hermite, 7 nodes per random-effect dimension) at both optima.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
if (length(script) == 1) setwd(dirname(normalizePath(script)))
source("../nlme_theoph/nlme_helpers.R")

arms <- c("control", "A", "B", "AB")
read_study <- function(file) {
  d <- read.csv(file, colClasses = c("character", "character", "numeric", "numeric"))
  d$arm <- factor(d$arm, levels = arms)
  d$animal <- factor(d$animal, levels = unique(d$animal))
  d
}
g <- read_study("gompertz.csv")
l <- read_study("logistic.csv")
stopifnot(nrow(g) == 480L, nrow(l) == 480L)

gomp <- deriv(~ lv0 + exp(lr - ld) * (1 - exp(-exp(ld) * day)), c("lv0", "lr", "ld"),
              function(day, lv0, lr, ld) NULL)
logi <- deriv(~ lk - log(1 + (exp(lk - lv0) - 1) * exp(-exp(lr) * day)), c("lv0", "lr", "lk"),
              function(day, lv0, lr, lk) NULL)
## tight tolerances (nlme's defaults stop after 2 outer iterations, ~1e-5 from the fixed point); pnlsTol below
## 1e-6 makes the PNLS step fail ("step halving factor reduced below minimum")
ctl <- nlmeControl(maxIter = 200, pnlsMaxIter = 50, msMaxIter = 200, tolerance = 1e-10, msTol = 1e-12, pnlsTol = 1e-6)
ctl_text <- "nlmeControl(maxIter = 200, pnlsMaxIter = 50, msMaxIter = 200, tolerance = 1e-10, msTol = 1e-12, pnlsTol = 1e-6)"
st_g <- c(log(100), log(c(0.2, 0.15, 0.13, 0.08)), log(0.07))
st_l <- c(log(100), log(c(0.25, 0.19, 0.16, 0.10)), log(3000))
st_g0 <- c(log(100), log(0.15), log(0.07))   # common rate (from st_g[c(1, 2, 6)] = rate 0.2 the PNLS step fails)

specs <- list(
  gompertz_v0_ml = list(data = "g", model = "gomp(day, lv0, lr, ld)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, ld ~ 1)",
                        random = "lv0 ~ 1", start = "st_g", method = "ML"),
  gompertz_v0_reml = list(data = "g", model = "gomp(day, lv0, lr, ld)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, ld ~ 1)",
                          random = "lv0 ~ 1", start = "st_g", method = "REML"),
  gompertz_v0_common_ml = list(data = "g", model = "gomp(day, lv0, lr, ld)", fixed = "list(lv0 ~ 1, lr ~ 1, ld ~ 1)",
                               random = "lv0 ~ 1", start = "st_g0", method = "ML"),
  gompertz_ml = list(data = "g", model = "gomp(day, lv0, lr, ld)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, ld ~ 1)",
                     random = "pdDiag(lv0 + lr ~ 1)", start = "st_g", method = "ML"),
  gompertz_reml = list(data = "g", model = "gomp(day, lv0, lr, ld)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, ld ~ 1)",
                       random = "pdDiag(lv0 + lr ~ 1)", start = "st_g", method = "REML"),
  logistic_ml = list(data = "l", model = "logi(day, lv0, lr, lk)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, lk ~ 1)",
                     random = "pdDiag(lv0 + lr ~ 1)", start = "st_l", method = "ML"),
  logistic_reml = list(data = "l", model = "logi(day, lv0, lr, lk)", fixed = "list(lv0 ~ 1, lr ~ 0 + arm, lk ~ 1)",
                       random = "pdDiag(lv0 + lr ~ 1)", start = "st_l", method = "REML")
)

results <- list(
  description = paste("Gompertz and logistic nonlinear mixed-effects growth models fitted with nlme::nlme (Lindstrom-Bates)",
                      "and an in-script Laplace ML optimum; references for comboplan.fit_growth_nlme"),
  run_info = run_info(),
  data = list(gompertz = list(file = "gompertz.csv", md5 = unname(tools::md5sum("gompertz.csv")), n_obs = nrow(g)),
              logistic = list(file = "logistic.csv", md5 = unname(tools::md5sum("logistic.csv")), n_obs = nrow(l)),
              written_by = "make_data.py (numpy, seeded)", arms = arms,
              units = list(day = "day", logV = "natural log of tumour volume in mm^3")),
  control = ctl_text,
  fits = list(), tests = list(), failures = list()
)
fitted <- list()
for (key in names(specs)) {
  s <- specs[[key]]
  call_text <- sprintf("nlme(logV ~ %s, data = %s, fixed = %s, random = %s, groups = ~animal, start = %s, method = \"%s\", control = %s)",
                       s$model, s$data, s$fixed, s$random, s$start, s$method, ctl_text)
  ww <- with_warnings(safe(eval(parse(text = sub("control = .*$", "control = ctl)", call_text)))))
  if (inherits(ww$value, "nlme")) {
    fitted[[key]] <- ww$value
    r <- extract_nlme(ww$value, call_text)
    r$logLik_kind <- if (s$method == "ML") "ML log-likelihood of the Lindstrom-Bates linear mixed-model approximation at convergence" else
      "REML log-likelihood of the Lindstrom-Bates approximation (not comparable with ML values)"
    r$warnings <- ww$warnings
    results$fits[[key]] <- r
  } else results$failures[[key]] <- list(call = call_text, error = ww$value$error, warnings = ww$warnings)
}

## likelihood-ratio test: per-arm rate against a common rate (random effect on lv0 only)
if (!is.null(fitted$gompertz_v0_common_ml) && !is.null(fitted$gompertz_v0_ml)) {
  a <- anova(fitted$gompertz_v0_common_ml, fitted$gompertz_v0_ml)
  results$tests$lrt_common_vs_per_arm_rate <- list(
    call = "anova(gompertz_v0_common_ml, gompertz_v0_ml)", models = c("gompertz_v0_common_ml", "gompertz_v0_ml"),
    df = as.numeric(a$df), logLik = as.numeric(a$logLik), L.Ratio = as.numeric(a$L.Ratio[2]),
    p_value = as.numeric(a$"p-value"[2]))
}

## ------------------------------------------------------------- in-script Laplace (comboplan's criterion)
## parameter vector per row: (lv0, lr[control], lr[A], lr[B], lr[AB], third, e_v0, e_r); random effects enter through
## the two dummy columns (held at 0 as typical values), so one random effect on lr is shared by the four arm columns
make_model <- function(kind) function(d, P) {
  n <- nrow(d)
  lv0 <- P[, 1] + P[, 7]
  lr <- P[cbind(seq_len(n), 1 + d$armi)] + P[, 8]
  v <- if (kind == "gompertz") gomp(d$day, lv0, lr, P[, 6]) else logi(d$day, lv0, lr, P[, 6])
  G <- attr(v, "gradient")
  J <- matrix(0, n, 8)
  J[, 7] <- G[, 1]
  J[, 8] <- G[, 2]
  list(f = as.numeric(v), J = J)
}
group_list <- function(d) lapply(levels(d$animal), function(a) {
  x <- d[d$animal == a, ]
  data.frame(y = x$logV, day = x$day, armi = as.integer(x$arm))
})
## random-effect SDs to full precision (VarCorr() returns them formatted to 7 digits)
exact_sds <- function(fit) sqrt(diag(pdMatrix(fit$modelStruct$reStruct[[1]]))) * fit$sigma
bnames <- function(third) c("lv0", paste0("lr.arm", arms), third)
laplace_fit <- function(kind, groups, start_fit, third) {
  model <- make_model(kind)
  unpack <- function(th) list(beta = c(th[1:6], 0, 0), Psi = diag(exp(2 * th[7:8])), sigma = exp(th[9]))
  nll <- function(th) { u <- unpack(th); -marginal_loglik(u$beta, u$Psi, u$sigma, 7:8, groups, model, nq = 1) }
  sds <- exact_sds(start_fit)
  th0 <- c(as.numeric(fixef(start_fit)), log(sds), log(start_fit$sigma))
  o1 <- optim(th0, nll, method = "BFGS", control = list(reltol = 1e-15, maxit = 2000, ndeps = rep(1e-5, 9)))
  o2 <- optim(o1$par, nll, method = "Nelder-Mead", control = list(reltol = 1e-16, maxit = 3000))
  o3 <- optim(o2$par, nll, method = "BFGS", control = list(reltol = 1e-16, maxit = 2000, ndeps = rep(1e-5, 9)))
  best <- list(o1, o2, o3)[[which.min(c(o1$value, o2$value, o3$value))]]
  H <- optimHess(best$par, nll)
  V <- solve(H)
  nm <- c(bnames(third), "log_sd_lv0", "log_sd_lr", "log_sigma")
  dimnames(V) <- list(nm, nm)
  u <- unpack(best$par)
  list(engine = "in-script (this file: marginal_loglik() of ../nlme_theoph/nlme_helpers.R, nq = 1), stats::optim BFGS -> Nelder-Mead -> BFGS from nlme's estimates",
       method = "ML, Laplace approximation with the Gauss-Newton Hessian (FOCE-I form)",
       fixed_effects = named(best$par[1:6], bnames(third)),
       fixed_effects_se = named(sqrt(diag(V))[1:6], bnames(third)),
       fixed_effects_se_source = "inverse numerical Hessian (stats::optimHess) of -logLik in (fixed effects, log SDs, log sigma): joint",
       random_effect_sd = named(exp(best$par[7:8]), c("lv0", "lr")),
       residual_sd = exp(best$par[9]),
       logLik = -best$value, logLik_df = 9L,
       AIC = 2 * best$value + 18, BIC = 2 * best$value + 9 * log(480),
       optim_par = named(best$par, nm), vcov_optim_scale = mat_list(V),
       convergence = list(optim_convergence_codes = I(c(o1$convergence, o2$convergence, o3$convergence)),
                          optim_values = c(o1$value, o2$value, o3$value), inner_mode_tol = 1e-12),
       loglik_agq7 = marginal_loglik(u$beta, u$Psi, u$sigma, 7:8, groups, model, nq = 7))
}
loglik_at_nlme <- function(fit, kind, groups, nq) {
  sds <- exact_sds(fit)
  marginal_loglik(c(as.numeric(fixef(fit)), 0, 0), diag(sds^2), fit$sigma, 7:8, groups, make_model(kind), nq = nq)
}
for (kind in c("gompertz", "logistic")) {
  key <- paste0(kind, "_ml")
  if (is.null(fitted[[key]])) next
  groups <- group_list(if (kind == "gompertz") g else l)
  results$fits[[key]]$laplace_loglik_at_nlme_estimates <- loglik_at_nlme(fitted[[key]], kind, groups, 1)
  results$fits[[key]]$agq7_loglik_at_nlme_estimates <- loglik_at_nlme(fitted[[key]], kind, groups, 7)
  ww <- with_warnings(safe(laplace_fit(kind, groups, fitted[[key]], if (kind == "gompertz") "ld" else "lk")))
  if (is.null(ww$value$error)) results$fits[[paste0("inscript_laplace_", kind)]] <- ww$value else
    results$failures[[paste0("inscript_laplace_", kind)]] <- list(error = ww$value$error, warnings = ww$warnings)
}

write_json_pretty(results, "results.json")
writeLines(capture.output(sessionInfo()), "session_info.txt")
cat("fits:", paste(names(results$fits), collapse = ", "), "\n")
cat("failures:", paste(names(results$failures), collapse = ", "), "\n")
