## Shared helpers for the frozen NLME reference scripts
## (tests/reference/nlme_theoph/fit_theoph.R and tests/reference/nlme_tgi/fit_tgi.R).
##
## Contents
##   * extract_nlme(), extract_nlmer(): turn nlme / lme4::nlmer fits into plain lists for JSON.
##   * marginal_loglik(): an independent, in-script evaluation of the marginal log-likelihood of a
##     nonlinear mixed model with additive normal residual error and normal random effects,
##     by the Laplace approximation with the Gauss-Newton (FOCE-I type) Hessian (nq = 1) or by
##     adaptive Gauss-Hermite quadrature (nq > 1) centred at the conditional mode and scaled by
##     that same Gauss-Newton Hessian (the scheme of lme4's glmer nAGQ > 1, with J'J in place of
##     the PIRLS weights); with enough nodes it converges to the exact marginal likelihood.
##   * marginal_loglik_integrate(): exact marginal likelihood by stats::integrate (one random effect).
##   * fit_marginal(): maximises marginal_loglik() with optim() to tight tolerances.
##
## Notation for one group i with n_i observations y_i and model f(phi):
##   phi_i = beta + E b_i  (E selects the random-effect components `idx` of the parameter vector)
##   b_i ~ N(0, Psi),  y_i | b_i ~ N(f(phi_i), sigma^2 I)
##   S_i(b) = ||y_i - f(beta + E b)||^2 / sigma^2 + b' Psi^{-1} b
##   H_i    = J' J / sigma^2 + Psi^{-1},  J = d f / d b at the conditional mode b_hat (Gauss-Newton)
##   Laplace: l_i = -n_i/2 log(2 pi sigma^2) - 1/2 log|Psi| - 1/2 log|H_i| - 1/2 S_i(b_hat)
##   AGQ(nq): l_i = Laplace_i + log sum_k w_k exp(-(S_i(b_k) - S_i(b_hat))/2 + z_k'z_k/2),
##            b_k = b_hat + R^{-1} z_k, H_i = R'R, (z_k, w_k) = product Gauss-Hermite rule for N(0, I)
##            (probabilists' nodes, weights summing to 1; Golub-Welsch).

suppressPackageStartupMessages({
  library(nlme)
  library(lme4)
  library(jsonlite)
})

## ---------------------------------------------------------------- small utilities
named <- function(x, nms = names(x)) { force(nms); x <- as.numeric(x); names(x) <- nms; as.list(x) }
mat_list <- function(m) {
  m <- as.matrix(m)
  ## I() keeps 1 x 1 matrices as [[x]] in JSON (auto_unbox would otherwise turn them into scalars)
  list(rownames = I(rownames(m)), colnames = I(colnames(m)), values = unname(lapply(seq_len(nrow(m)), function(i) I(as.numeric(m[i, ])))))
}
safe <- function(expr) tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
with_warnings <- function(expr) {
  w <- character()
  val <- withCallingHandlers(expr, warning = function(cw) { w <<- c(w, conditionMessage(cw)); invokeRestart("muffleWarning") })
  list(value = val, warnings = I(w))
}

## ---------------------------------------------------------------- nlme
extract_nlme <- function(fit, call_text = NULL) {
  s <- summary(fit)
  tt <- s$tTable
  vc <- VarCorr(fit)
  re_names <- colnames(pdMatrix(fit$modelStruct$reStruct[[1]]))
  sds <- as.numeric(vc[re_names, "StdDev"])
  Psi <- pdMatrix(fit$modelStruct$reStruct[[1]]) * fit$sigma^2
  cor <- if (length(re_names) > 1) cov2cor(Psi) else NULL
  re <- ranef(fit)
  out <- list(
    engine = sprintf("nlme::nlme %s", as.character(packageVersion("nlme"))),
    method = fit$method,
    call = if (is.null(call_text)) paste(deparse(fit$call, width.cutoff = 500L), collapse = " ") else call_text,
    random_structure = class(fit$modelStruct$reStruct[[1]])[1],
    fixed_effects = named(fixef(fit)),
    fixed_effects_se = named(tt[, "Std.Error"], rownames(tt)),
    fixed_effects_vcov = mat_list(fit$varFix),
    fixed_effects_df = named(tt[, "DF"], rownames(tt)),
    random_effect_sd = named(sds, re_names),
    random_effect_var = named(sds^2, re_names),
    random_effect_cov = mat_list(Psi),
    random_effect_cor = if (is.null(cor)) NULL else mat_list(cor),
    residual_sd = fit$sigma,
    residual_var = fit$sigma^2,
    logLik = as.numeric(logLik(fit)),
    logLik_df = attr(logLik(fit), "df"),
    AIC = AIC(fit),
    BIC = BIC(fit),
    n_obs = fit$dims$N,
    n_groups = as.integer(fit$dims$ngrps[1]),
    convergence = list(converged = TRUE,
                       note = "nlme() stops with an error unless its alternating PNLS/LME iterations converge",
                       numIter = fit$numIter,
                       control = c(list(note = "default nlmeControl() (no fit in these scripts changes it)"),
                                   nlmeControl()[c("maxIter", "pnlsMaxIter", "msMaxIter", "tolerance", "pnlsTol", "msTol", "opt")])),
    conditional_modes = list(group_levels = rownames(re), values = lapply(re, function(v) as.numeric(v))),
    apVar = if (is.matrix(fit$apVar)) c(mat_list(fit$apVar),
      list(pars = named(attr(fit$apVar, "Pars")),
           scale = "nlme natural parametrisation: log(SD) of each random effect, log((1+r)/(1-r)) for correlations, lSigma = log(residual SD)"))
      else list(error = as.character(fit$apVar)),
    intervals_95 = safe({
      iv <- intervals(fit, level = 0.95)
      list(fixed = mat_list(iv$fixed),
           reStruct = mat_list(iv$reStruct[[1]]),
           sigma = named(iv$sigma))
    })
  )
  out
}

## ---------------------------------------------------------------- lme4::nlmer
extract_nlmer <- function(fit, nAGQ, warnings = character()) {
  vc <- as.data.frame(VarCorr(fit))
  vc_re <- vc[vc$grp != "Residual", ]
  sd_rows <- vc_re[is.na(vc_re$var2), ]
  cor_rows <- vc_re[!is.na(vc_re$var2), ]
  Vw <- with_warnings(as.matrix(vcov(fit, use.hessian = FALSE)))
  V <- Vw$value
  Vh <- with_warnings(safe(as.matrix(vcov(fit, use.hessian = TRUE))))
  re_names <- sd_rows$var1
  P <- diag(sd_rows$vcov, length(re_names)); dimnames(P) <- list(re_names, re_names)
  for (k in seq_len(nrow(cor_rows))) P[cor_rows$var1[k], cor_rows$var2[k]] <- P[cor_rows$var2[k], cor_rows$var1[k]] <- cor_rows$vcov[k]
  ref <- ranef(fit)
  modes <- list()
  for (g in names(ref)) for (cn in colnames(ref[[g]])) modes[[cn]] <- as.numeric(ref[[g]][[cn]])
  oi <- fit@optinfo
  list(
    engine = sprintf("lme4::nlmer %s", as.character(packageVersion("lme4"))),
    method = if (nAGQ == 1) "ML, Laplace approximation (nAGQ = 1)" else sprintf("ML, nAGQ = %d", nAGQ),
    call = paste(deparse(fit@call, width.cutoff = 500L), collapse = " "),
    fixed_effects = named(fixef(fit)),
    fixed_effects_se = named(sqrt(diag(V)), colnames(V)),
    fixed_effects_se_source = "vcov(fit, use.hessian = FALSE): sigma^2 (RX' RX)^-1 from the final penalised-least-squares factorisation, i.e. conditional on the variance parameters",
    fixed_effects_vcov = mat_list(V),
    fixed_effects_vcov_warnings = Vw$warnings,
    fixed_effects_se_hessian = if (is.matrix(Vh$value)) named(sqrt(diag(Vh$value)), colnames(Vh$value)) else Vh$value,
    fixed_effects_se_hessian_source = "vcov(fit, use.hessian = TRUE): from lme4's finite-difference Hessian of the deviance in (theta, beta) (joint); lme4 falls back to RX when that Hessian is not positive definite",
    fixed_effects_se_hessian_warnings = Vh$warnings,
    fixed_effects_se_hessian_agrees_with_rx = if (is.matrix(Vh$value)) isTRUE(max(abs(sqrt(diag(Vh$value)) / sqrt(diag(V)) - 1)) < 1e-3) else FALSE,
    random_effect_sd = named(sd_rows$sdcor, sd_rows$var1),
    random_effect_var = named(sd_rows$vcov, sd_rows$var1),
    random_effect_cov = mat_list(P),
    random_effect_cor = if (length(re_names) > 1) mat_list(cov2cor(P)) else NULL,
    residual_sd = sigma(fit),
    residual_var = sigma(fit)^2,
    theta = named(getME(fit, "theta")),
    theta_note = "relative covariance factor: random-effect SD / residual SD for scalar terms (Cholesky factor / sigma for vector terms)",
    logLik = as.numeric(logLik(fit)),
    logLik_df = attr(logLik(fit), "df"),
    AIC = AIC(fit),
    BIC = BIC(fit),
    deviance = deviance(fit),
    n_obs = nobs(fit),
    n_groups = as.list(ngrps(fit)),
    convergence = list(optimizer = oi$optimizer, conv_opt = oi$conv$opt, conv_lme4 = oi$conv$lme4,
                       message = oi$message, feval = oi$feval, warnings = I(c(unlist(oi$warnings), warnings)),
                       control = c(list(tolPwrss = fit@devcomp$cmp[["tolPwrss"]]), lapply(oi$control, as.numeric))),
    conditional_modes = list(group_levels = rownames(ref[[1]]), values = modes)
  )
}

## ---------------------------------------------------------------- independent marginal likelihood
gh_rule <- function(nq) {
  if (nq == 1) return(list(z = 0, w = 1))
  J <- matrix(0, nq, nq)
  off <- sqrt(seq_len(nq - 1))
  J[cbind(1:(nq - 1), 2:nq)] <- off
  J[cbind(2:nq, 1:(nq - 1))] <- off
  e <- eigen(J, symmetric = TRUE)
  o <- order(e$values)
  list(z = e$values[o], w = (e$vectors[1, o])^2)
}

## model(d, P) must return list(f = fitted vector, J = n x p Jacobian wrt the parameters), where
## P is an n x p matrix of per-row parameter values (d may be the group's rows stacked several times).
## groups: list of per-group data frames with column y.
marginal_loglik <- function(beta, Psi, sigma, idx, groups, model, nq = 1, tol = 1e-12, return_modes = FALSE) {
  q <- length(idx); p <- length(beta)
  Psi <- as.matrix(Psi)
  Pinv <- solve(Psi)
  ldPsi <- as.numeric(determinant(Psi)$modulus)
  rule <- gh_rule(nq)
  Z <- as.matrix(expand.grid(rep(list(rule$z), q)))
  W <- apply(as.matrix(expand.grid(rep(list(rule$w), q))), 1, prod)
  K <- nrow(Z)
  ll <- 0
  modes <- matrix(NA_real_, length(groups), q)
  for (gi in seq_along(groups)) {
    d <- groups[[gi]]
    y <- d$y; n <- length(y)
    pred <- function(b) { phi <- beta; phi[idx] <- phi[idx] + b; model(d, matrix(phi, n, p, byrow = TRUE)) }
    S <- function(b, pr = pred(b)) sum((y - pr$f)^2) / sigma^2 + sum(b * (Pinv %*% b))
    b <- rep(0, q)
    for (it in 1:500) {
      pr <- pred(b)
      Jb <- pr$J[, idx, drop = FALSE]
      H <- crossprod(Jb) / sigma^2 + Pinv
      g <- crossprod(Jb, y - pr$f) / sigma^2 - Pinv %*% b
      step <- drop(solve(H, g))
      S0 <- S(b, pr)
      a <- 1
      repeat {
        bn <- b + a * step
        if (S(bn) <= S0 + 1e-14 * abs(S0) || a < 1e-12) break
        a <- a / 2
      }
      b <- bn
      if (max(abs(a * step)) < tol) break
    }
    pr <- pred(b)
    Jb <- pr$J[, idx, drop = FALSE]
    H <- crossprod(Jb) / sigma^2 + Pinv
    Shat <- S(b, pr)
    li <- -0.5 * (n * log(2 * pi * sigma^2) + ldPsi + as.numeric(determinant(H)$modulus) + Shat)
    if (nq > 1) {
      R <- chol(H)
      Bk <- t(b + backsolve(R, t(Z)))                       # K x q node positions
      PH <- matrix(beta, K, p, byrow = TRUE); PH[, idx] <- PH[, idx] + Bk
      fk <- model(d[rep(seq_len(n), K), , drop = FALSE], PH[rep(seq_len(K), each = n), , drop = FALSE])$f
      rss <- colSums(matrix((rep(y, K) - fk)^2, n, K))
      Sk <- rss / sigma^2 + rowSums((Bk %*% Pinv) * Bk)
      ex <- -(Sk - Shat) / 2 + rowSums(Z^2) / 2
      mx <- max(ex)
      li <- li + mx + log(sum(W * exp(ex - mx)))
    }
    ll <- ll + li
    modes[gi, ] <- b
  }
  if (return_modes) attr(ll, "modes") <- modes
  ll
}

## Exact marginal log-likelihood for a single scalar random effect by stats::integrate (QUADPACK),
## on the scale z = sqrt(H) (b - b_hat) (H Gauss-Newton); used to check the AGQ values.
marginal_loglik_integrate <- function(beta, psi, sigma, idx, groups, model, rel.tol = 1e-12) {
  stopifnot(length(idx) == 1)
  p <- length(beta)
  base <- marginal_loglik(beta, matrix(psi), sigma, idx, groups, model, nq = 1, return_modes = TRUE)
  modes <- attr(base, "modes")
  ll <- 0
  for (gi in seq_along(groups)) {
    d <- groups[[gi]]; y <- d$y; n <- length(y)
    ev <- function(b) { phi <- beta; phi[idx] <- phi[idx] + b; model(d, matrix(phi, n, p, byrow = TRUE)) }
    S <- function(b) sum((y - ev(b)$f)^2) / sigma^2 + b^2 / psi
    bh <- modes[gi, 1]
    H <- sum(ev(bh)$J[, idx]^2) / sigma^2 + 1 / psi
    Sh <- S(bh)
    integrand <- function(z) vapply(z, function(zz) exp(-(S(bh + zz / sqrt(H)) - Sh) / 2), 0)
    I <- integrate(integrand, -Inf, Inf, rel.tol = rel.tol, subdivisions = 1000L)$value
    ll <- ll - 0.5 * (n * log(2 * pi * sigma^2) + log(psi) + log(H) + Sh) + log(I / sqrt(2 * pi))
  }
  ll
}

## Maximise marginal_loglik over (beta, variance parameters, log sigma).
## Diagonal Psi: variance parameters are log SD of each random effect.
## full = TRUE: Psi = L L', L lower triangular, parameters log(diag L) then the below-diagonal
## elements of L column by column (log-Cholesky).
fit_marginal <- function(start_beta, start_sd, start_sigma, idx, groups, model, nq = 1, re_names, beta_names,
                         full = FALSE, nm_maxit = 4000) {
  p <- length(start_beta); q <- length(idx)
  nlow <- if (full) q * (q - 1) / 2 else 0
  unpack <- function(th) {
    L <- diag(exp(th[p + 1:q]), q)
    if (nlow) L[lower.tri(L)] <- th[p + q + seq_len(nlow)]
    list(beta = th[1:p], Psi = L %*% t(L), sigma = exp(th[p + q + nlow + 1]))
  }
  nll <- function(th) { u <- unpack(th); -marginal_loglik(u$beta, u$Psi, u$sigma, idx, groups, model, nq = nq) }
  th0 <- c(start_beta, log(start_sd), rep(0, nlow), log(start_sigma))
  o1 <- optim(th0, nll, method = "BFGS", control = list(reltol = 1e-15, maxit = 1000))
  o2 <- optim(o1$par, nll, method = "Nelder-Mead", control = list(reltol = 1e-16, maxit = nm_maxit))
  o3 <- optim(o2$par, nll, method = "BFGS", control = list(reltol = 1e-16, maxit = 1000))
  best <- list(o1, o2, o3)[[which.min(c(o1$value, o2$value, o3$value))]]
  Hs <- optimHess(best$par, nll)
  V <- tryCatch(solve(Hs), error = function(e) matrix(NA_real_, length(best$par), length(best$par)))
  low_names <- if (nlow) { ij <- which(lower.tri(diag(q)), arr.ind = TRUE); paste0("L_", re_names[ij[, 1]], "_", re_names[ij[, 2]]) } else character()
  nm <- c(beta_names, paste0(if (full) "log_Ldiag_" else "log_sd_", re_names), low_names, "log_sigma")
  dimnames(V) <- list(nm, nm)
  u <- unpack(best$par)
  sds <- sqrt(diag(u$Psi))
  ll <- -best$value
  k <- length(best$par)
  N <- sum(vapply(groups, nrow, 0L))
  dimnames(u$Psi) <- list(re_names, re_names)
  list(
    engine = "in-script (nlme_helpers.R::fit_marginal), stats::optim BFGS -> Nelder-Mead -> BFGS",
    method = if (nq == 1) "ML, Laplace approximation with Gauss-Newton Hessian (FOCE-I type)" else sprintf("ML, adaptive Gauss-Hermite quadrature, %d nodes per random-effect dimension (%d in all), Gauss-Newton scaling", nq, nq^q),
    random_structure = if (full) "general (log-Cholesky)" else "diagonal",
    fixed_effects = named(u$beta, beta_names),
    fixed_effects_se = named(sqrt(diag(V))[1:p], beta_names),
    fixed_effects_se_source = "inverse of the numerical Hessian (stats::optimHess) of -logLik in the optimisation parameters (see vcov_optim_scale): joint, not conditional on the variance parameters",
    random_effect_sd = named(sds, re_names),
    random_effect_var = named(sds^2, re_names),
    random_effect_cov = mat_list(u$Psi),
    random_effect_cor = if (q > 1) mat_list(cov2cor(u$Psi)) else NULL,
    residual_sd = u$sigma,
    residual_var = u$sigma^2,
    logLik = ll,
    logLik_df = k,
    AIC = -2 * ll + 2 * k,
    BIC = -2 * ll + log(N) * k,
    n_obs = N,
    n_groups = length(groups),
    optim_par = named(best$par, nm),
    vcov_optim_scale = mat_list(V),
    convergence = list(optim_convergence_codes = I(c(o1$convergence, o2$convergence, o3$convergence)),
                       optim_values = c(o1$value, o2$value, o3$value), inner_mode_tol = 1e-12)
  )
}

run_info <- function() {
  list(
    R_version = R.version.string,
    platform = R.version$platform,
    packages = list(nlme = as.character(packageVersion("nlme")),
                    lme4 = as.character(packageVersion("lme4")),
                    Matrix = as.character(packageVersion("Matrix")),
                    jsonlite = as.character(packageVersion("jsonlite"))),
    BLAS = extSoftVersion()[["BLAS"]],
    LAPACK = La_library(),
    date = format(Sys.time(), "%Y-%m-%d"),
    installed_from = "Debian 12 (bookworm) packages r-base-core, r-cran-nlme, r-cran-lme4, r-cran-jsonlite"
  )
}

write_json_pretty <- function(x, path) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"), path)
}
