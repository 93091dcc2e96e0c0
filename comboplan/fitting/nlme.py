r"""Population nonlinear mixed-effects estimation: the Laplace approximation (FOCE-I).

The engine is array-in, array-out and knows nothing about tumours: a *problem* is a
vectorised structural model ``predict(phi) -> f`` (individual parameters ``phi`` of shape
``(n_subjects, n_params)``, predictions of shape ``(n_subjects, n_obs)`` on the modelling
scale), padded observations with a mask, an optional left-censoring flag, a parameter model
and a residual-error model.  :func:`comboplan.fit_tgi` builds tumour-growth problems on it;
a test fits R's ``Theoph`` data with it.

**Parameter model.**  Parameter :math:`j` of subject :math:`i` is
:math:`\phi_{ij} = \theta_j e^{\eta_{ij}}` (``transform="log"``; log-normal between-subject
variability) or :math:`\theta_j + \eta_{ij}` (``"identity"``), with
:math:`\eta_i \sim N(0, \Omega)`, :math:`\Omega` diagonal, for the parameters declared random.

**Residual error** on the modelling scale (data passed as ``log(y)`` make ``"additive"`` a
proportional error on the natural scale): additive :math:`v = a^2`, proportional
:math:`v = (b f)^2`, combined :math:`v = a^2 + (b f)^2`.  A left-censored observation
(``y`` then holds the limit) contributes :math:`\Phi((y - f)/\sqrt v)` (Beal's M3).

**Objective.**  With :math:`g_i(\eta) = -\log p(y_i \mid \eta) - \log N(\eta; 0, \Omega)`,
the Laplace approximation of the marginal likelihood gives

.. math:: -2\log L \approx \sum_i \left[2 g_i(\hat\eta_i) + \log|H_i| - q\log 2\pi\right],

:math:`\hat\eta_i` the mode of :math:`g_i` and :math:`H_i = J_i^\top W_i J_i + \Omega^{-1}`
its Gauss-Newton (expected-information) Hessian, :math:`J_i = \partial f_i/\partial\eta`
and :math:`W_i` the Fisher information of each observation about its prediction
(:math:`1/v + \tfrac12 (v'/v)^2` for a measured value; :math:`\lambda(\lambda + z)\,(dz/df)^2`
with the inverse Mills ratio :math:`\lambda` for a censored one).  With the residual
variance evaluated at the individual prediction this is NONMEM's FOCE with interaction
(Beal & Sheiner; Wang 2007 J Pharmacokinet Pharmacodyn 34:575); for a model linear in
:math:`\eta` with additive error it is the exact marginal likelihood.

**REML.**  ``method="reml"`` adds :math:`\log|\sum_i X_i^\top V_i^{-1} X_i|` (the model
linearised at the modes: :math:`X_i = \partial f_i/\partial\theta`, :math:`V_i = J_i\Omega
J_i^\top + W_i^{-1}`), with the design :math:`X` held at the current estimates and iterated to a
fixed point, as in Lindstrom & Bates (1990) and R's ``nlme``: exact REML for a linear mixed
model, and no reward for typical values that make :math:`X` degenerate.

The modes are found for all subjects at once by damped Gauss-Newton with a structured secant
correction of its Hessian (Dennis, Gay & Welsch 1981; superlinear where plain Gauss-Newton is
linear), on exact Jacobians when the problem supplies ``predict_jac`` (e.g. forward
sensitivities of an ODE) and forward differences otherwise; the population parameters by
L-BFGS-B on central-difference gradients (each perturbed mode search warm-started from a
first-order prediction of its modes), the standard errors from the inverse of the numerical
Hessian of the objective (observed information; NONMEM's ``$COV MATRIX=R``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy import optimize, special

from ..exceptions import ConvergenceWarning, DataError

__all__ = ["NLMEProblem", "NLMEFit", "fit_nlme", "laplace_objective"]

_LOG2PI = math.log(2.0 * math.pi)
_REML_ROUNDS = 4   # fixed-point rounds of the restricted likelihood's design (see fit_nlme)
_SETTLE = 1e-18   # Newton decrement (nats) below which a mode search has converged (eta within ~1e-10)
ERROR_MODELS = ("additive", "proportional", "combined")


@dataclass(frozen=True)
class NLMEProblem:
    """A population model over padded per-subject observations.

    Parameters
    ----------
    predict : callable
        ``predict(phi) -> f``: ``phi`` of shape ``(n, p)`` (natural scale, columns in the
        order of ``names``; ``n`` may be a multiple of ``n_subjects``: the rows are subjects
        repeated, subject ``k % n_subjects``), ``f`` of shape ``(n, n_obs)`` on the modelling
        scale.
    y : ndarray (n_subjects, n_obs)
        Observations on the modelling scale (anything where ``mask`` is False).  For a
        censored entry, the censoring limit.
    mask : ndarray of bool (n_subjects, n_obs)
        Which entries are observations.
    names : sequence of str
        Parameter names.
    transform : sequence of {"log", "identity"}
        Scale on which ``theta`` is estimated and random effects act.
    random : sequence of bool
        Which parameters have a random effect.
    error : {"additive", "proportional", "combined"}
    censored : ndarray of bool (n_subjects, n_obs), optional
        Left-censored entries (``y`` is the limit).
    lower, upper : sequence of float, optional
        Bounds on ``theta`` (natural scale); default (0, inf) for log, (-inf, inf) for identity.
    predict_rows : callable, optional
        ``predict_rows(phi, subjects) -> f`` for any rows: ``subjects`` (int array, one per row
        of ``phi``) says whose design each row uses.  When given, the mode search evaluates only
        the subjects whose search is still moving (costly ODE models).
    predict_jac : callable, optional
        ``predict_jac(phi, subjects) -> (f, d)`` with ``d`` (rows, n_obs, p) the exact
        derivatives of ``f`` with respect to every column of ``phi`` (natural scale), e.g. from
        forward sensitivities of an ODE.  When given, the mode search and the Hessian of the
        modes use it instead of finite differences, and so does the restricted-likelihood term.
    """

    predict: Callable[[np.ndarray], np.ndarray]
    y: np.ndarray
    mask: np.ndarray
    names: tuple
    transform: tuple
    random: tuple
    error: str = "additive"
    censored: np.ndarray | None = None
    lower: tuple | None = None
    upper: tuple | None = None
    predict_rows: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    predict_jac: Callable[[np.ndarray, np.ndarray], tuple] | None = None

    def __post_init__(self) -> None:
        p = len(self.names)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "transform", tuple(self.transform))
        object.__setattr__(self, "random", tuple(bool(r) for r in self.random))
        if len(self.transform) != p or len(self.random) != p:
            raise DataError("names, transform and random must have one entry per parameter.")
        for tr in self.transform:
            if tr not in ("log", "identity"):
                raise DataError(f"transform must be 'log' or 'identity'; got {tr!r}.")
        if self.error not in ERROR_MODELS:
            raise DataError(f"error must be one of {', '.join(ERROR_MODELS)}; got {self.error!r}.")
        y = np.asarray(self.y, dtype=float)
        mask = np.asarray(self.mask, dtype=bool)
        if y.shape != mask.shape or y.ndim != 2:
            raise DataError("y and mask must be 2-D arrays of the same shape (subjects, observations).")
        cens = np.zeros_like(mask) if self.censored is None else (np.asarray(self.censored, dtype=bool) & mask)
        if np.any(~np.isfinite(y[mask])):
            raise DataError("observations (y where mask is True) must be finite.")
        object.__setattr__(self, "y", np.where(mask, y, 0.0))
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "censored", cens)
        lo = [(0.0 if t == "log" else -np.inf) for t in self.transform] if self.lower is None else list(self.lower)
        hi = [np.inf] * p if self.upper is None else list(self.upper)
        object.__setattr__(self, "lower", tuple(float(v) for v in lo))
        object.__setattr__(self, "upper", tuple(float(v) for v in hi))

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return self.y.shape[0]

    @property
    def random_index(self) -> np.ndarray:
        """Indices of the parameters with random effects."""
        return np.flatnonzero(self.random)

    @property
    def n_sigma(self) -> int:
        """Number of residual-error parameters."""
        return 2 if self.error == "combined" else 1

    def phi(self, theta: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Individual parameters (n, p) from ``theta`` (p,) and ``eta`` (n, q)."""
        n = eta.shape[0]
        phi = np.broadcast_to(np.asarray(theta, dtype=float), (n, len(self.names))).copy()
        for k, j in enumerate(self.random_index):
            if self.transform[j] == "log":
                phi[:, j] = phi[:, j] * np.exp(eta[:, k])
            else:
                phi[:, j] = phi[:, j] + eta[:, k]
        return phi


@dataclass(frozen=True)
class NLMEFit:
    """Raw result of :func:`fit_nlme` (arrays; the tumour-growth layer builds the tables).

    Attributes
    ----------
    theta : ndarray (p,)
        Typical values (natural scale).
    omega : ndarray (q,)
        Between-subject SDs of the random effects (log scale for log parameters).
    sigma : ndarray (1 or 2,)
        Residual-error parameters (``a``; ``b``; or ``a, b``).
    eta : ndarray (n_subjects, q)
        Conditional modes (empirical Bayes estimates).
    cov : ndarray (k, k)
        Covariance of the estimation vector ``x`` (log theta / theta, log omega, log sigma).
    x : ndarray (k,)
        Estimation vector at the optimum.
    ofv : float
        Objective, -2 log-likelihood (Laplace).
    converged : bool
    message : str
    n_eval : int
        Objective evaluations.
    on_bound : tuple of str
        Parameters whose estimate sits on a bound (their SE is not reported).
    """

    problem: NLMEProblem
    theta: np.ndarray
    omega: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    cov: np.ndarray
    x: np.ndarray
    ofv: float
    converged: bool
    message: str
    n_eval: int
    on_bound: tuple = ()
    labels: tuple = field(default_factory=tuple)
    eta_cov: np.ndarray | None = None
    n_fixed: int = 0
    method: str = "ml"

    @property
    def n_params(self) -> int:
        """Number of estimated parameters (theta, omega, sigma), those held fixed excluded."""
        return len(self.x) - self.n_fixed

    @property
    def aic(self) -> float:
        """Akaike information criterion, OFV + 2 k."""
        return self.ofv + 2 * self.n_params

    @property
    def se_x(self) -> np.ndarray:
        """Standard errors of the estimation vector (NaN where not estimable)."""
        d = np.diag(self.cov) if self.cov is not None else np.full(len(self.x), np.nan)
        with np.errstate(invalid="ignore"):
            return np.where(d > 0, np.sqrt(np.abs(d)), np.nan)


# ---------------------------------------------------------------------------
# objective pieces
# ---------------------------------------------------------------------------

def _variance(f, sigma, error):
    """Residual variance and dv/df on the modelling scale."""
    if error == "additive":
        return np.full_like(f, sigma[0] ** 2), np.zeros_like(f)
    if error == "proportional":
        return (sigma[0] * f) ** 2 + 1e-300, 2.0 * sigma[0] ** 2 * f
    return sigma[0] ** 2 + (sigma[1] * f) ** 2, 2.0 * sigma[1] ** 2 * f


def _obs_terms(y, f, mask, cens, sigma, error):
    """Per-observation negative log density, its derivative and information in f."""
    v, dv = _variance(f, sigma, error)
    u = y - f
    meas = mask & ~cens
    nll = np.where(meas, 0.5 * (_LOG2PI + np.log(v)) + 0.5 * u * u / v, 0.0)
    grad = np.where(meas, 0.5 * dv / v - u / v - 0.5 * u * u * dv / (v * v), 0.0)
    info = np.where(meas, 1.0 / v + 0.5 * (dv / v) ** 2, 0.0)
    if np.any(cens):
        s = np.sqrt(v)
        ds = 0.5 * dv / s
        z = np.where(cens, u / s, 0.0)
        logcdf = special.log_ndtr(z)
        lam = np.exp(-0.5 * z * z - 0.5 * _LOG2PI - logcdf)   # inverse Mills ratio phi/Phi
        dz = -(1.0 + z * ds) / s
        nll = nll + np.where(cens, -logcdf, 0.0)
        grad = grad + np.where(cens, -lam * dz, 0.0)
        info = info + np.where(cens, lam * (lam + z) * dz * dz, 0.0)
    return nll, grad, info


def _subject_nll(prob: NLMEProblem, f, sigma, eta, omega):
    """g_i(eta): negative log joint density per subject, shape (n,)."""
    nll, _, _ = _obs_terms(prob.y, f, prob.mask, prob.censored, sigma, prob.error)
    prior = 0.5 * np.sum((eta / omega) ** 2, axis=1) + np.sum(np.log(omega)) + 0.5 * len(omega) * _LOG2PI
    return nll.sum(axis=1) + prior


def _jacobian(prob: NLMEProblem, theta, eta, f0, h=1e-6, central=False):
    """Finite-difference df/deta, shape (n, n_obs, q), with one predict call for all columns.

    Forward differences inside the mode search; ``central=True`` (step 1e-5, error ~1e-10) for
    the Hessian whose log-determinant enters the objective."""
    n, q = eta.shape
    idx = np.arange(q)
    if central:
        h = 1e-5
        steps = np.repeat(eta[None], 2 * q, axis=0)      # (2q, n, q)
        steps[idx, :, idx] += h
        steps[q + idx, :, idx] -= h
        f = prob.predict(prob.phi(theta, steps.reshape(2 * q * n, q))).reshape(2 * q, n, -1)
        return np.moveaxis((f[:q] - f[q:]) / (2 * h), 0, -1)
    steps = np.repeat(eta[None], q, axis=0)          # (q, n, q)
    steps[idx, :, idx] += h
    f = prob.predict(prob.phi(theta, steps.reshape(q * n, q))).reshape(q, n, -1)
    return np.moveaxis((f - f0[None]) / h, 0, -1)


def _eta_jacobian(prob: NLMEProblem, theta, eta, idx):
    """f and the exact df/deta (rows, n_obs, q) of subjects ``idx`` from ``predict_jac``."""
    phi = prob.phi(theta, eta)
    ri = prob.random_index
    f, D = prob.predict_jac(phi, idx, columns=ri)
    scale = np.array([phi[:, j] if prob.transform[j] == "log" else np.ones(len(phi)) for j in ri]).T
    return f, D[..., ri] * scale[:, None, :]


def _sub_terms(prob, idx, f, sigma):
    """_obs_terms for the subjects ``idx`` (f of shape (len(idx), n_obs))."""
    return _obs_terms(prob.y[idx], f, prob.mask[idx], prob.censored[idx], sigma, prob.error)


def _sub_nll(prob, idx, f, sigma, eta, omega):
    nll, _, _ = _sub_terms(prob, idx, f, sigma)
    prior = 0.5 * np.sum((eta / omega) ** 2, axis=1) + np.sum(np.log(omega)) + 0.5 * len(omega) * _LOG2PI
    return nll.sum(axis=1) + prior


def _sub_predict(prob, theta, eta, idx, reps=1):
    """Predictions of subjects ``idx`` (eta rows: ``reps`` blocks of len(idx) rows)."""
    phi = prob.phi(theta, eta)
    if prob.predict_rows is not None:
        return prob.predict_rows(phi, np.tile(idx, reps))
    # full blocks only: embed the rows in complete copies of the population
    n = prob.n_subjects
    if idx.size == n and np.array_equal(idx, np.arange(n)):
        return prob.predict(phi)
    base = np.broadcast_to(np.asarray(theta, dtype=float), (n, len(prob.names)))
    full = np.repeat(base[None], reps, axis=0).copy()
    full[:, idx] = phi.reshape(reps, idx.size, -1)
    f = prob.predict(full.reshape(reps * n, -1)).reshape(reps, n, -1)
    return f[:, idx].reshape(reps * idx.size, -1)


def _modes(prob: NLMEProblem, theta, omega, sigma, eta0, max_iter=100, tol=1e-9, return_status=False,
           return_d=False, state=None):
    """Conditional modes of all subjects (damped Gauss-Newton with a secant correction), with
    J, f and H at the mode.

    With ``return_status`` a boolean array (n,) says which subjects' searches converged; with
    ``return_d`` the full df/dphi at the modes (from ``predict_jac``; None without it) follows.
    Subjects whose search has settled drop out of the iterations (only the moving ones are
    evaluated when the problem has ``predict_rows``).  ``state`` (a dict) carries the secant
    corrections from one search to the next (a search at nearby parameters starts with a
    nearly exact Hessian)."""
    eta = eta0.copy()
    n, q = eta.shape
    oinv = np.diag(1.0 / omega ** 2)
    exact = prob.predict_jac is not None
    all_rows = np.arange(n)
    if exact:
        # f and the exact Jacobian travel together: every accepted trial point brings its own
        f, Jcur = _eta_jacobian(prob, theta, eta, all_rows)
    else:
        f = prob.predict(prob.phi(theta, eta))
        Jcur = None
    g = _subject_nll(prob, f, sigma, eta, omega)
    active = np.ones(n, dtype=bool)
    kq = np.arange(q)
    # structured secant correction S_i of the Gauss-Newton Hessian (the neglected term
    # sum_o dg_o d2f_o/deta2), updated as in NL2SOL (Dennis, Gay & Welsch 1981): plain
    # Gauss-Newton converges only linearly (rate ~0.5 seen for animals with censored or few
    # informative observations); the secant term restores superlinear convergence.
    S0 = None if state is None else state.get("S")
    S = S0.copy() if (S0 is not None and S0.shape == (n, q, q)) else np.zeros((n, q, q))
    J_prev = np.zeros((n, f.shape[1], q))
    s_prev = np.zeros((n, q))
    grad_prev = np.zeros((n, q))
    have_prev = np.zeros(n, dtype=bool)
    for _ in range(max_iter):
        A = np.flatnonzero(active)
        m = A.size
        eA, fA, gA = eta[A], f[A], g[A]
        if exact:
            J = Jcur[A]
        else:
            steps = np.repeat(eA[None], q, axis=0)          # (q, m, q)
            steps[kq, :, kq] += 1e-6
            fj = _sub_predict(prob, theta, steps.reshape(q * m, q), A, reps=q).reshape(q, m, -1)
            J = np.moveaxis((fj - fA[None]) / 1e-6, 0, -1)
        _, dg, w = _sub_terms(prob, A, fA, sigma)
        grad = np.einsum("nok,no->nk", J, dg) + eA / omega ** 2
        HG = np.einsum("noi,no,noj->nij", J, w, J) + oinv
        upd = have_prev[A]
        if upd.any():
            S[A[upd]] = _secant_update(S[A[upd]], s_prev[A[upd]],
                                       np.einsum("nok,no->nk", J[upd] - J_prev[A[upd]], dg[upd]),
                                       grad[upd] - grad_prev[A[upd]])
        H = HG + S[A]
        try:
            step = -np.linalg.solve(H, grad[..., None])[..., 0]
            ok_dir = np.all(np.linalg.eigvalsh(H) > 0, axis=1) & np.all(np.isfinite(step), axis=1)
        except np.linalg.LinAlgError:
            ok_dir = np.zeros(m, dtype=bool)
            step = np.zeros_like(eA)
        if not ok_dir.all():   # an indefinite correction: back to Gauss-Newton for those subjects
            S[A[~ok_dir]] = 0.0
            step[~ok_dir] = -np.linalg.solve(HG[~ok_dir], grad[~ok_dir][..., None])[..., 0]
        J_prev[A] = J
        grad_prev[A] = grad
        # Newton decrement: a predicted decrease below _SETTLE is a converged search (a line
        # search could only chase rounding there)
        settled = np.einsum("nk,nk->n", grad, -step) < _SETTLE
        step[settled] = 0.0
        alpha = np.ones(m)
        new = eA + step
        if exact:
            fn, Jn = _eta_jacobian(prob, theta, new, A)
        else:
            fn = _sub_predict(prob, theta, new, A)
        gn = _sub_nll(prob, A, fn, sigma, new, omega)
        live = ~settled
        for _h in range(30):
            bad = ~(gn <= gA + 1e-12) & live
            if not bad.any():
                break
            alpha[bad] *= 0.5
            new = eA + alpha[:, None] * step
            fn = _sub_predict(prob, theta, new, A)
            gn = _sub_nll(prob, A, fn, sigma, new, omega)
        still_bad = ~(gn <= gA + 1e-12)
        new[still_bad] = eA[still_bad]
        fn[still_bad] = fA[still_bad]
        gn[still_bad] = gA[still_bad]
        moved = np.max(np.abs(new - eA), axis=1)
        s_prev[A] = new - eA
        have_prev[A] = moved > 0
        eta[A], f[A], g[A] = new, fn, gn
        if exact:
            took_full = (alpha == 1.0) & ~still_bad
            Jcur[A[took_full]] = Jn[took_full]
            redo = A[(alpha < 1.0) & ~still_bad]     # a shortened step: its Jacobian is computed anew
            if redo.size:
                f[redo], Jcur[redo] = _eta_jacobian(prob, theta, eta[redo], redo)
        # a search whose line search cannot improve has reached the attainable precision
        active[A] = (moved > tol) & ~still_bad & ~settled
        if not active.any():
            break
    if exact:
        J = Jcur
    else:
        J = _jacobian(prob, theta, eta, f, central=True)
    _, _, w = _obs_terms(prob.y, f, prob.mask, prob.censored, sigma, prob.error)
    H = np.einsum("noi,no,noj->nij", J, w, J) + oinv
    if state is not None and np.all(np.isfinite(S)):
        state["S"] = S
    D = None
    if return_d and exact:
        D = prob.predict_jac(prob.phi(theta, eta), all_rows)[1]
    return (eta, f, g, J, H) + ((~active,) if return_status else ()) + ((D,) if return_d else ())


def _secant_update(S, s, ysharp, y):
    """Dennis-Gay-Welsch update of the secant correction ``S`` (m, q, q) so that
    ``S s = y#`` (``y# = (J_new - J_old)' dg_new``), with NL2SOL's sizing of the old ``S``.

    ``s`` is the last step and ``y`` the change of the gradient over it; a pair with too little
    curvature (``y's`` not clearly positive) resets ``S`` to zero for that subject."""
    Ss = np.einsum("nij,nj->ni", S, s)
    sSs = np.einsum("ni,ni->n", s, Ss)
    ys = np.einsum("ni,ni->n", ysharp, s)
    # sizing (NL2SOL): shrink an S that overstates the curvature along s
    tau = np.where(np.abs(sSs) > 0, np.minimum(1.0, np.abs(ys) / np.where(sSs != 0, np.abs(sSs), 1.0)), 1.0)
    S = tau[:, None, None] * S
    Ss = tau[:, None] * Ss
    yts = np.einsum("ni,ni->n", y, s)
    good = yts > 1e-10 * np.sqrt(np.einsum("ni,ni->n", s, s) * np.einsum("ni,ni->n", y, y))
    r = ysharp - Ss
    den = np.where(good, yts, 1.0)
    new = (S + (np.einsum("ni,nj->nij", r, y) + np.einsum("ni,nj->nij", y, r)) / den[:, None, None]
           - (np.einsum("ni,ni->n", r, s) / den ** 2)[:, None, None] * np.einsum("ni,nj->nij", y, y))
    return np.where(good[:, None, None], new, 0.0)


def _robust_modes(prob, theta, omega, sigma, eta0, return_d=False, state=None):
    """Modes from a warm start; subjects whose search did not settle are restarted from 0 and
    the lower of the two solutions is kept, so that the objective is a function of the
    parameters only (not of the optimiser's path).  ``return_d`` appends df/dphi at the modes
    (None without ``predict_jac``)."""
    eta, f, g, J, H, ok, D = _modes(prob, theta, omega, sigma, eta0, return_status=True, return_d=True,
                                    state=state)
    ok &= np.isfinite(g)
    if not (ok.all() or not np.any(eta0)):
        e2, f2, g2, J2, H2, ok2, D2 = _modes(prob, theta, omega, sigma, np.zeros_like(eta0), max_iter=300,
                                             return_status=True, return_d=True)
        better = (~ok) & np.isfinite(g2) & ((g2 < g) | ~np.isfinite(g))
        if better.any():
            eta, f, g, J, H = (np.where(better[:, None], e2, eta), np.where(better[:, None], f2, f),
                               np.where(better, g2, g), np.where(better[:, None, None], J2, J),
                               np.where(better[:, None, None], H2, H))
            if D is not None:
                D = np.where(better[:, None, None], D2, D)
    return (eta, f, g, J, H, D) if return_d else (eta, f, g, J, H)


class _Objective:
    """-2 log L (Laplace) as a function of the estimation vector, with warm-started modes."""

    def __init__(self, prob: NLMEProblem, fixed_mask: np.ndarray, x_fixed: np.ndarray, reml: bool = False):
        self.prob = prob
        self.reml = reml
        self.p = len(prob.names)
        self.q = len(prob.random_index)
        self.fixed_mask = fixed_mask
        self.x_fixed = x_fixed
        self.eta = np.zeros((prob.n_subjects, self.q))
        self.eta_slope = None   # d eta / d x from the last central-difference gradient
        self.state = {}         # secant corrections of the mode searches, carried between calls
        self.X_ref = None       # fixed-effects design held fixed in the restricted likelihood
        self.x_exclude = np.zeros(self.p, dtype=bool)   # typical values left out of that design
        self.n_eval = 0

    def unpack(self, x):
        """theta, omega, sigma from the full estimation vector."""
        p, q = self.p, self.q
        log = np.array([tr == "log" for tr in self.prob.transform])
        with np.errstate(over="ignore"):   # a trial point far out gives inf (rejected), not an exception
            th = np.where(log, np.exp(np.where(log, x[:p], 0.0)), x[:p])
            return th, np.exp(x[p:p + q]), np.exp(x[p + q:])

    def full(self, xf):
        """Full vector from the free components."""
        x = self.x_fixed.copy()
        x[~self.fixed_mask] = xf
        return x

    def __call__(self, xf, keep=False):
        self.n_eval += 1
        th, om, sg = self.unpack(self.full(xf))
        if not (np.all(np.isfinite(th)) and np.all(np.isfinite(om)) and np.all(np.isfinite(sg))):
            return np.inf
        with np.errstate(all="ignore"):
            try:
                need_d = self.reml and self.X_ref is None
                eta, f, g, J, H, D = _robust_modes(self.prob, th, om, sg, self.eta, return_d=need_d,
                                                   state=self.state) + (() if need_d else (None,))
            except np.linalg.LinAlgError:
                return np.inf
            sign, logdet = np.linalg.slogdet(H)
        if not (np.all(np.isfinite(g)) and np.all(sign > 0)):
            return np.inf
        val = float(np.sum(2.0 * g + logdet - self.q * _LOG2PI))
        if self.reml and np.isfinite(val):
            with np.errstate(all="ignore"):
                try:
                    val += self._reml_term(self.full(xf), th, om, sg, eta, f, J, D)
                except np.linalg.LinAlgError:   # a degenerate point: not a crash of the whole fit
                    return np.inf
        if np.isfinite(val) and np.all(np.isfinite(eta)):
            self.eta = eta
        return val

    def design_at(self, xf):
        """The fixed-effects design X (df/d typical values at the modes) at the free vector
        ``xf``, for holding it fixed in the restricted likelihood (``X_ref``); None where the
        objective cannot be evaluated."""
        th, om, sg = self.unpack(self.full(xf))
        with np.errstate(all="ignore"):
            try:
                eta, f, g, J, H, D = _robust_modes(self.prob, th, om, sg, self.eta, return_d=True, state=self.state)
                X = self._design(self.full(xf), th, eta, f, D)
            except np.linalg.LinAlgError:
                return None
        return X if (X is not None and np.all(np.isfinite(X))) else None

    def _design(self, x, th, eta, f, D=None):
        """X = d f / d(free typical values) at the modes (n, n_obs, k); None when none is free."""
        prob = self.prob
        free = np.flatnonzero(~self.fixed_mask[:self.p] & ~self.x_exclude)
        if free.size == 0:
            return None
        # derivatives with respect to the scale on which each typical value enters linearly: log
        # theta for parameters with a log-normal random effect, else theta itself (a flat prior
        # there), so that log|X'V^-1 X| has no Jacobian term pulling a log-scale potency towards 0
        h = 1e-6
        th0 = self.unpack(self.x_fixed)[0]
        X = np.empty(f.shape + (free.size,))
        if D is not None:
            phi = prob.phi(th, eta)
        for c, j in enumerate(free):
            if D is not None:
                # d f / d log(theta) = phi d f / d phi for a log-normal random effect, else d f / d theta
                X[..., c] = D[..., j] * (phi[:, j][:, None] if (prob.transform[j] == "log" and prob.random[j])
                                         else 1.0)
                continue
            if prob.transform[j] == "log" and prob.random[j]:
                # a log-normal random effect makes log(theta) the parameter the model is linear in
                xx = x.copy()
                xx[j] += h
                th2, step = self.unpack(xx)[0], h
            else:
                th2 = th.copy()
                step = h * (abs(th0[j]) if th0[j] != 0 else 1.0)
                th2[j] += step
            X[..., c] = (prob.predict(prob.phi(th2, eta)) - f) / step
        return X

    def _reml_term(self, x, th, om, sg, eta, f, J, D=None):
        """log|sum_i X_i' V_i^-1 X_i| - k log 2 pi: the restricted-likelihood correction of the
        model linearised at the modes (X = df/d(free typical values), V = J Omega J' + W^-1), as
        REML in a linear mixed model (Patterson & Thompson 1971).  With ``X_ref`` set, X is held
        at that design (Lindstrom & Bates 1990: the restricted likelihood of the linearised model
        with its design treated as known), so that the typical values cannot gain restricted
        likelihood by making the design degenerate (e.g. a transit rate k1 -> 0 that removes the
        effect of every potency: log|X'V^-1 X| -> -inf)."""
        X = self.X_ref if self.X_ref is not None else self._design(x, th, eta, f, D)
        if X is None:
            return 0.0
        prob = self.prob
        k = X.shape[-1]
        _, _, w = _obs_terms(prob.y, f, prob.mask, prob.censored, sg, prob.error)
        w = np.where(prob.mask, w, 0.0)   # padding carries no information
        # V^-1 = W - W J H^-1 J' W with H = Omega^-1 + J' W J (Woodbury): no n_obs x n_obs inverse, and
        # observations without information (padding, w = 0) drop out exactly
        WX = w[:, :, None] * X
        WJ = w[:, :, None] * J
        H = np.einsum("noi,noj->nij", J, WJ) + np.diag(1.0 / om ** 2)[None]
        JWX = np.einsum("noi,noa->nia", J, WX)
        try:
            HiJWX = np.linalg.solve(H, JWX)
        except np.linalg.LinAlgError:
            return np.inf
        A = np.einsum("noa,nob->ab", X, WX) - np.einsum("nia,nib->ab", JWX, HiJWX)
        sign, ld = np.linalg.slogdet(A)
        return float(ld - k * _LOG2PI) if (sign > 0 and np.isfinite(ld)) else np.inf


def laplace_objective(problem: NLMEProblem, theta, omega, sigma, eta0=None):
    """-2 log-likelihood (Laplace / FOCE-I) at given population parameters.

    Parameters
    ----------
    problem : NLMEProblem
    theta : array (p,)
        Typical values (natural scale).
    omega : array (q,)
        Random-effect SDs.
    sigma : array
        Residual-error parameters.
    eta0 : array (n_subjects, q), optional
        Starting modes.

    Returns
    -------
    (ofv, eta) : float, ndarray
        Objective and conditional modes.
    """
    q = len(problem.random_index)
    eta0 = np.zeros((problem.n_subjects, q)) if eta0 is None else np.asarray(eta0, dtype=float)
    eta, f, g, J, H = _modes(problem, np.asarray(theta, float), np.asarray(omega, float), np.asarray(sigma, float),
                             eta0)
    logdet = np.linalg.slogdet(H)[1]
    return float(np.sum(2.0 * g + logdet - q * _LOG2PI)), eta


def _grad(fun, x, h, obj=None, skip=None):
    """Central-difference gradient.  With the objective ``obj`` (an :class:`_Objective`
    evaluated at ``x`` last), every mode search starts from the modes at ``x`` (for ``x + h``)
    or from their linear extrapolation ``2 eta(x) - eta(x + h)`` (for ``x - h``, a start
    within O(h^2) of the answer), so that each needs one or two Gauss-Newton steps."""
    g = np.empty_like(x)
    eta_c = None if obj is None else obj.eta.copy()
    # d eta / d x_k from the previous gradient (it changes slowly from one outer iteration to
    # the next): predicts the modes at x + h e_k to within O(h |dx|)
    slope = None if obj is None else obj.eta_slope
    if slope is not None and slope.shape != eta_c.shape + (len(x),):
        slope = None
    new_slope = None if obj is None else np.zeros(eta_c.shape + (len(x),))
    for k in range(len(x)):
        if skip is not None and skip[k]:   # a coordinate held on its bound: no derivative needed
            g[k] = 0.0
            continue
        e = np.zeros_like(x)
        e[k] = h[k]
        if obj is not None:
            obj.eta = eta_c + (h[k] * slope[..., k] if slope is not None else 0.0)
        fp = fun(x + e)
        if obj is not None:
            eta_p = obj.eta
            obj.eta = 2.0 * eta_c - eta_p
        fm = fun(x - e)
        if obj is not None:
            new_slope[..., k] = (eta_p - obj.eta) / (2.0 * h[k])
        g[k] = (fp - fm) / (2.0 * h[k])
    if obj is not None:
        obj.eta = eta_c
        obj.eta_slope = new_slope if np.all(np.isfinite(new_slope)) else None
    return g


def _hessian(fun, x, h):
    """Central second differences of a scalar function."""
    k = len(x)
    H = np.empty((k, k))
    f0 = fun(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        fp, fm = fun(x + ei), fun(x - ei)
        H[i, i] = (fp - 2 * f0 + fm) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (
                4 * h[i] * h[j])
    return H


def fit_nlme(problem: NLMEProblem, theta0: Sequence[float], omega0: Sequence[float], sigma0: Sequence[float], *,
             fixed: dict | None = None, omega_bounds=(1e-3, 5.0), max_iter: int = 500, tol: float = 1e-7,
             compute_se: bool = True, method: str = "ml") -> NLMEFit:
    """Maximise the Laplace (FOCE-I) likelihood of a population model.

    Parameters
    ----------
    problem : NLMEProblem
    theta0 : sequence of float
        Starting typical values (natural scale), one per parameter.
    omega0 : sequence of float
        Starting random-effect SDs (log scale for log parameters), one per random parameter.
    sigma0 : sequence of float
        Starting residual-error parameters.
    fixed : dict, optional
        ``{name: value}`` typical values held fixed (not estimated).
    omega_bounds : (float, float)
        Bounds on each random-effect SD; an estimate on the lower bound means no detectable
        between-subject variability (reported in ``on_bound``).
    max_iter : int
        L-BFGS-B iterations.
    tol : float
        Relative tolerance on the objective (``ftol``) and gradient.
    compute_se : bool
        Compute the covariance of the estimates (numerical Hessian of the objective).
    method : {"ml", "reml"}
        Maximum likelihood, or the restricted likelihood of the model linearised at the modes
        (adds ``log|sum X' V^-1 X|``; reduces the downward bias of the random-effect SDs in
        small studies; exact REML for a linear mixed model).  The objective value reported is
        the one maximised.

    Returns
    -------
    NLMEFit
    """
    if method not in ("ml", "reml"):
        raise DataError(f"method must be 'ml' or 'reml'; got {method!r}.")
    p = len(problem.names)
    q = len(problem.random_index)
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.shape != (p,):
        raise DataError(f"theta0 needs {p} values ({', '.join(problem.names)}); got {theta0.shape}.")
    if len(omega0) != q:
        raise DataError(f"omega0 needs {q} values (one per random effect); got {len(omega0)}.")
    if len(sigma0) != problem.n_sigma:
        raise DataError(f"sigma0 needs {problem.n_sigma} value(s) for a {problem.error} error model.")
    fixed = dict(fixed or {})
    for k in fixed:
        if k not in problem.names:
            raise DataError(f"fixed parameter {k!r} is not a model parameter ({', '.join(problem.names)}).")
    th0 = np.array([fixed.get(nm, v) for nm, v in zip(problem.names, theta0)])
    for j, (nm, tr) in enumerate(zip(problem.names, problem.transform)):
        if tr == "log" and not th0[j] > 0:
            raise DataError(f"starting value of {nm!r} must be > 0 (it is estimated on the log scale).")
    x0 = np.concatenate([
        [math.log(v) if tr == "log" else v for v, tr in zip(th0, problem.transform)],
        np.log(np.asarray(omega0, float)), np.log(np.asarray(sigma0, float))])
    fixed_mask = np.zeros(len(x0), dtype=bool)
    for j, nm in enumerate(problem.names):
        fixed_mask[j] = nm in fixed
    lo = [(math.log(max(v, 1e-300)) if tr == "log" else v) for v, tr in zip(problem.lower, problem.transform)]
    hi = [(math.log(v) if (tr == "log" and np.isfinite(v)) else v) for v, tr in zip(problem.upper, problem.transform)]
    lo = [(-np.inf if (tr == "log" and v <= -690) else v) for v, tr in zip(lo, problem.transform)]
    lo += [math.log(omega_bounds[0])] * q + [-20.0] * problem.n_sigma
    hi += [math.log(omega_bounds[1])] * q + [10.0] * problem.n_sigma
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    x0 = np.clip(x0, lo + 1e-9 * (np.isfinite(lo)), hi - 1e-9 * (np.isfinite(hi)))
    obj = _Objective(problem, fixed_mask, x0.copy(), reml=method == "reml")
    free = ~fixed_mask
    xf0 = x0[free]
    bounds = list(zip(np.where(np.isfinite(lo[free]), lo[free], None), np.where(np.isfinite(hi[free]), hi[free], None)))
    hstep = 1e-4 * np.maximum(1.0, np.abs(xf0))
    f_start = obj(xf0, keep=True)
    if not np.isfinite(f_start):
        raise DataError("the population model cannot be evaluated at the starting values (objective not finite); "
                        "check the starting values and the data scale.")

    # a point where the objective cannot be evaluated (a mode search that fails, an exposure that
    # overflows) gets a large finite value and a zero gradient, so that L-BFGS-B's line search
    # backtracks instead of carrying inf/NaN into its iterate
    big = 1e10 + abs(f_start)

    pinned = np.zeros(int(free.sum()), dtype=bool)   # free coordinates held on a bound (REML stage)

    def fun_and_grad(xf):
        xf_c = np.where(pinned, xf, np.clip(xf, lo[free] + hstep, hi[free] - hstep))
        val = obj(xf)
        eta_keep = obj.eta.copy()
        if np.array_equal(xf_c, xf):
            gr = _grad(obj, xf_c, hstep, obj, skip=pinned)
        else:
            gr = _grad(obj, xf_c, hstep, skip=pinned)
        obj.eta = eta_keep
        if not np.isfinite(val):
            return big, np.zeros_like(gr)
        return val, np.where(np.isfinite(gr), gr, 0.0)

    def search(start):
        obj.eta_slope = None
        bnds = [(start[k], start[k]) if pinned[k] else b for k, b in enumerate(bounds)]
        return optimize.minimize(fun_and_grad, start, jac=True, method="L-BFGS-B", bounds=bnds,
                                 options={"maxiter": max_iter, "ftol": tol * 1e-2, "gtol": tol * 10, "maxcor": 20})

    if method == "reml":
        # Lindstrom & Bates (1990): the restricted likelihood of the model linearised with its
        # fixed-effects design X held at the current estimates, iterated to a fixed point (X at
        # the estimates it gives); the reported objective is then the restricted likelihood
        # with X at the estimates
        xf = xf0
        res = None
        # a typical value that starts on a bound (e.g. k1 on K1_MAX at the ML optimum) is not
        # estimated by the restricted likelihood: its design column (~0 in a flat direction)
        # would only add noise to log|X'V^-1 X|
        xs = obj.full(xf0)[:p]
        obj.x_exclude = ~fixed_mask[:p] & ((np.isfinite(lo[:p]) & (xs <= lo[:p] + 1e-6))
                                           | (np.isfinite(hi[:p]) & (xs >= hi[:p] - 1e-6)))
        # ... and it stays there (pinned), with its start moved exactly onto the bound
        ex = np.concatenate([obj.x_exclude, np.zeros(len(x0) - p, dtype=bool)])[free]
        pinned[:] = ex
        xf0 = np.where(ex, np.where(xf0 - lo[free] < hi[free] - xf0, lo[free], hi[free]), xf0)
        for _round in range(_REML_ROUNDS):
            X = obj.design_at(xf)
            if X is None:
                break
            obj.X_ref = X
            obj(xf)          # the modes at the new design's start
            res = search(xf)
            step = np.max(np.abs(res.x - xf) / np.maximum(1.0, np.abs(xf)))
            xf = res.x
            if step < 1e-4:
                break
        obj.X_ref = obj.design_at(xf)
        if res is None:
            obj.X_ref = None
            res = search(xf0)
    else:
        res = search(xf0)
    xf = res.x
    ofv = obj(xf, keep=True)
    message = str(res.message)
    converged = bool(res.success)
    left_region = not (np.all(np.isfinite(xf)) and np.isfinite(ofv))
    if left_region:
        # never hand back a non-finite estimate as converged: return the start, flagged
        xf = xf0.copy()
        ofv = obj(xf, keep=True)
        converged = False
        message += "; the search left the region where the objective is finite: estimates are the starting values"
    x = obj.full(xf)
    th, om, sg = obj.unpack(x)
    # which estimates sit on a bound
    at_lo = np.isfinite(lo) & (x <= lo + 1e-6)
    at_hi = np.isfinite(hi) & (x >= hi - 1e-6)
    labels = (list(problem.names) + [f"omega.{problem.names[j]}" for j in problem.random_index]
              + (["sigma.add", "sigma.prop"] if problem.error == "combined"
                 else ["sigma.add" if problem.error == "additive" else "sigma.prop"]))
    on_bound = tuple(labels[k] for k in np.flatnonzero((at_lo | at_hi) & free))
    cov = np.full((len(x), len(x)), np.nan)
    if compute_se and not left_region:
        est = free & ~(at_lo | at_hi)
        if est.any():
            xe = x[est]
            he = 1e-3 * np.maximum(1.0, np.abs(xe))
            eta_keep = obj.eta.copy()

            def sub(v):
                xx = x.copy()
                xx[est] = v
                return obj(xx[free])
            Hm = _hessian(sub, xe, he)
            obj.eta = eta_keep
            Hm = 0.5 * (Hm + Hm.T)
            keep = np.ones(len(xe), dtype=bool)
            dropped = []
            # a parameter the data do not inform (flat direction: a potency driven to 0, an interaction
            # whose agents never overlap) makes the Hessian singular: set it aside, report it as not
            # estimable, and compute the covariance of the others conditional on it
            for _ in range(len(xe)):
                sub_h = Hm[np.ix_(keep, keep)]
                if not keep.any():
                    break
                if not np.all(np.isfinite(sub_h)):
                    dropped = [labels[j] for j in np.flatnonzero(est)]
                    keep[:] = False
                    break
                ev, vec = np.linalg.eigh(sub_h)
                if np.all(ev > 1e-6 * max(1.0, float(np.max(np.abs(ev))))):
                    break
                # the parameter that dominates the flattest direction
                k = int(np.flatnonzero(keep)[int(np.argmax(np.abs(vec[:, 0])))])
                keep[k] = False
                dropped.append(labels[np.flatnonzero(est)[k]])
            if keep.any() and len(dropped) < len(xe):
                idx = np.flatnonzero(est)[keep]
                try:
                    ce = 2.0 * np.linalg.inv(Hm[np.ix_(keep, keep)])   # OFV = -2 log L
                    cov[np.ix_(idx, idx)] = 0.5 * (ce + ce.T)
                except np.linalg.LinAlgError:
                    dropped = [labels[j] for j in np.flatnonzero(est)]
            if dropped:
                message += (f"; covariance step: {', '.join(dropped)} not estimable (flat or singular objective "
                            "direction); the other standard errors are conditional on them")
    if not converged:
        warnings.warn(f"population fit did not converge: {message}", ConvergenceWarning, stacklevel=2)
    # conditional covariance of the modes (for shrinkage-aware diagnostics and draws)
    with np.errstate(all="ignore"):
        eta, f, g, J, H = _robust_modes(problem, th, om, sg, obj.eta)
    try:
        eta_cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        eta_cov = None
    return NLMEFit(problem=problem, theta=th, omega=om, sigma=sg, eta=eta, cov=cov, x=x, ofv=float(ofv),
                   converged=converged, message=message, n_eval=obj.n_eval, on_bound=on_bound, labels=tuple(labels),
                   eta_cov=eta_cov, n_fixed=int(fixed_mask.sum()), method=method)
