## Frozen reference fits of the theophylline NLME model (Pinheiro & Bates 2000, sec. 8.2).
##
## Run from anywhere:   Rscript tests/reference/nlme_theoph/fit_theoph.R      (about 2-4 minutes)
## Writes (next to this script):  theoph.csv, results.json, session_info.txt
##
## Model (SSfol, log-parameter form), for subject i at time t with dose D (mg/kg):
##   conc = D * exp(lKe + lKa - lCl) * (exp(-exp(lKe) t) - exp(-exp(lKa) t)) / (exp(lKa) - exp(lKe)) + eps,
##   eps ~ N(0, sigma^2) additive; random effects are normal additive shifts of lKe / lKa / lCl.
## Random-effect variants (keys in results.json): re2diag = lKa + lCl independent (P&B's final fm3Theo.nlme),
##   re2full = lKa + lCl correlated, re3diag = lKe + lKa + lCl independent (fm2Theo.nlme),
##   re3full = lKe + lKa + lCl unstructured (fm1Theo.nlme), re1 = lCl only.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
if (length(script) == 1) setwd(dirname(normalizePath(script)))
source("nlme_helpers.R")
RNGkind("Mersenne-Twister", "Inversion", "Rejection")   # nothing here is random; recorded for completeness

## ------------------------------------------------------------------ data
th_src <- as.data.frame(datasets::Theoph)
csv <- data.frame(Subject = as.integer(as.character(th_src$Subject)),
                  Wt = th_src$Wt, Dose = th_src$Dose, Time = th_src$Time, conc = th_src$conc)
write.csv(csv, "theoph.csv", row.names = FALSE)
th <- read.csv("theoph.csv")
stopifnot(isTRUE(all.equal(th, csv, tolerance = 0)), nrow(th) == 132L, length(unique(th$Subject)) == 12L)
th$Subject <- factor(th$Subject, levels = sort(unique(th$Subject)))   # levels "1" .. "12"

results <- list(
  description = "Theophylline (datasets::Theoph), one-compartment first-order absorption model SSfol in log parameters, additive normal residual error",
  run_info = run_info(),
  data = list(file = "theoph.csv", md5 = unname(tools::md5sum("theoph.csv")), n_obs = nrow(th), n_subjects = nlevels(th$Subject),
              source = "R datasets::Theoph (Boeckmann, Sheiner & Beal 1994, NONMEM Users Guide Part V), rows in the dataset's order; Subject written as its integer label",
              units = list(Wt = "kg", Dose = "mg/kg (theophylline dose per kg body weight)", Time = "h since the oral dose", conc = "mg/L serum theophylline"),
              parameter_units = "with Dose in mg/kg: exp(lCl) is clearance in L/h/kg, exp(lKe) and exp(lKa) are rate constants in 1/h, V = exp(lCl - lKe) in L/kg"),
  fits = list(),
  failures = list()
)

## ------------------------------------------------------------------ nlme (book route: nlsList -> nlme)
lis <- nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) | Subject, data = th)
results$nlsList_start <- named(fixef(lis))

nlme_specs <- list(
  re3full = list(random = NULL, rtext = "", label = "P&B fm1Theo.nlme: random lKe + lKa + lCl, general positive-definite (pdLogChol)"),
  re3diag = list(random = pdDiag(lKe + lKa + lCl ~ 1), rtext = "random = pdDiag(lKe + lKa + lCl ~ 1), ", label = "P&B fm2Theo.nlme: random lKe + lKa + lCl, pdDiag"),
  re2diag = list(random = pdDiag(lKa + lCl ~ 1), rtext = "random = pdDiag(lKa + lCl ~ 1), ", label = "P&B fm3Theo.nlme: random lKa + lCl, pdDiag (the book's final model)"),
  re2full = list(random = pdSymm(lKa + lCl ~ 1), rtext = "random = pdSymm(lKa + lCl ~ 1), ", label = "random lKa + lCl, general 2x2 (pdSymm)"),
  re1     = list(random = pdDiag(lCl ~ 1), rtext = "random = pdDiag(lCl ~ 1), ", label = "random lCl only")
)
nlme_fits <- list()
for (nm in names(nlme_specs)) for (meth in c("ML", "REML")) {
  key <- sprintf("nlme_%s_%s", tolower(meth), nm)
  ww <- with_warnings(safe(
    if (is.null(nlme_specs[[nm]]$random)) nlme(lis, method = meth) else nlme(lis, random = nlme_specs[[nm]]$random, method = meth)))
  fit <- ww$value
  call_text <- sprintf("nlme(nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) | Subject, data = th), %smethod = \"%s\")", nlme_specs[[nm]]$rtext, meth)
  if (inherits(fit, "nlme")) {
    nlme_fits[[key]] <- fit
    r <- extract_nlme(fit, call_text)
    r$label <- nlme_specs[[nm]]$label
    r$start <- "nlme.nlsList: fixed and random starting values from the nlsList fit; default nlmeControl()"
    r$logLik_kind <- if (meth == "ML") "ML log-likelihood of the Lindstrom-Bates linear mixed-model approximation at convergence" else "REML (restricted) log-likelihood of the Lindstrom-Bates approximation; not comparable with ML values"
    r$warnings <- ww$warnings
    results$fits[[key]] <- r
  } else {
    results$failures[[key]] <- list(call = call_text, error = fit$error, warnings = ww$warnings)
  }
}

## exactly the book's ch08.R route on the groupedData object, to document that theoph.csv + the
## factor re-ordering above reproduce it (Theoph's Subject is an ordered factor sorted by max conc)
book_ww <- with_warnings(safe({
  fm1Theo.lis <- nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph)
  fm1Theo.nlme <- nlme(fm1Theo.lis)
  fm2Theo.nlme <- update(fm1Theo.nlme, random = pdDiag(lKe + lKa + lCl ~ 1))
  fm3Theo.nlme <- update(fm2Theo.nlme, random = pdDiag(lKa + lCl ~ 1))
  out <- list()
  for (p in list(c("fm1Theo.nlme", "nlme_ml_re3full"), c("fm2Theo.nlme", "nlme_ml_re3diag"), c("fm3Theo.nlme", "nlme_ml_re2diag"))) {
    f <- get(p[1]); g <- nlme_fits[[p[2]]]
    out[[p[1]]] <- list(compared_with = p[2], fixed_effects = named(fixef(f)),
                        random_effect_sd = named(as.numeric(VarCorr(f)[, "StdDev"]), rownames(VarCorr(f))),
                        logLik = as.numeric(logLik(f)),
                        max_abs_diff_fixed = if (is.null(g)) NA else max(abs(fixef(f) - fixef(g))),
                        abs_diff_logLik = if (is.null(g)) NA else abs(as.numeric(logLik(f) - logLik(g))))
  }
  out$anova_fm1_fm3_fm2 <- as.list(as.data.frame(anova(fm1Theo.nlme, fm3Theo.nlme, fm2Theo.nlme))[, c("df", "AIC", "BIC", "logLik", "L.Ratio", "p-value")])
  out
}))
results$book_route_check <- c(list(code = "nlme/scripts/ch08.R: fm1Theo.lis <- nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = Theoph); fm1Theo.nlme <- nlme(fm1Theo.lis); fm2Theo.nlme <- update(fm1Theo.nlme, random = pdDiag(lKe + lKa + lCl ~ 1)); fm3Theo.nlme <- update(fm2Theo.nlme, random = pdDiag(lKa + lCl ~ 1))"),
                              book_ww$value, list(warnings = book_ww$warnings))

## ------------------------------------------------------------------ lme4::nlmer (Laplace)
Th.start <- c(lKe = -2.5, lKa = 0.5, lCl = -3)   # the start values used in lme4's own tests/nlmer-conv.R
nlmer_specs <- list(
  re2diag = conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ (lKa | Subject) + (lCl | Subject),
  re3diag = conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ (lKe | Subject) + (lKa | Subject) + (lCl | Subject),
  re2full = conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ (lKa + lCl | Subject),
  re3full = conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ (lKe + lKa + lCl | Subject),
  re1     = conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ (lCl | Subject)
)
nlmer_fits <- list()
run_nlmer <- function(key, form, tolPwrss, nAGQ = 1L, label, fallback = c(1e-12, 1e-11, 1e-10)) {
  tried <- list()
  for (tp in unique(c(tolPwrss, fallback))) {
    cl <- bquote(nlmer(.(form), data = th, start = Th.start, control = nlmerControl(tolPwrss = .(tp)), nAGQ = .(nAGQ)))
    ww <- with_warnings(safe(eval(cl, globalenv())))
    fit <- ww$value
    if (inherits(fit, "merMod")) break
    tried[[length(tried) + 1]] <- list(tolPwrss = tp, error = fit$error)
    if (grepl("nAGQ", fit$error)) break
  }
  if (inherits(fit, "merMod")) {
    nlmer_fits[[key]] <<- fit
    r <- extract_nlmer(fit, nAGQ, ww$warnings)
    r$label <- label
    r$failed_attempts <- tried
    r$start <- named(Th.start)
    r$logLik_kind <- "ML log-likelihood, Laplace approximation with lme4's Gauss-Newton (J'J) Hessian and profiled residual variance"
    results$fits[[key]] <<- r
  } else {
    results$failures[[key]] <<- list(call = paste(deparse(cl, width.cutoff = 500L), collapse = " "), attempts = tried, warnings = ww$warnings)
  }
}
for (nm in names(nlmer_specs))
  run_nlmer(sprintf("nlmer_laplace_%s", nm), nlmer_specs[[nm]], 1e-13, 1L,
            sprintf("%s; nlmerControl(tolPwrss = 1e-13) (looser only if that fails, see failed_attempts), default Nelder_Mead optimizers", nm))
run_nlmer("nlmer_laplace_re2diag_default_control", nlmer_specs$re2diag, 1e-10, 1L, fallback = NULL,
          "re2diag with lme4's default nlmerControl() (tolPwrss = 1e-10): kept to show how loosely nlmer's defaults pin the optimum")
for (q in c(9L, 25L))
  run_nlmer(sprintf("nlmer_agq%d_re1", q), nlmer_specs$re1, 1e-13, q, sprintf("re1 with nAGQ = %d", q))

## ------------------------------------------------------------------ independent in-script likelihoods
folg <- deriv(~ Dose * exp(lKe + lKa - lCl) * (exp(-exp(lKe) * Time) - exp(-exp(lKa) * Time)) / (exp(lKa) - exp(lKe)),
              c("lKe", "lKa", "lCl"), function(Dose, Time, lKe, lKa, lCl) NULL)
theo_model <- function(d, P) { v <- folg(d$Dose, d$Time, P[, 1], P[, 2], P[, 3]); list(f = as.numeric(v), J = attr(v, "gradient")) }
groups <- lapply(levels(th$Subject), function(s) { d <- th[th$Subject == s, ]; data.frame(y = d$conc, Dose = d$Dose, Time = d$Time) })
pnames <- c("lKe", "lKa", "lCl")

psi_from <- function(r) { P <- do.call(rbind, r$random_effect_cov$values); dimnames(P) <- list(r$random_effect_cov$rownames, r$random_effect_cov$colnames); P }
## evaluate the in-script Laplace (and, for one random effect, AGQ-25 and integrate()) at every ML fit above
for (key in names(results$fits)) {
  r <- results$fits[[key]]
  if (identical(r$method, "REML")) next
  re <- names(r$random_effect_sd); idx <- match(re, pnames)
  Psi <- psi_from(r); beta <- unlist(r$fixed_effects)[pnames]
  ev <- list(laplace_gn = safe(marginal_loglik(beta, Psi, r$residual_sd, idx, groups, theo_model, nq = 1)))
  if (length(idx) == 1) {
    ev$agq25 <- safe(marginal_loglik(beta, Psi, r$residual_sd, idx, groups, theo_model, nq = 25))
    ev$integrate <- safe(marginal_loglik_integrate(beta, Psi[1, 1], r$residual_sd, idx, groups, theo_model))
  }
  results$fits[[key]]$in_script_loglik_at_these_estimates <- ev
}

insc <- function(re, nq, start_key, full = FALSE) {
  s <- results$fits[[start_key]]
  fit_marginal(unlist(s$fixed_effects)[pnames], unlist(s$random_effect_sd)[re], s$residual_sd,
               match(re, pnames), groups, theo_model, nq = nq, re_names = re, beta_names = pnames, full = full)
}
results$fits$inscript_laplace_re2diag <- insc(c("lKa", "lCl"), 1, "nlmer_laplace_re2diag")
results$fits$inscript_laplace_re2full <- insc(c("lKa", "lCl"), 1, "inscript_laplace_re2diag", full = TRUE)
results$fits$inscript_laplace_re1 <- insc("lCl", 1, "nlmer_laplace_re1")
results$fits$inscript_agq9_re1 <- insc("lCl", 9, "nlmer_laplace_re1")
results$fits$inscript_agq25_re1 <- insc("lCl", 25, "inscript_agq9_re1")
results$fits$inscript_agq9_re2diag <- insc(c("lKa", "lCl"), 9, "inscript_laplace_re2diag")

## accuracy checks of the quadrature at the optima
a25 <- results$fits$inscript_agq25_re1
results$fits$inscript_agq25_re1$check_integrate_at_optimum <- marginal_loglik_integrate(
  unlist(a25$fixed_effects), a25$random_effect_var$lCl, a25$residual_sd, 3L, groups, theo_model)
for (key in c("inscript_laplace_re2diag", "inscript_agq9_re2diag")) {
  f <- results$fits[[key]]
  results$fits[[key]]$loglik_at_optimum_by_quadrature <- list(
    laplace = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, 2:3, groups, theo_model, nq = 1),
    agq_9x9 = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, 2:3, groups, theo_model, nq = 9),
    agq_25x25 = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, 2:3, groups, theo_model, nq = 25))
}

results$pinheiro_bates_printed_values <- "not stored: the values printed in Pinheiro & Bates (2000) were not available to the author of this script and are not reproduced from memory; book_route_check holds the same models fitted by the book's own script (nlme/scripts/ch08.R) under this R"

write_json_pretty(results, "results.json")
writeLines(capture.output(sessionInfo()), "session_info.txt")
cat("fits:", paste(names(results$fits), collapse = ", "), "\n")
cat("failures:", paste(names(results$failures), collapse = ", "), "\n")
