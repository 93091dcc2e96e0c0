# Frozen invivoSyn references for comboplan's invivoSyn / CombPDX synergy definitions
# (comboplan.growth.synergy_tools.invivosyn_synergy, combpdx_synergy).
# The tests (tests/test_growth_invivosyn_reference.py) read results.json, never R.
#
# invivoSyn (GitHub maobinchen/invivoSyn, MIT licence, B. Mao & S. Guo, Crown Bioscience) is NOT
# vendored here: this script sources a scratch copy of its R files kept outside the repository,
#   INVIVOSYN_SRC (default /tmp/invivosyn_src) with read_tv.R, efficacy.R, utils.R, synergy.R,
#   synergy_919ab39.R -- the files at the commits listed in `files` below (see README.md).
# Rerun:  INVIVOSYN_SRC=/tmp/invivosyn_src Rscript tests/reference/invivosyn/make_reference.R
# Needs R packages dplyr, tidyr, magrittr, pracma, boot, jsonlite.
suppressPackageStartupMessages({library(dplyr); library(tidyr); library(magrittr); library(jsonlite)})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
src <- Sys.getenv("INVIVOSYN_SRC", "/tmp/invivosyn_src")

files <- list(
  "R/read_tv.R"  = list(commit = "a383d233cd11697071270d8339e4618c0865e24c", scratch = "read_tv.R"),
  "R/efficacy.R" = list(commit = "359da046532d843ca8226a9f17af71d958bc1314", scratch = "efficacy.R"),
  "R/utils.R"    = list(commit = "874845f0e9962603668691d14fae4be04f8d8285", scratch = "utils.R"),
  "R/synergy.R"  = list(commit = "03a5058a810259ff195191e77c880655f066a14e", scratch = "synergy.R"),
  "R/synergy.R (earlier version, bs_AUC_synergy only)" =
    list(commit = "919ab39cf1b3189f6f75ad01ae1a234b5445a3e0", scratch = "synergy_919ab39.R"))
for (f in files[1:4]) source(file.path(src, f$scratch))
old <- new.env()
sys.source(file.path(src, "synergy_919ab39.R"), envir = old)

methods <- c("Bliss", "HSA", "RA")
B_AUC <- 1000      # AUC_synergy's default boot_n
B_GCI <- 200       # global_CI_synergy's bootstrap (default 1000) shortened: only resamples are compared
N_KEEP <- 20       # resamples exported with their indices (compared resample by resample)

keep_resamples <- function(b, data) {
  idx <- boot::boot.array(b, indices = TRUE)[seq_len(N_KEEP), , drop = FALSE]
  lapply(seq_len(N_KEEP), function(r) list(mice = as.character(data$Mouse[idx[r, ]]),
                                           t = unname(as.numeric(b$t[r, ]))))
}

run_dataset <- function(name, csv) {
  tv <- read_tv(file.path(here, csv))
  roles <- get_roles(tv)
  out <- list(csv = csv, roles = roles[c("vehicle", "singles", "combo", "vehicle_grp", "single_grps", "combo_grp")],
              days = sort(unique(tv$Day)))
  ## ---- AUC (eGR) based synergy: get_mAUCr -> AUC_synergy's statistic bs_AUC_synergy
  set.seed(1)                                   # get_mAUCr bootstraps mAUCr (not used here)
  auc_lst <- get_mAUCr(tv)                      # sel_day = NA: every mouse's whole follow-up
  am <- as.data.frame(auc_lst$auc_mouse)
  out$auc_mouse <- data.frame(Mouse = as.character(am$Mouse), Group = as.character(am$Group),
                              Treatment = as.character(roles$ordered_trts[as.integer(am$Group)]),
                              AUC = am$AUC, Day = am$Day)
  out$auc_mean <- as.list(tapply(am$AUC, as.character(am$Group), mean))
  all_idx <- seq_len(nrow(am))
  auc <- list()
  for (t in c(21, max(tv$Day))) for (m in methods) {
    key <- paste0(m, "_t", t)
    pe <- bs_AUC_synergy(am, t = t, method = m, roles = roles, idx = all_idx)
    rec <- list(t = t, method = m, CI = unname(pe["CI"]), Synergy_score = unname(pe["Synergy_score"]),
                call = sprintf("bs_AUC_synergy(auc_lst$auc_mouse, t=%g, method='%s', roles=get_roles(tv), idx=1:n)", t, m))
    if (m == "RA") {
      pe0 <- old$bs_AUC_synergy(am, t = t, method = m, idx = all_idx)
      rec$CI_919ab39 <- unname(pe0["CI"]); rec$Synergy_score_919ab39 <- unname(pe0["Synergy_score"])
    }
    if (t == 21) {
      # AUC_synergy(auc_lst, t=21, method=m, boot_n=1000): its boot call, seed and p-values
      set.seed(123456)
      b <- boot::boot(data = am, statistic = bs_AUC_synergy, t = t, method = m, roles = roles,
                      strata = am$Group, R = B_AUC)
      rec$boot <- list(R = B_AUC, seed = 123456,
                       std.err = unname(apply(b$t, 2, stats::sd, na.rm = TRUE)),
                       lb = c(getCI(b, 1)[1], getCI(b, 2)[1]), ub = c(getCI(b, 1)[2], getCI(b, 2)[2]),
                       p.val.Synergy = c(mean(b$t[, 1] > 1, na.rm = TRUE), mean(b$t[, 2] < 0, na.rm = TRUE)),
                       p.val.Antagonism = c(mean(b$t[, 1] < 1, na.rm = TRUE), mean(b$t[, 2] > 0, na.rm = TRUE)),
                       resamples = keep_resamples(b, am))
    }
    auc[[key]] <- rec
  }
  out$auc_synergy <- auc
  ## ---- CombPDX: daily CombPDX_CI and global CI (bs_global_CI)
  full_days <- tv %>% group_by(Day) %>% summarise(k = n_distinct(Group), nmin = min(table(as.character(Group))),
                                                  .groups = "drop") %>%
    filter(Day > 0, k == length(roles$ordered_trts), nmin >= 2) %>% pull(Day)
  daily <- list()
  for (m in methods) for (d in full_days) {
    r <- CombPDX_CI(tv, sel_day = d, method = m, ci = 0.95)
    daily[[length(daily) + 1]] <- list(method = m, day = d, CI = unname(r["CI"]), std.err = unname(r["std.err"]),
                                       lb = unname(r["lb"]), ub = unname(r["ub"]), p.val = unname(r["p.val"]))
  }
  out$combpdx_daily <- daily
  out$combpdx_daily_call <- "CombPDX_CI(tv, sel_day=day, method=method, ci=0.95)"
  participating <- c(roles$vehicle_grp, roles$single_grps, roles$combo_grp)
  tvp <- tv %>% filter(Group %in% participating) %>% mutate(Group = droplevels(Group))
  # global_CI_synergy writes pivot_wider(1:3, ...) (tidyr < 1.2 positional id_cols); the same with tidyr 1.3:
  RTV_wide <- tvp %>% pivot_wider(id_cols = 1:3, names_from = Day, values_from = RTV)
  glob <- list()
  for (m in methods) {
    g0 <- bs_global_CI(RTV_wide, method = m, roles = roles, idx = seq_len(nrow(RTV_wide)))
    set.seed(123456)
    b <- boot::boot(data = RTV_wide, statistic = bs_global_CI, method = m, roles = roles,
                    strata = RTV_wide$Group, R = B_GCI)
    stopifnot(isTRUE(all.equal(unname(b$t0), g0)))
    glob[[m]] <- list(method = m, global_CI = g0,
                      boot = list(R = B_GCI, seed = 123456, std.err = sd(b$t[, 1], na.rm = TRUE),
                                  lb = getCI(b, 1)[1], ub = getCI(b, 1)[2], p.val = mean(b$t[, 1] <= 0, na.rm = TRUE),
                                  resamples = keep_resamples(b, RTV_wide)))
  }
  out$combpdx_global <- glob
  out$combpdx_global_call <- paste("bs_global_CI(RTV_wide, method=method, roles=get_roles(tv), idx=1:n);",
                                   "boot::boot(RTV_wide, bs_global_CI, method=method, roles=roles,",
                                   "strata=RTV_wide$Group, R=200) after set.seed(123456)")
  out
}

res <- list(
  provenance = list(
    tool = "invivoSyn (https://github.com/maobinchen/invivoSyn), MIT licence, Mao & Guo, Crown Bioscience",
    files = lapply(files, function(f) f$commit),
    sources_read = "2026-12-06 (file versions as stored in the public-GitHub index on that date)",
    generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z", tz = "UTC"),
    R = R.version.string,
    packages = sapply(c("dplyr", "tidyr", "boot", "pracma", "jsonlite"), function(p) as.character(packageVersion(p))),
    calls = c("tv <- read_tv(csv)  # positional roles: vehicle, 2 singles, combo in order of appearance",
              "auc_lst <- get_mAUCr(tv)  # per-mouse normalised AUC of log(TV + 1), whole follow-up",
              "bs_AUC_synergy(...) point estimates; AUC_synergy's boot::boot call with set.seed(123456), R = 1000",
              "CombPDX_CI(tv, sel_day, method, ci = 0.95) per day with all four arms (>= 2 mice)",
              "bs_global_CI(RTV_wide, ...) point estimate and a seeded boot::boot (R = 200)")),
  SW837 = run_dataset("SW837", "SW837.csv"),
  LS_1034 = run_dataset("LS_1034", "LS_1034.csv"))
# doubles written with 17 significant digits (jsonlite alone stops at 15): round-trip exact
num17 <- function(x) {
  if (is.data.frame(x)) x <- as.list(x)
  if (is.list(x)) return(lapply(x, num17))
  if (!is.double(x)) return(x)
  s <- ifelse(is.finite(x), sprintf("%.17g", x), "null")
  structure(if (length(x) == 1) s else paste0("[", paste(s, collapse = ", "), "]"), class = "json")
}
writeLines(toJSON(num17(res), auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE),
           file.path(here, "results.json"))
cat("wrote", file.path(here, "results.json"), "\n")
