## Simulated tumour-growth-inhibition (TGI) study and frozen NLME reference fits.
##
## Run from anywhere:   Rscript tests/reference/nlme_tgi/fit_tgi.R      (about 1-2 minutes)
## Needs ../nlme_theoph/nlme_helpers.R.  Writes (next to this script):
##   tgi.csv (the data set), animals_truth.csv (simulated random effects), results.json, session_info.txt
##
## Design: 4 arms (control, A, B, AB) x 7 animals x days 0, 3, 7, 10, 14, 17, 21 (196 rows).
## Model (animal i, day t):
##   log V_it = lw0_i + exp(llam_i) * t - kA * AUC_A(t) - kB * AUC_B(t) + eps_it
##   lw0_i  = lw0  + eta_w0_i,  eta_w0_i  ~ N(0, omega_w0^2)   (log-normal w0_i = exp(lw0_i), mm^3)
##   llam_i = llam + eta_lam_i, eta_lam_i ~ N(0, omega_lam^2)  (log-normal growth rate lambda_i = exp(llam_i), 1/day)
##   eps_it ~ N(0, sigma^2), additive on the log-volume scale
## Exposures (arms that do not get a drug have AUC = 0 for it):
##   drug A: 1-compartment IV bolus, dose 10, volume 1, elimination rate kelA = 2 /day, doses on days 0, 7, 14:
##           C_A(t)   = sum_{td <= t} 10 * exp(-2 (t - td))
##           AUC_A(t) = sum_{td <= t} (10 / 2) * (1 - exp(-2 (t - td)))
##   drug B: K-PD (virtual compartment), dose 1, elimination rate kelB = 0.3 /day, doses on days 0,2,4,7,9,11,14,16,18:
##           E_B(t)   = sum_{td <= t} 1 * exp(-0.3 (t - td))
##           AUC_B(t) = sum_{td <= t} (1 / 0.3) * (1 - exp(-0.3 (t - td)))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
if (length(script) == 1) setwd(dirname(normalizePath(script)))
source("../nlme_theoph/nlme_helpers.R")

## ------------------------------------------------------------------ simulation
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
seed <- 20240917L
set.seed(seed)
truth <- list(lw0 = log(150), llam = log(0.12), kA = 0.06, kB = 0.04, omega_w0 = 0.25, omega_lam = 0.20, sigma = 0.08)
days <- c(0, 3, 7, 10, 14, 17, 21)
arms <- c("control", "A", "B", "AB")
n_per_arm <- 7L
doseA <- list(amount = 10, kel = 2, times = c(0, 7, 14))
doseB <- list(amount = 1, kel = 0.3, times = c(0, 2, 4, 7, 9, 11, 14, 16, 18))
auc_bolus <- function(t, dose) vapply(t, function(tt) { td <- dose$times[dose$times <= tt]; sum(dose$amount / dose$kel * (1 - exp(-dose$kel * (tt - td)))) }, 0)

n_anim <- length(arms) * n_per_arm
animals <- data.frame(Animal = seq_len(n_anim), Arm = rep(arms, each = n_per_arm))
## draw order: all 28 eta_w0, then all 28 eta_lam, then the 196 residuals in row order (animal-major, day-minor)
animals$eta_w0 <- rnorm(n_anim, 0, truth$omega_w0)
animals$eta_lam <- rnorm(n_anim, 0, truth$omega_lam)
d <- data.frame(Animal = rep(animals$Animal, each = length(days)), Arm = rep(animals$Arm, each = length(days)), Day = rep(days, n_anim))
d$aucA <- ifelse(d$Arm %in% c("A", "AB"), auc_bolus(d$Day, doseA), 0)
d$aucB <- ifelse(d$Arm %in% c("B", "AB"), auc_bolus(d$Day, doseB), 0)
eta <- animals[match(d$Animal, animals$Animal), ]
eps <- rnorm(nrow(d), 0, truth$sigma)
d$logV <- round(truth$lw0 + eta$eta_w0 + exp(truth$llam + eta$eta_lam) * d$Day - truth$kA * d$aucA - truth$kB * d$aucB + eps, 6)

fmt <- function(x) sprintf("%.17g", x)
out <- data.frame(Animal = d$Animal, Arm = d$Arm, Day = d$Day, aucA = fmt(d$aucA), aucB = fmt(d$aucB), logV = sprintf("%.6f", d$logV))
write.csv(out, "tgi.csv", row.names = FALSE, quote = FALSE)
write.csv(data.frame(Animal = animals$Animal, Arm = animals$Arm, eta_w0 = fmt(animals$eta_w0), eta_lam = fmt(animals$eta_lam)),
          "animals_truth.csv", row.names = FALSE, quote = FALSE)

## ------------------------------------------------------------------ fits use the CSV as written
tg <- read.csv("tgi.csv")
stopifnot(nrow(tg) == 196L, max(abs(tg$aucA - d$aucA)) == 0, max(abs(tg$aucB - d$aucB)) == 0, max(abs(tg$logV - d$logV)) < 1e-12)
tg$Animal <- factor(tg$Animal, levels = seq_len(n_anim))

tgi <- deriv(~ lw0 + exp(llam) * Day - kA * aucA - kB * aucB, c("lw0", "llam", "kA", "kB"),
             function(Day, aucA, aucB, lw0, llam, kA, kB) NULL)
start <- c(lw0 = 5, llam = log(0.1), kA = 0.05, kB = 0.05)
pnames <- names(start)

results <- list(
  description = "Simulated tumour-growth-inhibition study: log V = lw0_i + exp(llam_i) t - kA AUC_A(t) - kB AUC_B(t) + eps; random effects on lw0 and llam (diagonal), additive normal error on log V",
  run_info = run_info(),
  simulation = list(seed = seed, RNGkind = RNGkind(), truth = truth, days = days, arms = arms, animals_per_arm = n_per_arm,
                    drug_A = c(doseA, list(volume = 1, model = "1-compartment IV bolus; AUC_A(t) = sum_{td<=t} amount/kel (1 - exp(-kel (t - td)))")),
                    drug_B = c(doseB, list(model = "K-PD exposure; AUC_B(t) = sum_{td<=t} amount/kel (1 - exp(-kel (t - td)))")),
                    draw_order = "rnorm(28, 0, omega_w0) for eta_w0 of animals 1..28, then rnorm(28, 0, omega_lam) for eta_lam, then rnorm(196, 0, sigma) for the residuals in tgi.csv row order",
                    rounding = "logV rounded to 6 decimals before writing; AUCs written with 17 significant digits; the fits read tgi.csv back"),
  data = list(file = "tgi.csv", md5 = unname(tools::md5sum("tgi.csv")), truth_file = "animals_truth.csv", n_obs = nrow(tg), n_animals = n_anim,
              units = list(Day = "day", logV = "natural log of tumour volume in mm^3", aucA = "drug A concentration x day (dose units / volume x day)", aucB = "drug B exposure x day")),
  fits = list(),
  failures = list()
)

## nlme (ML and REML)
for (meth in c("ML", "REML")) {
  key <- sprintf("nlme_%s", tolower(meth))
  ww <- with_warnings(safe(nlme(logV ~ tgi(Day, aucA, aucB, lw0, llam, kA, kB), data = tg,
                                fixed = lw0 + llam + kA + kB ~ 1, random = pdDiag(lw0 + llam ~ 1), groups = ~ Animal,
                                start = start, method = meth)))
  call_text <- sprintf("nlme(logV ~ tgi(Day, aucA, aucB, lw0, llam, kA, kB), data = tg, fixed = lw0 + llam + kA + kB ~ 1, random = pdDiag(lw0 + llam ~ 1), groups = ~Animal, start = c(lw0 = 5, llam = log(0.1), kA = 0.05, kB = 0.05), method = \"%s\")", meth)
  if (inherits(ww$value, "nlme")) {
    r <- extract_nlme(ww$value, call_text)
    r$logLik_kind <- if (meth == "ML") "ML log-likelihood of the Lindstrom-Bates linear mixed-model approximation at convergence" else "REML (restricted) log-likelihood of the Lindstrom-Bates approximation; not comparable with ML values"
    r$warnings <- ww$warnings
    results$fits[[key]] <- r
  } else results$failures[[key]] <- list(call = call_text, error = ww$value$error, warnings = ww$warnings)
}

## lme4::nlmer (Laplace)
for (tp in c(1e-13, 1e-10)) {
  key <- if (tp == 1e-13) "nlmer_laplace" else "nlmer_laplace_default_control"
  ww <- with_warnings(safe(nlmer(logV ~ tgi(Day, aucA, aucB, lw0, llam, kA, kB) ~ (lw0 | Animal) + (llam | Animal),
                                 data = tg, start = start, control = nlmerControl(tolPwrss = tp))))
  call_text <- sprintf("nlmer(logV ~ tgi(Day, aucA, aucB, lw0, llam, kA, kB) ~ (lw0 | Animal) + (llam | Animal), data = tg, start = c(lw0 = 5, llam = log(0.1), kA = 0.05, kB = 0.05), control = nlmerControl(tolPwrss = %g))", tp)
  if (inherits(ww$value, "merMod")) {
    r <- extract_nlmer(ww$value, 1L, ww$warnings)
    r$call <- call_text
    r$logLik_kind <- "ML log-likelihood, Laplace approximation with lme4's Gauss-Newton (J'J) Hessian and profiled residual variance"
    results$fits[[key]] <- r
  } else results$failures[[key]] <- list(call = call_text, error = ww$value$error, warnings = ww$warnings)
}

## independent in-script likelihoods
tgi_model <- function(dd, P) { v <- tgi(dd$Day, dd$aucA, dd$aucB, P[, 1], P[, 2], P[, 3], P[, 4]); list(f = as.numeric(v), J = attr(v, "gradient")) }
groups <- lapply(levels(tg$Animal), function(a) { x <- tg[tg$Animal == a, ]; data.frame(y = x$logV, Day = x$Day, aucA = x$aucA, aucB = x$aucB) })
idx <- 1:2
for (key in names(results$fits)) {
  r <- results$fits[[key]]
  if (identical(r$method, "REML")) next
  results$fits[[key]]$in_script_loglik_at_these_estimates <- list(
    laplace_gn = marginal_loglik(unlist(r$fixed_effects)[pnames], diag(unlist(r$random_effect_var)[c("lw0", "llam")], 2), r$residual_sd, idx, groups, tgi_model, nq = 1),
    agq_15x15 = marginal_loglik(unlist(r$fixed_effects)[pnames], diag(unlist(r$random_effect_var)[c("lw0", "llam")], 2), r$residual_sd, idx, groups, tgi_model, nq = 15))
}
s0 <- results$fits$nlmer_laplace
results$fits$inscript_laplace <- fit_marginal(unlist(s0$fixed_effects)[pnames], unlist(s0$random_effect_sd)[c("lw0", "llam")], s0$residual_sd,
                                              idx, groups, tgi_model, nq = 1, re_names = c("lw0", "llam"), beta_names = pnames)
s1 <- results$fits$inscript_laplace
results$fits$inscript_agq9 <- fit_marginal(unlist(s1$fixed_effects)[pnames], unlist(s1$random_effect_sd)[c("lw0", "llam")], s1$residual_sd,
                                           idx, groups, tgi_model, nq = 9, re_names = c("lw0", "llam"), beta_names = pnames)
for (key in c("inscript_laplace", "inscript_agq9")) {
  f <- results$fits[[key]]
  results$fits[[key]]$loglik_at_optimum_by_quadrature <- list(
    laplace = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, idx, groups, tgi_model, nq = 1),
    agq_9x9 = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, idx, groups, tgi_model, nq = 9),
    agq_25x25 = marginal_loglik(unlist(f$fixed_effects), diag(unlist(f$random_effect_var)), f$residual_sd, idx, groups, tgi_model, nq = 25))
}

write_json_pretty(results, "results.json")
writeLines(capture.output(sessionInfo()), "session_info.txt")
cat("fits:", paste(names(results$fits), collapse = ", "), "\n")
cat("failures:", paste(names(results$failures), collapse = ", "), "\n")
