# Frozen R `survival` references for comboplan's time-to-event analysis
# (comboplan.survival_analysis: Kaplan-Meier, medians, log-rank, Cox, survival Bliss synergy).
# Run once; the tests (tests/test_growth_survival_reference.py) read results.json, never R.
#   Rscript tests/reference/r_survival/make_reference.R
# Writes events.csv, results.json and session_info.txt next to this script.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
setwd(here)

## ------------------------------------------------------------------ data
## 4 arms x 8 animals, event times in days (integers: ties within and across arms),
## right-censoring (1 = event, 0 = censored).  Chosen to exercise:
##  control: a censoring between events, S(t) = 1/2 exactly on a flat stretch (9 -> 11) that
##           is followed by another event (median = midpoint 10), and S = 0 at the end (14);
##  A:       a censoring tied with an event at 10, two events tied at 15, censored tail;
##  B:       two events tied at 12, then S = 1/2 exactly until the end of follow-up (median 12
##           in print.survfit, 16.5 in quantile.survfit: the two R functions differ here);
##  A+B:     two events only, median not reached.
## Cross-arm ties at 9, 10, 12 and 21; logv0 = log baseline volume (seeded), a Cox covariate.
arms <- c("control", "A", "B", "A+B")
tt <- list(control = c(5, 7, 7, 9, 10, 11, 12, 14),
           A       = c(8, 10, 10, 13, 15, 15, 18, 21),
           B       = c(6, 9, 12, 12, 16, 20, 21, 21),
           "A+B"   = c(12, 17, 19, 21, 21, 21, 21, 21))
ee <- list(control = c(1, 1, 1, 1, 0, 1, 1, 1),
           A       = c(1, 1, 0, 1, 1, 1, 0, 0),
           B       = c(1, 1, 1, 1, 0, 0, 0, 0),
           "A+B"   = c(1, 0, 1, 0, 0, 0, 0, 0))
set.seed(20261206)
d <- data.frame(mouse = paste0(rep(arms, each = 8), "-", rep(1:8, 4)),
                arm = rep(arms, each = 8),
                time = unlist(tt[arms], use.names = FALSE),
                event = unlist(ee[arms], use.names = FALSE),
                logv0 = round(log(120) + rnorm(32, 0, 0.2), 4),
                stringsAsFactors = FALSE)
write.csv(d, "events.csv", row.names = FALSE, quote = FALSE)
d <- read.csv("events.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = arms)

## ------------------------------------------------------------------ Kaplan-Meier and medians
## one survfit per arm, conf.type = "log-log" (comboplan's pointwise interval; R's default is
## "log"), Greenwood variance (survfit's default for the KM).  Rows at event times only
## (comboplan's table has a row at 0 and one per event time).
km_arm <- function(sub, level) {
  f <- survfit(Surv(time, event) ~ 1, data = sub, conf.type = "log-log", conf.int = level)
  k <- f$n.event > 0
  q <- quantile(f, 0.5)
  tab <- summary(f)$table
  list(call = sprintf('survfit(Surv(time, event) ~ 1, data = subset(d, arm == "%s"), conf.type = "log-log", conf.int = %s)',
                      as.character(sub$arm[1]), format(level)),
       time = f$time[k], n_risk = f$n.risk[k], n_event = f$n.event[k], surv = f$surv[k],
       std_err_log = f$std.err[k],              # se of -log S (survfit's std.err)
       std_err = f$surv[k] * f$std.err[k],      # Greenwood se of S (summary.survfit's std.err)
       lower = f$lower[k], upper = f$upper[k],
       median_table = unname(tab["median"]), lcl_table = unname(tab[grep("LCL", names(tab))]),
       ucl_table = unname(tab[grep("UCL", names(tab))]),
       median_quantile = unname(q$quantile), lcl_quantile = unname(q$lower), ucl_quantile = unname(q$upper),
       n = f$n, events = sum(f$n.event), last_time = max(sub$time))
}
km <- list()
for (lev in c(0.95, 0.90)) {
  km[[format(lev)]] <- setNames(lapply(arms, function(a) km_arm(d[d$arm == a, ], lev)), arms)
}

## medians of n animals with one event a day (1, ..., n, no censoring): S = 1/2 exactly after n/2
## events, computed as 0.5000000000000001, 0.5 or 0.49999999999999994 depending on n; the median
## is n/2 + 1/2 for every even n
median_even_n <- lapply(c(4, 10, 12, 18, 24), function(n) {
  f <- survfit(Surv(seq_len(n), rep(1, n)) ~ 1, conf.type = "log-log")
  list(n = n, call = sprintf("survfit(Surv(1:%d, rep(1, %d)) ~ 1, conf.type = \"log-log\")", n, n),
       median_table = unname(summary(f)$table["median"]), median_quantile = unname(quantile(f, 0.5)$quantile))
})

## ------------------------------------------------------------------ log-rank
lr <- function(sel, label) {
  sub <- d[d$arm %in% sel, ]
  sub$arm <- droplevels(sub$arm)
  f <- survdiff(Surv(time, event) ~ arm, data = sub)
  list(call = sprintf("survdiff(Surv(time, event) ~ arm, data = subset(d, arm %%in%% c(%s)))",
                      paste0('"', sel, '"', collapse = ", ")),
       arms = sel, chisq = f$chisq, df = length(f$n) - 1, pvalue = f$pvalue,
       n_events = sum(f$obs), obs = as.numeric(f$obs), exp = as.numeric(f$exp))
}
logrank <- list("all arms" = lr(arms, "all arms"))
for (a in arms[-1]) logrank[[paste(a, "vs control")]] <- lr(c("control", a), a)

## ------------------------------------------------------------------ Cox (Efron ties, R's default)
ctl <- coxph.control(eps = 1e-10, iter.max = 100)
cox_out <- function(f, call) {
  s95 <- summary(f, conf.int = 0.95)
  s90 <- summary(f, conf.int = 0.90)
  cf <- s95$coefficients
  nm <- rownames(cf)
  list(call = call, terms = nm,
       coef = unname(cf[, "coef"]), se = unname(cf[, "se(coef)"]), z = unname(cf[, "z"]),
       p = unname(cf[, "Pr(>|z|)"]), hr = unname(cf[, "exp(coef)"]),
       lower95 = unname(s95$conf.int[, 3]), upper95 = unname(s95$conf.int[, 4]),
       lower90 = unname(s90$conf.int[, 3]), upper90 = unname(s90$conf.int[, 4]),
       vcov = unname(vcov(f)), loglik = f$loglik, iter = f$iter, ties = f$method)
}
c1 <- 'coxph(Surv(time, event) ~ arm, data = d, ties = "efron", control = coxph.control(eps = 1e-10, iter.max = 100))'
c2 <- 'coxph(Surv(time, event) ~ arm + logv0, data = d, ties = "efron", control = coxph.control(eps = 1e-10, iter.max = 100))'
f1 <- coxph(Surv(time, event) ~ arm, data = d, ties = "efron", control = ctl)
f2 <- coxph(Surv(time, event) ~ arm + logv0, data = d, ties = "efron", control = ctl)
cox <- list(arm = cox_out(f1, c1), arm_logv0 = cox_out(f2, c2))

## Cox synergy (comboplan's synergy_cox): log HR_A + log HR_B - log HR_AB, Wald test from vcov
cvec <- c(1, 1, -1)
sc <- sum(cvec * coef(f1)); ssd <- sqrt(drop(t(cvec) %*% vcov(f1) %*% cvec))
synergy_cox <- list(definition = "coef(armA) + coef(armB) - coef(armA+B); se = sqrt(c' vcov c), c = (1, 1, -1)",
                    score = sc, se = ssd, z = sc / ssd, p_value = 2 * pnorm(-abs(sc / ssd)),
                    p_synergy = pnorm(sc / ssd, lower.tail = FALSE),
                    lower95 = sc - qnorm(0.975) * ssd, upper95 = sc + qnorm(0.975) * ssd)

## ------------------------------------------------------------------ survival Bliss synergy
## (Demidenko & Miller 2019; survival has no such function: computed here from the survfit
## estimates at each time, as comboplan defines it).  Times: every event time of the four arms
## up to the shortest follow-up of an arm whose curve does not end at 0 (21 days).  Variances:
## Greenwood (summary.survfit std.err squared); where S = 0 (control from day 14) the variance is
## 0 (S is known exactly), where R gives NaN.
ev_times <- sort(unique(d$time[d$event == 1]))
horizon <- min(sapply(arms, function(a) {
  f <- survfit(Surv(time, event) ~ 1, data = d[d$arm == a, ])
  if (tail(f$surv, 1) > 0) max(f$time) else Inf
}))
grid <- ev_times[ev_times <= horizon]
at <- function(a) {
  f <- survfit(Surv(time, event) ~ 1, data = d[d$arm == a, ])
  s <- summary(f, times = grid, extend = TRUE)
  v <- ifelse(s$surv == 0, 0, s$std.err^2)
  list(s = s$surv, v = v)
}
S <- setNames(lapply(arms, at), arms)
bliss <- function(scale) {
  p <- lapply(S, function(x) if (scale == "incidence") 1 - x$s else x$s)
  v <- lapply(S, function(x) x$v)
  expected <- p$A * p$B / p$control
  var <- v$`A+B` + (p$A * p$B / p$control^2)^2 * v$control + (p$B / p$control)^2 * v$A +
    (p$A / p$control)^2 * v$B
  score <- expected - p$`A+B`
  se <- sqrt(var)
  z <- score / se
  ok <- is.finite(z) & p$control > 0 & is.finite(expected) & expected <= 1
  na <- function(x) ifelse(ok, x, NA)
  list(time = grid, observed = p$`A+B`, expected = ifelse(is.finite(expected) & expected <= 1, expected, NA),
       score = na(score), se = na(se), z = na(z), p_value = na(2 * pnorm(-abs(z))),
       p_synergy = na(pnorm(z, lower.tail = FALSE)), lower95 = na(score - qnorm(0.975) * se),
       upper95 = na(score + qnorm(0.975) * se))
}
synergy <- list(
  definition = paste("incidence: p = 1 - S; survival: p = S; expected = p_A p_B / p_control; score = expected -",
                     "p_{A+B}; var = v_AB + (p_A p_B / p_0^2)^2 v_0 + (p_B / p_0)^2 v_A + (p_A / p_0)^2 v_B (Greenwood",
                     "v); NA where the variance is 0, p_0 = 0, or expected > 1"),
  incidence = bliss("incidence"), survival = bliss("survival"))

## ------------------------------------------------------------------ write
results <- list(
  data = list(file = "events.csv", md5 = unname(tools::md5sum("events.csv")), n_rows = nrow(d),
              arms = arms, control = "control"),
  km = km, median_even_n = median_even_n, logrank = logrank, cox = cox, synergy_cox = synergy_cox, synergy = synergy,
  run_info = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite")), date = format(Sys.Date()),
                  platform = R.version$platform, json_digits = "jsonlite::toJSON(digits = NA): 15 significant digits",
                  missing = "NA (as the string \"NA\"), NaN, Inf written as strings"))
writeLines(toJSON(results, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"), "results.json")
writeLines(capture.output(sessionInfo()), "session_info.txt")
