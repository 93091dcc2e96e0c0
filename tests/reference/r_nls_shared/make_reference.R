## Frozen reference values for comboplan.fitting.shared (fit_dose_response_shared).
##
## R's drc is not packaged for Debian (no r-cran-drc), so drc's multi-curve models
## (drm(..., curveid, pmodels = ...), EDcomp, compParm, anova) are reproduced here with
## base R's nls() on the same equations (drc's LL.3 / LL.4 least-squares fits are nls
## fits), car::deltaMethod() for the delta-method ratios and differences, anova() for
## the extra-sum-of-squares F test and stats::optimHess() for drc's Hessian covariance.
##
## Run from this folder:   Rscript make_reference.R
## Writes: dnase.csv, sim_ll4.csv (the data) and reference.json (every number).
suppressPackageStartupMessages({library(car); library(jsonlite)})
## nls stops on the relative-offset criterion; the tightest tolerance it reaches is used
## (recorded per fit as conv_tol / fin_tol)
nls_tight <- function(...) {
  for (tol in c(1e-9, 1e-8, 1e-7, 1e-6)) {
    f <- try(nls(..., control = nls.control(maxiter = 1000, tol = tol, minFactor = 1e-12)), silent = TRUE)
    if (!inherits(f, "try-error")) { f$conv_tol <- tol; return(f) }
  }
  stop("nls did not converge")
}
out <- list(provenance = list(
  R = R.version.string, car = as.character(packageVersion("car")),
  jsonlite = as.character(packageVersion("jsonlite")), date = as.character(Sys.Date()),
  script = "tests/reference/r_nls_shared/make_reference.R"))

ed <- function(fit, g) {   # delta method: estimate and SE of expression g of the coefficients
  d <- deltaMethod(fit, g, vcov. = vcov(fit))
  list(expr = g, estimate = unname(d$Estimate), se = unname(d$SE))
}
anova_list <- function(small, big) {
  a <- anova(small, big)
  list(rss_small = a[1, "Res.Sum Sq"], rss_big = a[2, "Res.Sum Sq"], df_small = a[1, "Res.Df"],
       df_big = a[2, "Res.Df"], f = a[2, "F value"], p = a[2, "Pr(>F)"])
}
fit_list <- function(fit) list(coef = as.list(coef(fit)), se = as.list(summary(fit)$coefficients[, 2]),
                                rss = deviance(fit), df = df.residual(fit), sigma = summary(fit)$sigma,
                                vcov = unname(vcov(fit)), names = names(coef(fit)),
                                conv_tol = fit$conv_tol, fin_tol = fit$convInfo$finTol)

## ---------------------------------------------------------------- 1. DNase (R datasets)
## ELISA of DNase in rat serum, 11 assay runs (Davidian & Giltinan 1995; Pinheiro & Bates 2000).
## drc equivalent: drm(density ~ conc, Run, data = DNase, fct = LL.3(),
##                     pmodels = list(~ 1, ~ 1, ~ Run - 1))   # shared b and d, per-run e
dn <- data.frame(Run = as.integer(as.character(DNase$Run)), conc = DNase$conc, density = DNase$density)
dn <- dn[order(dn$Run, dn$conc, dn$density), ]
write.csv(dn, "dnase.csv", row.names = FALSE)
dn$R <- factor(dn$Run, levels = sort(unique(dn$Run)))
nr <- nlevels(dn$R)
m_sh <- nls_tight(density ~ d / (1 + exp(b * (log(conc) - log(e[R])))), data = dn,
            start = list(b = -1, d = 2.3, e = rep(4, nr)))
m_sep <- nls_tight(density ~ d[R] / (1 + exp(b[R] * (log(conc) - log(e[R])))), data = dn,
             start = list(b = rep(-1, nr), d = rep(2.3, nr), e = rep(4, nr)))
out$dnase <- list(
  model = "LL.3 (c = 0): density = d / (1 + exp(b (log conc - log e))); shared b, d; e per Run",
  shared = fit_list(m_sh), separate = fit_list(m_sep), anova = anova_list(m_sh, m_sep),
  ratio_e2_e1 = ed(m_sh, "e2/e1"), ratio_e11_e4 = ed(m_sh, "e11/e4"),
  diff_ed10_e3_e1 = ed(m_sh, "e3*exp(log(1/9)/(-b)) - e1*exp(log(1/9)/(-b))"),
  ed10_run5 = ed(m_sh, "e5*exp(log(1/9)/(-b))"))

## ---------------------------------------------------------------- 2. simulated LL.4 curves
## three decreasing curves (viability-like), 9 doses incl. 0, triplicates; common limits
set.seed(20240601)
dose <- c(0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30)
truth <- data.frame(curve = c("A", "B", "C"), b = c(1.2, 1.6, 0.9), e = c(0.4, 1.5, 3))
sim <- do.call(rbind, lapply(seq_len(nrow(truth)), function(i) {
  d <- rep(dose, each = 3)
  mu <- 8 + (95 - 8) / (1 + exp(truth$b[i] * (log(d) - log(truth$e[i]))))
  data.frame(curve = truth$curve[i], dose = d, y = round(mu + rnorm(length(d), 0, 4), 3))
}))
write.csv(sim, "sim_ll4.csv", row.names = FALSE)
sim$K <- factor(sim$curve)
f4 <- function(b, c, d, e, x) c + (d - c) / (1 + exp(b * (log(x) - log(e))))
## drc: pmodels = list(~ curve - 1, ~ 1, ~ 1, ~ curve - 1)  (common c and d)
m_cd <- nls_tight(y ~ f4(b[K], c, d, e[K], dose), data = sim,
            start = list(b = rep(1, 3), c = 5, d = 95, e = c(0.5, 1, 3)))
## drc: pmodels = list(~ 1, ~ 1, ~ 1, ~ curve - 1)  (parallel curves)
m_par <- nls_tight(y ~ f4(b, c, d, e[K], dose), data = sim,
             start = list(b = 1, c = 5, d = 95, e = c(0.5, 1, 3)))
m_all <- nls_tight(y ~ f4(b[K], c[K], d[K], e[K], dose), data = sim,
             start = list(b = rep(1, 3), c = rep(5, 3), d = rep(95, 3), e = c(0.5, 1, 3)))
## drc's vcov: s^2 (H/2)^-1 with H the Hessian of the RSS
rss_par <- function(p) sum((sim$y - f4(p[1], p[2], p[3], p[4:6][as.integer(sim$K)], sim$dose))^2)
H <- optimHess(coef(m_par), rss_par)
vc_h <- summary(m_par)$sigma^2 * solve(H / 2)
out$sim_ll4 <- list(
  model = "LL.4: y = c + (d - c) / (1 + exp(b (log dose - log e)))",
  truth = list(b = truth$b, c = 8, d = 95, e = truth$e, sd = 4),
  common_limits = fit_list(m_cd), parallel = fit_list(m_par), separate = fit_list(m_all),
  parallel_hessian_se = as.list(setNames(sqrt(diag(vc_h)), names(coef(m_par)))),
  anova_limits_vs_separate = anova_list(m_cd, m_all), anova_parallel_vs_separate = anova_list(m_par, m_all),
  anova_parallel_vs_limits = anova_list(m_par, m_cd),
  ed50_ratio_B_A = ed(m_cd, "e2/e1"),
  ed10_ratio_C_A = ed(m_cd, "(e3*exp(log(1/9)/b3)) / (e1*exp(log(1/9)/b1))"),
  ed10_diff_C_B = ed(m_cd, "e3*exp(log(1/9)/b3) - e2*exp(log(1/9)/b2)"),
  ed90_A = ed(m_cd, "e1*exp(log(9)/b1)"),
  b_ratio_A_C = ed(m_cd, "b1/b3"), b_diff_B_A = ed(m_cd, "b2 - b1"),
  parallel_potency_A_over_C = ed(m_par, "e1/e3"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "reference.json")
