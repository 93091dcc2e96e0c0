r"""Bayesian estimator of the population PK/PD tumour-growth-inhibition (TGI) model of ``fit_tgi``.

:func:`fit_tgi_bayes` fits the model of :func:`comboplan.fit_tgi` (same design, same
equations, same parameter names and units) by Hamiltonian Monte Carlo instead of the
Laplace / FOCE-I approximation.  For animal *i* and observation *j* (time in days from the
first dose):

.. math::

    \log w_{ij} = \log w_{0,i} + \lambda_i t_{ij} - \sum_a k_{a,i}\,\mathrm{AUC}_{a,ij}
                  - \gamma\sqrt{k_{A,i} k_{B,i}}\,S_{AB,ij}

with the exposure integrals of :func:`comboplan.growth.tgi.tgi_design` (PK held fixed),
log-normal random effects ``p_i = p exp(omega_p z_ip)``, ``z_ip ~ N(0, 1)`` (non-centred) on
the parameters in ``random``, additive error on log size ``log y_ij ~ N(log w_ij, sigma^2)``
and left-censoring below the LLOQ through the normal log-CDF (M3).  ``gamma = 0`` is Bliss
independence, ``gamma > 0`` synergy; ``gamma >= -2`` keeps the hazard non-negative.

Priors (``settings["priors"]`` and ``summary()`` print them with the values used):

* ``log w0 ~ N(log w0_hat, 1)``: ``w0_hat`` = median first recorded size (size unit);
* ``log lambda0 ~ N(log lambda0_hat, 1)``: ``lambda0_hat`` = median per-animal log-linear slope
  of the least-treated animals (1/day; 0.1 when not positive);
* ``log potency.<a> ~ N(log k_hat_a, 2)``: ``k_hat_a`` = the potency that would remove 30 % of
  ``lambda0_hat`` x study length of log-scale growth at the largest observed AUC of agent *a*;
* ``interaction.gamma ~ N(0, interaction_prior_sd)`` truncated to ``gamma >= -2``;
* ``omega.<p> ~ HalfNormal(0.5)`` (log-scale SD) and ``sigma.add ~ HalfNormal(0.5)`` (log-scale SD).

The data-driven centres are the starting values of ``fit_tgi`` (``comboplan.growth.tgi._initial``).

Sampling uses nutpie on a hand-written numba log density and gradient (compiled once per
machine and cached by numba; the data are arguments, so a new data set needs no
compilation), equal to the PyMC model of :func:`build_tgi_model` (``tests/test_tgi_bayes.py``
checks value and gradient at random points).  If nutpie fails, the PyMC model is sampled with
PyMC's NUTS.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ...exceptions import DataError
from ...growth.tgi import _PlanningInterface
from .sampling import KernelModel, build_once, kernel_callbacks, pack_buffer

__all__ = ["fit_tgi_bayes", "TGIBayesFit", "build_tgi_model", "FastTGIModel", "prepare_tgi"]

_LOG2PI = math.log(2.0 * math.pi)
_SD_LOG_W0 = 1.0
_SD_LOG_LAMBDA0 = 1.0
_SD_LOG_POTENCY = 2.0
_HS_OMEGA = 0.5
_HS_SIGMA = 0.5


# ---------------------------------------------------------------------------
# data preparation (validation as in comboplan.growth.tgi.fit_tgi)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TGIArrays:
    """Everything the density needs, flattened over the observations.

    Attributes
    ----------
    names : list of str
        Typical-value names: ``w0, lambda0, potency.<agent>...`` (and ``interaction.gamma``).
    agents : list of str
    use_int : bool
        Whether ``interaction.gamma`` is estimated (first two agents).
    random : tuple of str
        Parameters with a random effect, in the order of ``omega``.
    rcol : ndarray (P,)
        Column of each log typical value's random effect in ``z`` (-1: none).
    subj, t, y, cens : ndarray (n_obs,)
        Animal index, day, log size (log LLOQ where censored), censored flag.
    auc : ndarray (n_obs, n_agents)
        AUC of every agent at each observation (exposure unit x day).
    cross : ndarray (n_obs,)
        Interaction integral ``S_AB`` (0 without interaction).
    prior_mu, prior_sd : ndarray (P,)
        Normal prior of the log typical values (``w0, lambda0, potency...``).
    gamma_sd, hs_omega, hs_sigma : float
        Prior scales.
    """

    names: list
    agents: list
    use_int: bool
    random: tuple
    rcol: np.ndarray
    subj: np.ndarray
    t: np.ndarray
    y: np.ndarray
    cens: np.ndarray
    auc: np.ndarray
    cross: np.ndarray
    prior_mu: np.ndarray
    prior_sd: np.ndarray
    gamma_sd: float
    hs_omega: float
    hs_sigma: float
    n_subjects: int
    centres: dict
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def n_log(self) -> int:
        """Number of log-scale typical values (w0, lambda0, potencies)."""
        return len(self.prior_mu)

    @property
    def q(self) -> int:
        """Number of random effects."""
        return len(self.random)


def prepare_tgi(data, *, subject, arm, time, size, treatments=None, dosing=None, dosing_columns=None, pk=None,
                body_weight=None, kind="volume", size_unit=None, lloq=None, censored=None, dropout=None,
                interaction=True, random=("w0", "lambda0"), error="log", interaction_prior_sd=1.0,
                ci_level=0.9):
    """Validate the inputs and build the design arrays of :func:`fit_tgi_bayes`.

    Parameters are those of :func:`fit_tgi_bayes`.

    Returns
    -------
    TGIArrays
        ``extra`` holds the validated ``GrowthData``, the ``tgi_design`` dict, the treatments,
        PK, pair and the observation positions ``(si, ji)`` in the design's (subject, obs) grid.
    """
    from ...growth.tgi import _initial, validated_design

    if not (isinstance(ci_level, float | int) and 0 < ci_level < 1):
        raise DataError(f"ci_level must lie strictly between 0 and 1 (e.g. 0.9); got {ci_level!r}.")
    if error != "log":
        raise DataError(f"the Bayesian TGI fit supports error='log' only (additive on log size, i.e. "
                        f"proportional on the natural scale); got {error!r}. Use comboplan.fit_tgi for "
                        "natural-scale error models.")
    if not (isinstance(interaction_prior_sd, float | int) and math.isfinite(interaction_prior_sd)
            and interaction_prior_sd > 0):
        raise DataError(f"interaction_prior_sd must be a positive number (the prior SD of gamma, e.g. 1.0); "
                        f"got {interaction_prior_sd!r}.")
    v = validated_design(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments,
                         dosing=dosing, dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind,
                         size_unit=size_unit, lloq=lloq, censored=censored, dropout=dropout, interaction=interaction,
                         random=random)
    gd, d, agents, pair, use_int = v["gd"], v["design"], v["agents"], v["pair"], v["use_int"]
    cens, ysz, names, random, pk, treatments = v["cens"], v["ysz"], v["names"], v["random"], v["pk"], v["treatments"]
    ylog = np.where(d["mask"], np.log(np.where(d["mask"], ysz, 1.0)), 0.0)
    init = _initial(gd, d, names, agents, use_int, True)
    log_names = names[:2 + len(agents)]
    mu = np.array([math.log(init[nm]) for nm in log_names])
    sd = np.array([_SD_LOG_W0, _SD_LOG_LAMBDA0] + [_SD_LOG_POTENCY] * len(agents))
    rcol = np.array([random.index(nm) if nm in random else -1 for nm in log_names], dtype=np.int64)
    si, ji = np.nonzero(d["mask"])
    auc = np.column_stack([d["auc"][a][si, ji] for a in agents]) if agents else np.zeros((len(si), 0))
    cross = d["cross"][si, ji] if use_int else np.zeros(len(si))
    extra = {"gd": gd, "design": d, "treatments": dict(treatments), "pk": pk, "pair": pair if use_int else None,
             "si": si, "ji": ji}
    return TGIArrays(names=names, agents=list(agents), use_int=use_int, random=random, rcol=rcol,
                     subj=si.astype(np.int64), t=d["t"][si, ji].astype(float), y=ylog[si, ji].astype(float),
                     cens=cens[si, ji].astype(bool), auc=np.ascontiguousarray(auc, dtype=float),
                     cross=np.ascontiguousarray(cross, dtype=float), prior_mu=mu, prior_sd=sd,
                     gamma_sd=float(interaction_prior_sd), hs_omega=_HS_OMEGA, hs_sigma=_HS_SIGMA,
                     n_subjects=int(gd.n_subjects), centres={nm: float(init[nm]) for nm in log_names}, extra=extra)


def _prior_rows(a: TGIArrays, units: Mapping[str, str]) -> list[dict]:
    rows = []
    for nm, m, s in zip(a.names, a.prior_mu, a.prior_sd):
        rows.append({"parameter": nm, "prior": f"log {nm} ~ Normal({m:.4g}, {s:g})",
                     "centre": f"{math.exp(m):.4g} {units.get(nm, '')}".strip(),
                     "why": {"w0": "median first recorded size",
                             "lambda0": "median log-linear slope of the least-treated animals"}.get(
                                 nm, "removes 30 % of the untreated log-growth at the largest AUC")})
    if a.use_int:
        rows.append({"parameter": "interaction.gamma", "prior": f"interaction.gamma ~ Normal(0, {a.gamma_sd:g}) truncated to >= -2",
                     "centre": "0 (Bliss independence)", "why": "shrinks towards Bliss unless the data inform it"})
    for r in a.random:
        rows.append({"parameter": f"omega.{r}", "prior": f"omega.{r} ~ HalfNormal({a.hs_omega:g})", "centre": "",
                     "why": "between-animal SD of log " + r})
    rows.append({"parameter": "sigma.add", "prior": f"sigma.add ~ HalfNormal({a.hs_sigma:g})", "centre": "",
                 "why": "residual SD of log size"})
    return rows


# ---------------------------------------------------------------------------
# the log density: numba kernel (nutpie) and the PyMC model (reference, fallback)
# ---------------------------------------------------------------------------
#
# Unconstrained vector x: [log typical (P)] [log(gamma + 2) if use_int] [log omega (q)]
#                         [log sigma] [z (n_subjects x q, row-major)]

_KERNEL = _EVALUATE = None  # set by _kernel()
_HDR = 12


@build_once
def _kernel():
    """The log density kernel and its buffer reader, compiled (or loaded from numba's on-disk cache)."""
    import numba

    @numba.njit(cache=True, fastmath=False)
    def logp_grad(x, P, q, n, use_int, mu0, sd0, rcol, hs_om, hs_sig, g_sd, subj, t, y, cens, A, S, out):
        n_obs = t.shape[0]
        n_ag = P - 2
        for i in range(out.shape[0]):
            out[i] = 0.0
        lp = 0.0
        for j in range(P):
            dd = (x[j] - mu0[j]) / sd0[j]
            lp -= 0.5 * dd * dd
            out[j] = -dd / sd0[j]
        k = P
        gamma = 0.0
        eg = 0.0
        ig = -1
        if use_int:
            ig = k
            eg = math.exp(x[k])
            gamma = eg - 2.0
            lp += -0.5 * (gamma / g_sd) ** 2 + x[k]
            k += 1
        io = k
        om = np.empty(q)
        for r in range(q):
            om[r] = math.exp(x[k + r])
            lp += -0.5 * (om[r] / hs_om) ** 2 + x[k + r]
        k += q
        isg = k
        sig = math.exp(x[k])
        lp += -0.5 * (sig / hs_sig) ** 2 + x[k]
        k += 1
        iz = k
        lpar = np.empty((n, P))
        par = np.empty((n, P))
        for i in range(n):
            for j in range(P):
                v = x[j]
                r = rcol[j]
                if r >= 0:
                    v += om[r] * x[iz + i * q + r]
                lpar[i, j] = v
                par[i, j] = math.exp(v)
        for i in range(n * q):
            zz = x[iz + i]
            lp -= 0.5 * zz * zz
            out[iz + i] = -zz
        g = np.zeros((n, P))
        g_gamma = 0.0
        g_sig = 0.0
        inv_s = 1.0 / sig
        c0 = 1.0 / math.sqrt(2.0)
        for o in range(n_obs):
            i = subj[o]
            m = lpar[i, 0] + par[i, 1] * t[o]
            for a in range(n_ag):
                m -= par[i, 2 + a] * A[o, a]
            cr = 0.0
            if use_int:
                cr = math.sqrt(par[i, 2] * par[i, 3]) * S[o]
                m -= gamma * cr
            z = (y[o] - m) * inv_s
            if cens[o]:
                if z > -30.0:
                    Phi = 0.5 * math.erfc(-z * c0)
                    lphi = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
                    lp += math.log(Phi)
                    ratio = math.exp(lphi - math.log(Phi))
                else:  # asymptotic expansion of the normal tail
                    zz2 = z * z
                    s4 = 1.0 - 1.0 / zz2 + 3.0 / (zz2 * zz2) - 15.0 / (zz2 * zz2 * zz2)
                    lp += -0.5 * zz2 - 0.5 * math.log(2.0 * math.pi) - math.log(-z) + math.log(s4)
                    ratio = -z / s4
                dm = -ratio * inv_s
                g_sig += -ratio * z * inv_s
            else:
                lp += -0.5 * z * z - x[isg]
                dm = z * inv_s
                g_sig += (z * z - 1.0) * inv_s
            g[i, 0] += dm
            g[i, 1] += dm * par[i, 1] * t[o]
            for a in range(n_ag):
                g[i, 2 + a] -= dm * par[i, 2 + a] * A[o, a]
            if use_int:
                h = dm * gamma * 0.5 * cr
                g[i, 2] -= h
                g[i, 3] -= h
                g_gamma -= dm * cr
        g_om = np.zeros(q)
        for i in range(n):
            for j in range(P):
                out[j] += g[i, j]
                r = rcol[j]
                if r >= 0:
                    zz = x[iz + i * q + r]
                    out[iz + i * q + r] += g[i, j] * om[r]
                    g_om[r] += g[i, j] * zz
        if use_int:
            out[ig] = (-gamma / (g_sd * g_sd) + g_gamma) * eg + 1.0
        for r in range(q):
            out[io + r] = (-om[r] / (hs_om * hs_om) + g_om[r]) * om[r] + 1.0
        out[isg] = (-sig / (hs_sig * hs_sig) + g_sig) * sig + 1.0
        return lp

    # the reader calls the kernel through the module global _KERNEL (see sampling.kernel_callbacks)
    @numba.njit(cache=True)
    def evaluate(x, out, buf):
        P, q, n, n_obs = int(buf[1]), int(buf[2]), int(buf[3]), int(buf[4])
        k = _HDR
        mu0 = buf[k:k + P]
        sd0 = buf[k + P:k + 2 * P]
        rcol = buf[k + 2 * P:k + 3 * P].astype(np.int64)
        k += 3 * P
        subj = buf[k:k + n_obs].astype(np.int64)
        t = buf[k + n_obs:k + 2 * n_obs]
        y = buf[k + 2 * n_obs:k + 3 * n_obs]
        cens = buf[k + 3 * n_obs:k + 4 * n_obs] > 0.5
        S = buf[k + 4 * n_obs:k + 5 * n_obs]
        k += 5 * n_obs
        A = buf[k:k + n_obs * (P - 2)].reshape((n_obs, P - 2))
        return _KERNEL(x, P, q, n, buf[6] > 0.5, mu0, sd0, rcol, buf[7], buf[8], buf[9], subj, t, y, cens, A, S,
                       out)

    return logp_grad, evaluate


# numba C callbacks for nutpie (no Python in the sampling loop); cached on disk
_cfuncs = functools.partial(kernel_callbacks, __name__)


class FastTGIModel(KernelModel):
    """The TGI posterior density as numba functions for nutpie.

    Parameters
    ----------
    arrays : TGIArrays
        From :func:`prepare_tgi`.
    """

    def __init__(self, arrays: TGIArrays):
        a = arrays
        self.arrays = a
        self.P, self.q, self.n = a.n_log, a.q, a.n_subjects
        self.ndim = self.P + int(a.use_int) + self.q + 1 + self.n * self.q
        self.args = (self.P, self.q, self.n, bool(a.use_int), np.ascontiguousarray(a.prior_mu, float),
                     np.ascontiguousarray(a.prior_sd, float), np.ascontiguousarray(a.rcol, np.int64),
                     float(a.hs_omega), float(a.hs_sigma), float(a.gamma_sd), np.ascontiguousarray(a.subj, np.int64),
                     np.ascontiguousarray(a.t, float), np.ascontiguousarray(a.y, float),
                     np.ascontiguousarray(a.cens, np.bool_), np.ascontiguousarray(a.auc, float),
                     np.ascontiguousarray(a.cross, float))

    @property
    def log_constant(self) -> float:
        """The normalising constants the kernel leaves out (so that kernel + constant = PyMC's logp)."""
        from scipy import stats

        a = self.arrays
        c = float(np.sum(-np.log(a.prior_sd) - 0.5 * _LOG2PI))
        if a.use_int:
            c += -math.log(a.gamma_sd) - 0.5 * _LOG2PI - float(stats.norm.logsf(-2.0 / a.gamma_sd))
        c += (self.q + 1) * (0.5 * math.log(2.0 / math.pi))
        c -= self.q * math.log(a.hs_omega) + math.log(a.hs_sigma)
        c += -0.5 * _LOG2PI * (self.n * self.q + int((~a.cens).sum()))
        return c

    def logp_and_grad(self, x):
        """Log posterior density (up to :attr:`log_constant`) and its gradient at the unconstrained ``x``."""
        out = np.empty(self.ndim)
        lp = _kernel()(np.ascontiguousarray(x, float), *self.args, out)
        return lp, out

    def split(self, x) -> dict:
        """Unconstrained vectors (..., ndim) -> the model's variables (natural scale), leading dims kept."""
        x = np.asarray(x, float)
        P, q, n = self.P, self.q, self.n
        a = self.arrays
        out = {"log_w0": x[..., 0], "log_lambda0": x[..., 1]}
        if P > 2:
            out["log_potency"] = x[..., 2:P]
        k = P
        if a.use_int:
            out["gamma"] = np.exp(x[..., k]) - 2.0
            k += 1
        if q:
            out["omega"] = np.exp(x[..., k:k + q])
        k += q
        out["sigma"] = np.exp(x[..., k])
        k += 1
        if q:
            out["z"] = x[..., k:k + n * q].reshape(x.shape[:-1] + (n, q))
        return out

    def unconstrained(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Inverse of :meth:`split` for one point."""
        a = self.arrays
        parts = [np.atleast_1d(values["log_w0"]), np.atleast_1d(values["log_lambda0"])]
        if self.P > 2:
            parts.append(np.atleast_1d(values["log_potency"]))
        if a.use_int:
            parts.append(np.atleast_1d(np.log(values["gamma"] + 2.0)))
        if self.q:
            parts.append(np.log(np.atleast_1d(values["omega"])))
        parts.append(np.atleast_1d(np.log(values["sigma"])))
        if self.q:
            parts.append(np.asarray(values["z"], float).ravel())
        return np.concatenate([np.asarray(p, float).ravel() for p in parts])

    def initial_point(self, seed) -> np.ndarray:
        """A random start near the prior centres (unconstrained scale)."""
        rng = np.random.default_rng(seed)
        a = self.arrays
        vals = {"log_w0": a.prior_mu[0] + 0.1 * rng.uniform(-1, 1),
                "log_lambda0": a.prior_mu[1] + 0.1 * rng.uniform(-1, 1),
                "log_potency": a.prior_mu[2:] + 0.3 * rng.uniform(-1, 1, self.P - 2),
                "gamma": rng.uniform(-0.5, 0.5), "omega": 0.3 * np.exp(0.3 * rng.uniform(-1, 1, self.q)),
                "sigma": 0.2 * math.exp(0.3 * rng.uniform(-1, 1)),
                "z": 0.5 * rng.uniform(-1, 1, (self.n, self.q))}
        return self.unconstrained(vals)

    def _buffer(self) -> np.ndarray:
        a = self.arrays
        return pack_buffer(_HDR, (self.P, self.q, self.n, len(a.t), self.ndim, float(a.use_int), a.hs_omega,
                                  a.hs_sigma, a.gamma_sd),
                           [a.prior_mu, a.prior_sd, a.rcol, a.subj, a.t, a.y, a.cens, a.cross, a.auc])

    def sample(self, *, draws, tune, chains, seed, target_accept=0.9, progress=False, cores=None):
        """Sample with nutpie.

        Returns
        -------
        dict
            ``values`` (the model variables, arrays with leading (chain, draw)), ``sample_stats``
            (xarray.Dataset), ``compile_seconds``, ``sampling_seconds``, ``interface``.
        """
        run = self.run_nutpie(draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                              progress=progress, cores=cores)
        raw = run.pop("raw")
        return {"values": self.split(raw.posterior["x"].values), "sample_stats": raw.sample_stats, **run}


def build_tgi_model(arrays: TGIArrays):
    """The PyMC model of :func:`fit_tgi_bayes` (the reference for the numba kernel; the fallback).

    Parameters
    ----------
    arrays : TGIArrays
        From :func:`prepare_tgi`.

    Returns
    -------
    pymc.Model
        Free variables ``log_w0, log_lambda0, log_potency`` (agent), ``gamma`` (if estimated),
        ``omega`` (random), ``sigma``, ``z`` (subject, random); observed ``log_size`` and
        ``log_size_censored``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    a = arrays
    gd = a.extra["gd"]
    coords = {"subject": [str(s) for s in gd.subjects]}
    if a.agents:
        coords["agent"] = list(a.agents)
    if a.q:
        coords["random"] = list(a.random)
    u = np.flatnonzero(~a.cens)
    c = np.flatnonzero(a.cens)
    with pm.Model(coords=coords) as m:
        lw0 = pm.Normal("log_w0", a.prior_mu[0], a.prior_sd[0])
        llam = pm.Normal("log_lambda0", a.prior_mu[1], a.prior_sd[1])
        parts = [lw0[None], llam[None]]
        if a.agents:
            lk = pm.Normal("log_potency", mu=a.prior_mu[2:], sigma=a.prior_sd[2:], dims="agent")
            parts.append(lk)
        theta = pt.concatenate(parts)
        gamma = pm.TruncatedNormal("gamma", mu=0.0, sigma=a.gamma_sd, lower=-2.0) if a.use_int else None
        sigma = pm.HalfNormal("sigma", sigma=a.hs_sigma)
        lpar = pt.repeat(theta[None, :], a.n_subjects, axis=0)
        if a.q:
            omega = pm.HalfNormal("omega", sigma=a.hs_omega, dims="random")
            z = pm.Normal("z", 0.0, 1.0, dims=("subject", "random"))
            R = np.zeros((a.q, a.n_log))
            for j, r in enumerate(a.rcol):
                if r >= 0:
                    R[r, j] = 1.0
            lpar = lpar + pt.dot(z * omega[None, :], pt.as_tensor(R))
        par = pt.exp(lpar)
        s = pt.as_tensor(a.subj)
        mu = lpar[s, 0] + par[s, 1] * pt.as_tensor(a.t)
        if a.agents:
            mu = mu - pt.sum(par[s, 2:] * pt.as_tensor(a.auc), axis=1)
        if a.use_int:
            mu = mu - gamma * pt.sqrt(par[s, 2] * par[s, 3]) * pt.as_tensor(a.cross)
        pm.Normal("log_size", mu=mu[u], sigma=sigma, observed=a.y[u])
        if len(c):
            pm.Censored("log_size_censored", pm.Normal.dist(mu=mu[c], sigma=sigma), lower=a.y[c], upper=None,
                        observed=a.y[c])
    return m


def pymc_point(model, fm: FastTGIModel, x) -> dict:
    """The PyMC model's value-variable point equal to the kernel's unconstrained vector ``x``.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build_tgi_model`.
    fm : FastTGIModel
        The kernel model of the same :class:`TGIArrays`.
    x : array_like (ndim,)
        Unconstrained point (log typical values, log(gamma + 2), log omegas, log sigma, z).

    Returns
    -------
    dict
        Value-variable name -> array (PyMC's transformed scale: ``gamma_interval__`` = log(gamma + 2),
        ``omega_log__``, ``sigma_log__``).
    """
    vals = fm.split(np.asarray(x, float))
    out = {}
    for rv in model.free_RVs:
        v = model.rvs_to_values[rv]
        raw = vals[rv.name]
        if rv.name == "gamma":
            raw = np.log(raw + 2.0)
        elif rv.name in ("omega", "sigma"):
            raw = np.log(raw)
        out[v.name] = np.asarray(raw, float)
    return out


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------

def fit_tgi_bayes(data, *, subject: str, arm: str, time: str, size: str,
                  treatments: Mapping[str, object] | None = None, dosing: pd.DataFrame | None = None,
                  dosing_columns: Mapping[str, str] | None = None, pk: Mapping[str, object] | None = None,
                  body_weight: Mapping[str, float] | None = None, kind: str = "volume", size_unit: str | None = None,
                  lloq=None, censored: str | None = None, dropout: str | None = None, interaction: bool = True,
                  random: Sequence[str] = ("w0", "lambda0"), error: str = "log", interaction_prior_sd: float = 1.0,
                  draws: int = 1000, tune: int = 1000, chains: int = 4, seed=None, ci_level: float = 0.9,
                  sampler: str = "nutpie", target_accept: float = 0.9, check: bool = True,
                  progress: bool = False) -> "TGIBayesFit":
    r"""Bayesian fit of the population PK/PD tumour-growth-inhibition model of :func:`comboplan.fit_tgi`.

    Same model, inputs, parameter names and units as ``fit_tgi``; the population parameters get
    posterior distributions (NUTS) instead of Laplace / FOCE-I estimates.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy tumour sizes, one row per animal and time (not modified).
    subject, arm, time, size : str
        Column names: animal, treatment arm, day since the first dose (day 0), tumour size
        (volume in ``size_unit``, e.g. mm^3, or a luminescence signal in photons/s).
    treatments : mapping arm label -> comboplan.simulate.Arm, optional
        Regimen of every arm (drugs as ``Regimen``, products as ``ProductExposure``, a K-PD
        exposure). An untreated arm is ``Arm("vehicle")``.
    dosing : pandas.DataFrame, optional
        Per-animal dosing table instead of ``treatments``: subject, time (day), amount, unit
        (``mg/kg``, or ``mg``/``ug`` with ``body_weight`` in kg), route, agent.
    dosing_columns : mapping, optional
        Renames for the dosing table's columns.
    pk : mapping agent -> comboplan.models.pk.PKModel
        PK of every drug (held fixed; concentrations in ug/mL).
    body_weight : mapping subject -> kg, optional
        Body weights for absolute dose units.
    kind : {"volume", "luminescence"}
    size_unit : str, optional
    lloq, censored, dropout
        As :func:`comboplan.validate_growth`. Observations below the LLOQ (size unit) are
        left-censored: they enter as ``Phi((log LLOQ - log w) / sigma)``.
    interaction : bool
        Estimate ``interaction.gamma`` between the first two agents (when some animal got both).
    random : sequence of str
        Parameters with log-normal between-animal variability (``"w0"``, ``"lambda0"``,
        ``"potency.<agent>"``), non-centred.
    error : {"log"}
        Additive error on log size (the only one supported here; others raise ``DataError``).
    interaction_prior_sd : float
        SD of the normal prior of gamma (dimensionless), centred at 0 = Bliss independence and
        truncated to gamma >= -2.
    draws, tune, chains : int
        Post-warm-up draws per chain, warm-up iterations per chain, chains.
    seed : int or numpy.random.Generator, optional
        Same seed, same draws.
    ci_level : float
        Level of the equal-tailed credible intervals (0-1; default 0.9).
    sampler : {"nutpie", "nutpie-graph", "pymc"}
        ``"nutpie"`` (default): nutpie on the numba kernel; ``"nutpie-graph"``: nutpie on the
        compiled PyMC model; ``"pymc"``: PyMC's NUTS. A failing nutpie run falls back to PyMC's NUTS.
    target_accept : float
        NUTS target acceptance rate (raise towards 0.99 if there are divergences).
    check : bool
        Warn (:class:`~comboplan.exceptions.DiagnosticsWarning`) when R-hat > 1.01, bulk or
        tail ESS < 100 per chain, or any transition diverged.
    progress : bool
        Show the sampler's progress bar.

    Returns
    -------
    TGIBayesFit
        Posterior summaries in the layout of :class:`comboplan.growth.tgi.TGIFit`
        (``population``, ``individual``, ``predictions``, ``model()``, ``draws()``,
        ``variability()``) plus ``idata`` and ``diagnostics``.

    Notes
    -----
    Priors: ``log w0 ~ N(log median first size, 1)``, ``log lambda0 ~ N(log lambda0_hat, 1)``,
    ``log potency.<a> ~ N(log k_hat_a, 2)`` (data-driven centres as in ``fit_tgi``'s starting
    values), ``gamma ~ N(0, interaction_prior_sd)`` truncated at -2, ``omega ~ HalfNormal(0.5)``,
    ``sigma ~ HalfNormal(0.5)`` (log-scale SDs).
    """
    from .sampling import available_samplers, resolve_seed, sample_model

    for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise DataError(f"{name} must be a positive integer; got {v!r}.")
    if not (isinstance(target_accept, float | int) and 0 < target_accept < 1):
        raise DataError(f"target_accept must lie strictly between 0 and 1; got {target_accept!r}.")
    sampler = str(sampler).lower()
    if sampler not in ("nutpie", "nutpie-graph", "pymc"):
        raise DataError(f"sampler must be 'nutpie', 'nutpie-graph' or 'pymc'; got {sampler!r}.")
    arr = prepare_tgi(data, subject=subject, arm=arm, time=time, size=size, treatments=treatments, dosing=dosing,
                      dosing_columns=dosing_columns, pk=pk, body_weight=body_weight, kind=kind, size_unit=size_unit,
                      lloq=lloq, censored=censored, dropout=dropout, interaction=interaction, random=random,
                      error=error, interaction_prior_sd=interaction_prior_sd, ci_level=ci_level)
    s = resolve_seed(seed)
    fm = FastTGIModel(arr)
    info = {"requested_sampler": sampler, "fallback": ""}
    values = stats_ds = None
    if sampler == "nutpie" and "nutpie" in available_samplers():
        try:
            r = fm.sample(draws=draws, tune=tune, chains=chains, seed=s, target_accept=target_accept,
                          progress=progress)
            values, stats_ds = r["values"], r["sample_stats"]
            info.update(sampler="nutpie", backend=f"numba-kernel ({r['interface']})",
                        compile_seconds=r["compile_seconds"], sampling_seconds=r["sampling_seconds"])
        except Exception as exc:  # noqa: BLE001 - any nutpie failure: PyMC's NUTS below
            info["fallback"] = f"nutpie failed ({type(exc).__name__}: {exc}); sampled with PyMC's NUTS"
            sampler = "pymc"
    elif sampler == "nutpie":
        info["fallback"] = "nutpie is not installed; sampled with PyMC's NUTS"
        sampler = "pymc"
    if values is None:
        model = build_tgi_model(arr)
        idata = sample_model(model, draws=draws, tune=tune, chains=chains, seed=s,
                             sampler="nutpie" if sampler == "nutpie-graph" else "pymc",
                             target_accept=target_accept, progress=progress)
        post = idata.posterior
        values = {k: post[k].values for k in ("log_w0", "log_lambda0", "log_potency", "gamma", "omega", "sigma", "z")
                  if k in post}
        stats_ds = idata.sample_stats
        info.update(sampler=idata.attrs.get("sampler", sampler), backend="pymc-graph",
                    compile_seconds=idata.attrs.get("compile_seconds", float("nan")),
                    sampling_seconds=idata.attrs.get("sampling_seconds", float("nan")))
    info.update(seed=s, draws=int(draws), tune=int(tune), chains=int(chains), target_accept=float(target_accept))
    return _build_result(arr, values, stats_ds, info, ci_level=float(ci_level), check=check)


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------

def _log_predictions(arr: TGIArrays, v: Mapping[str, np.ndarray], individual: bool = True) -> np.ndarray:
    """log w at every observation for every draw: (chain, draw, n_obs)."""
    lead = np.shape(v["log_w0"])
    theta = np.concatenate([v["log_w0"][..., None], v["log_lambda0"][..., None]]
                           + ([v["log_potency"]] if arr.agents else []), axis=-1)       # (..., P)
    lpar = np.broadcast_to(theta[..., None, :], lead + (arr.n_subjects, arr.n_log)).copy()
    if individual and arr.q:
        eta = v["z"] * v["omega"][..., None, :]                                          # (..., n, q)
        for j, r in enumerate(arr.rcol):
            if r >= 0:
                lpar[..., j] += eta[..., r]
    par = np.exp(lpar)
    s = arr.subj
    mu = lpar[..., s, 0] + par[..., s, 1] * arr.t
    for k in range(len(arr.agents)):
        mu = mu - par[..., s, 2 + k] * arr.auc[:, k]
    if arr.use_int:
        mu = mu - v["gamma"][..., None] * np.sqrt(par[..., s, 2] * par[..., s, 3]) * arr.cross
    return mu, lpar


def _build_result(arr: TGIArrays, v: dict, sample_stats, info: dict, *, ci_level: float, check: bool):
    import arviz as az
    import xarray as xr
    from scipy import stats

    from ...growth.tgi import _units
    from .sampling import check_diagnostics

    gd = arr.extra["gd"]
    d = arr.extra["design"]
    subjects = [str(x) for x in gd.subjects]
    subj_arm = np.asarray(gd.arms)[gd.subject_arm]
    units = _units(arr.names, arr.agents, gd.size_unit, gd.time_unit, arr.extra["pk"])
    C, D = np.shape(v["log_w0"])
    mu_i, lpar = _log_predictions(arr, v, True)
    mu_p, _ = _log_predictions(arr, v, False)
    sig = v["sigma"][..., None]
    zres = (arr.y - mu_i) / sig
    loglik = np.where(arr.cens, stats.norm.logcdf(zres), stats.norm.logpdf(zres) - np.log(sig))
    # -- InferenceData ------------------------------------------------------------------
    coords = {"chain": np.arange(C), "draw": np.arange(D), "subject": subjects, "arm": ("subject", subj_arm.astype(str))}
    if arr.agents:
        coords["agent"] = list(arr.agents)
    if arr.q:
        coords["random"] = list(arr.random)
    cd = ("chain", "draw")
    pv = {"log_w0": (cd, v["log_w0"]), "log_lambda0": (cd, v["log_lambda0"]),
          "w0": (cd, np.exp(v["log_w0"])), "lambda0": (cd, np.exp(v["log_lambda0"])),
          "sigma": (cd, v["sigma"])}
    if arr.agents:
        pv["log_potency"] = (cd + ("agent",), v["log_potency"])
        pv["potency"] = (cd + ("agent",), np.exp(v["log_potency"]))
    if arr.use_int:
        pv["gamma"] = (cd, v["gamma"])
    if arr.q:
        pv["omega"] = (cd + ("random",), v["omega"])
        pv["z"] = (cd + ("subject", "random"), v["z"])
        pv["eta"] = (cd + ("subject", "random"), v["z"] * v["omega"][..., None, :])
    pv["w0_i"] = (cd + ("subject",), np.exp(lpar[..., 0]))
    pv["lambda0_i"] = (cd + ("subject",), np.exp(lpar[..., 1]))
    if arr.agents:
        pv["potency_i"] = (cd + ("subject", "agent"), np.exp(lpar[..., 2:]))
    post = xr.Dataset(pv, coords=coords)
    tunit = gd.time_unit
    var_units = {"w0": gd.size_unit, "log_w0": f"log({gd.size_unit})", "lambda0": f"1/{tunit}",
                 "log_lambda0": f"log(1/{tunit})", "sigma": "log-scale SD", "omega": "log-scale SD",
                 "gamma": "1 (0 = Bliss independence, > 0 = synergy)", "z": "1", "eta": "log-scale deviation",
                 "w0_i": gd.size_unit, "lambda0_i": f"1/{tunit}",
                 "potency": "; ".join(f"{a}: {units[f'potency.{a}']}" for a in arr.agents),
                 "potency_i": "; ".join(f"{a}: {units[f'potency.{a}']}" for a in arr.agents),
                 "log_potency": "log of potency"}
    for k in post.data_vars:
        post[k].attrs["units"] = var_units.get(k, "")
    n_obs = len(arr.t)
    obs_coords = {"obs": np.arange(n_obs), "obs_subject": ("obs", np.asarray(subjects)[arr.subj]),
                  "obs_arm": ("obs", subj_arm[arr.subj].astype(str)), "obs_time": ("obs", arr.t),
                  "obs_censored": ("obs", arr.cens)}
    ll = xr.Dataset({"log_size": (cd + ("obs",), loglik)}, coords={"chain": np.arange(C), "draw": np.arange(D),
                                                                 **obs_coords})
    obs = xr.Dataset({"log_size": (("obs",), arr.y)}, coords=obs_coords)
    obs["log_size"].attrs["units"] = f"log({gd.size_unit}); log LLOQ where censored"
    ss = sample_stats
    if ss is not None:
        ss = ss.assign_coords(chain=np.arange(C), draw=np.arange(D))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = az.InferenceData(posterior=post, sample_stats=ss, log_likelihood=ll, observed_data=obs)
    idata.attrs = {k: (str(val) if not isinstance(val, int | float) else val) for k, val in info.items()}
    key = [k for k in ("w0", "lambda0", "potency", "gamma", "omega", "sigma") if k in post]
    diag = check_diagnostics(idata, key, warn=check)
    # -- population table ---------------------------------------------------------------
    alpha = (1 - ci_level) / 2
    dtab = diag.table.set_index("variable")

    def row(name, kind, x, var_label, unit, shrink=np.nan, note=""):
        x = np.asarray(x, float).ravel()
        lo, med, hi = np.quantile(x, [alpha, 0.5, 1 - alpha])
        sd = float(np.std(x, ddof=1))
        r = {"parameter": name, "kind": kind, "estimate": float(med), "stderr": sd, "rse_pct": 100 * sd / abs(med)
             if med else np.nan, "ci_low": float(lo), "ci_high": float(hi), "unit": unit, "shrinkage_pct": shrink,
             "note": note}
        for c in ("r_hat", "ess_bulk", "ess_tail"):
            r[c] = float(dtab.loc[var_label, c]) if var_label in dtab.index else np.nan
        return r

    rows = [row("w0", "typical", post["w0"].values, "w0", units["w0"]),
            row("lambda0", "typical", post["lambda0"].values, "lambda0", units["lambda0"])]
    for k, a in enumerate(arr.agents):
        rows.append(row(f"potency.{a}", "typical", post["potency"].values[..., k], f"potency[{a}]",
                        units[f"potency.{a}"]))
    if arr.use_int:
        p_syn = float(np.mean(v["gamma"] > 0))
        rows.append(row("interaction.gamma", "typical", v["gamma"], "gamma", units["interaction.gamma"],
                        note=f"P(gamma > 0 | data) = {p_syn:.3f} (synergy over Bliss independence)"))
    for k, r in enumerate(arr.random):
        om = v["omega"][..., k]
        eta_mean = (v["z"][..., k] * om[..., None]).reshape(-1, arr.n_subjects).mean(axis=0)
        shrink = 100.0 * (1.0 - float(np.std(eta_mean, ddof=0)) / float(np.median(om)))
        rows.append(row(f"omega.{r}", "omega", om, f"omega[{r}]", "log-scale SD", shrink=shrink))
    rows.append(row("sigma.add", "sigma", v["sigma"], "sigma", "log-scale SD"))
    pop = pd.DataFrame(rows)
    # -- individual and predictions -----------------------------------------------------
    ind = pd.DataFrame({"subject": gd.subjects, "arm": subj_arm})
    flat_l = lpar.reshape(-1, arr.n_subjects, arr.n_log)
    for j, nm in enumerate(arr.names[:arr.n_log]):
        ind[nm] = np.exp(np.median(flat_l[..., j], axis=0))
    if arr.use_int:
        ind["interaction.gamma"] = float(np.median(v["gamma"]))
    f_i = np.median(mu_i.reshape(-1, n_obs), axis=0)
    f_p = np.median(mu_p.reshape(-1, n_obs), axis=0)
    s_med = float(np.median(v["sigma"]))
    predictions = pd.DataFrame({
        "subject": gd.subjects[arr.subj], "arm": subj_arm[arr.subj], "time": arr.t,
        "observed": d["size"][arr.extra["si"], arr.extra["ji"]], "censored": arr.cens,
        "pred": np.exp(f_p), "ipred": np.exp(f_i),
        "iwres": np.where(arr.cens, np.nan, (arr.y - f_i) / s_med)})
    pair = arr.extra["pair"]
    settings = {"estimator": f"bayes (NUTS, {info.get('sampler')})", "growth": "exponential",
                "agents": list(arr.agents), "pair": list(pair) if pair else None, "interaction": bool(arr.use_int),
                "random": list(arr.random), "error": "log", "size_unit": gd.size_unit, "time_unit": tunit,
                "units": units, "n_subjects": int(gd.n_subjects), "n_obs": int(n_obs),
                "n_censored": int(arr.cens.sum()), "subject_arm": list(subj_arm), "pk": dict(arr.extra["pk"]),
                "treatments": dict(arr.extra["treatments"]), "ci_level": ci_level, "conc_unit": "ug/mL",
                "kind": gd.kind, "priors": _prior_rows(arr, units), "interaction_prior_sd": arr.gamma_sd,
                **{k: info.get(k) for k in ("sampler", "backend", "requested_sampler", "fallback", "seed", "draws",
                                            "tune", "chains", "target_accept", "compile_seconds",
                                            "sampling_seconds")}}
    return TGIBayesFit(population=pop, individual=ind, predictions=predictions, idata=idata, diagnostics=diag,
                       settings=settings, _arrays=arr)


@dataclass(frozen=True)
class TGIBayesFit(_PlanningInterface):
    """Posterior of the population TGI model (immutable); the planner interface of ``TGIFit``.

    Attributes
    ----------
    population : pandas.DataFrame
        One row per population parameter: ``parameter, kind`` (typical / omega / sigma),
        ``estimate`` (posterior median), ``stderr`` (posterior SD), ``rse_pct`` (%), ``ci_low,
        ci_high`` (equal-tailed ``ci_level`` credible interval), ``unit``, ``shrinkage_pct``
        (%, omegas), ``note``, and ``r_hat, ess_bulk, ess_tail``.
    individual : pandas.DataFrame
        Per animal: ``subject, arm`` and the posterior median of its parameters.
    predictions : pandas.DataFrame
        Per observation: ``subject, arm, time`` (day), ``observed`` (size unit), ``censored``,
        ``pred`` (typical animal), ``ipred`` (the animal's own parameters), both
        exp(posterior median of log size), ``iwres`` (log scale, posterior-median sigma).
    idata : arviz.InferenceData
        ``posterior`` (dims chain, draw, subject with coordinate arm, agent, random),
        ``sample_stats``, ``log_likelihood``, ``observed_data``.
    diagnostics : comboplan.fitting.bayes.sampling.Diagnostics
        R-hat, ESS and divergences of the population parameters.
    settings : dict
        Model, priors, sampler, units, treatments and PK.
    """

    population: pd.DataFrame
    individual: pd.DataFrame
    predictions: pd.DataFrame
    idata: Any
    diagnostics: Any
    settings: dict = field(default_factory=dict)
    _arrays: Any = field(default=None, repr=False)

    # -- planner interface: typical, omega, model, variability from _PlanningInterface
    # (estimates = posterior medians) --
    @property
    def n_divergent(self) -> int:
        """Divergent transitions after warm-up."""
        return int(self.diagnostics.n_divergent)

    def posterior_draws(self) -> dict:
        """All posterior draws of the typical values, ``{name: array (chains x draws,)}`` (natural scale)."""
        post = self.idata.posterior
        out = {nm: post[nm].values.ravel() for nm in ("w0", "lambda0", "lambda1", "k1") if nm in post}
        for k, a in enumerate(self.settings["agents"]):
            out[f"potency.{a}"] = post["potency"].values[..., k].ravel()
        if "gamma" in post:
            out["interaction.gamma"] = post["gamma"].values.ravel()
        return out

    def draws(self, n: int = 200, seed=None, *, shrink_interaction: float | None = None,
              between_animal: bool = True):
        """Parameter-uncertainty draws, resampled from the posterior.

        Parameters
        ----------
        n : int
            Number of draws. Taken without replacement from the chains x draws posterior draws
            when ``n`` is not larger, otherwise with replacement.
        seed : int or numpy.random.Generator
        shrink_interaction : float, optional
            A different prior SD for ``interaction.gamma`` (centred at 0, truncated at -2): the
            posterior draws are importance-resampled with weights ``N(gamma; 0, s) /
            N(gamma; 0, interaction_prior_sd)``. ``None`` keeps the fit's prior.
        between_animal : bool
            Also draw the between-animal SDs ``omega.<name>`` (log scale), so that a simulation
            from the draws carries the uncertainty of the variability too.

        Returns
        -------
        comboplan.simulate.ParameterDraws
            Joint draws (correlations kept) of ``w0`` (size unit), ``lambda0`` (1/day),
            ``potency.<agent>``, ``interaction.gamma`` and (``between_animal``) ``omega.<name>``;
            sigma is not drawn.
        """
        from ...simulate.cohort import ParameterDraws

        if not isinstance(n, int | np.integer) or int(n) < 1:
            raise DataError(f"n (number of draws) must be a positive integer; got {n!r}.")
        rng = np.random.default_rng(seed)
        allv = self.posterior_draws()
        total = len(allv["w0"])
        p = None
        if shrink_interaction is not None and "interaction.gamma" in allv:
            s_new = float(shrink_interaction)
            if not s_new > 0:
                raise DataError(f"shrink_interaction must be a positive prior SD; got {shrink_interaction!r}.")
            g = allv["interaction.gamma"]
            s_old = float(self.settings["interaction_prior_sd"])
            lw = -0.5 * g ** 2 * (1 / s_new ** 2 - 1 / s_old ** 2)
            w = np.exp(lw - lw.max())
            p = w / w.sum()
        idx = rng.choice(total, size=int(n), replace=int(n) > total or p is not None, p=p)
        if between_animal and "omega" in self.idata.posterior:
            om = self.idata.posterior["omega"].values
            for k, r in enumerate(self.settings["random"]):
                allv[f"omega.{r}"] = om[..., k].ravel()
        return ParameterDraws({k: val[idx] for k, val in allv.items()},
                              source=f"fit_tgi_bayes posterior ({total} draws"
                                     + (f", gamma prior SD {shrink_interaction:g}" if p is not None else "") + ")")

    # -- contract ----------------------------------------------------------
    def summary(self) -> str:
        """Model, priors, sampler, diagnostics (divergences, R-hat, ESS) and the population table, as text."""
        s = self.settings
        dg = self.diagnostics
        t = dg.table
        lines = self._summary_head(" (log-normal, non-centred)") + [
            f"sampler {s['sampler']} [{s['backend']}]: {s['chains']} chains x {s['draws']} draws ({s['tune']} tune), "
            f"seed {s['seed']}, target_accept {s['target_accept']}; compile {s['compile_seconds']:.1f} s, "
            f"sampling {s['sampling_seconds']:.1f} s" + (f"; {s['fallback']}" if s.get("fallback") else ""),
            f"diagnostics: {dg.n_divergent} divergences, max R-hat {t['r_hat'].max():.3f}, min bulk ESS "
            f"{t['ess_bulk'].min():.0f}, min tail ESS {t['ess_tail'].min():.0f}"
            + (" (all checks passed)" if dg.ok else "; PROBLEMS: " + "; ".join(dg.problems)),
            f"estimate = posterior median, stderr = posterior SD, {100 * s['ci_level']:g} % equal-tailed "
            "credible interval:",
        ]
        lines.append(self._population_text(["parameter", "estimate", "stderr", "rse_pct", "ci_low", "ci_high",
                                            "unit", "shrinkage_pct", "r_hat", "ess_bulk"]))
        lines.append("priors:")
        lines += [f"  {r['prior']}" + (f"  (centre {r['centre']}: {r['why']})" if r["centre"]
                                        and r["parameter"] != "interaction.gamma" else f"  ({r['why']})")
                  for r in s["priors"]]
        lines += self._note_lines()
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"

    def to_xarray(self):
        """Dataset: population summaries (parameter), individual medians (subject, iparameter) and the
        posterior draws of the population parameters (chain, draw, parameter); units in ``attrs``.

        Returns
        -------
        xarray.Dataset
        """
        ds = self._tables_dataset(("estimate", "stderr", "rse_pct", "ci_low", "ci_high", "shrinkage_pct", "r_hat",
                                   "ess_bulk", "ess_tail"))
        pop = self.population.set_index("parameter")
        post = self.idata.posterior
        C, D = post.sizes["chain"], post.sizes["draw"]
        stack = []
        for nm in pop.index:
            if nm.startswith("potency."):
                x = post["potency"].sel(agent=nm.split(".", 1)[1]).values
            elif nm == "interaction.gamma":
                x = post["gamma"].values
            elif nm.startswith("omega."):
                x = post["omega"].sel(random=nm.split(".", 1)[1]).values
            elif nm == "sigma.add":
                x = post["sigma"].values
            else:   # w0, lambda0 and, for the ODE growth laws, lambda1 and k1
                x = post[nm].values
            stack.append(np.asarray(x, float).reshape(C, D))
        ds["posterior"] = (("chain", "draw", "parameter"), np.stack(stack, axis=-1))
        ds = ds.assign_coords(chain=np.arange(C), draw=np.arange(D))
        for c in ("estimate", "stderr", "ci_low", "ci_high", "posterior"):
            ds[c].attrs["units"] = "see the unit coordinate"
        for c in ("rse_pct", "shrinkage_pct"):
            ds[c].attrs["units"] = "%"
        ds["r_hat"].attrs["units"] = "1"
        ds["ess_bulk"].attrs["units"] = "draws"
        ds["ess_tail"].attrs["units"] = "draws"
        s = self.settings
        ds.attrs.update({"estimator": s["estimator"], "error": s["error"], "size_unit": s["size_unit"],
                         "time_unit": s["time_unit"], "result": "TGIBayesFit", "ci_level": s["ci_level"],
                         "n_divergent": int(self.diagnostics.n_divergent), "sampler": str(s["sampler"]),
                         "seed": int(s["seed"]), "chains": int(s["chains"]), "draws": int(s["draws"]),
                         "tune": int(s["tune"]), "interaction_prior_sd": float(s["interaction_prior_sd"]),
                         "growth": str(s.get("growth", "exponential")), "n_transit": int(s.get("n_transit", 0)),
                         "psi": float(s.get("psi", 20.0)),
                         "priors": "; ".join(r["prior"] for r in s["priors"])})
        return ds

    def to_netcdf(self, path) -> None:
        """Write the fit to netCDF (h5netcdf): :meth:`to_xarray` at the root, the tables, settings and the
        full posterior (``idata``) in the ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        from ...results import write_result

        write_result(self, path)

    def plot(self, *, kind: str = "individual", ax=None, **kwargs):
        """Observed sizes with the individual (posterior-median) and typical-animal predictions
        (``kind="individual"``, the only kind); returns the matplotlib Axes."""
        from ...plot.tgi import plot_tgi
        from ...results import check_kind

        check_kind(kind, ("individual",), type(self).__name__)
        return plot_tgi(self, kind=kind, ax=ax, **kwargs)
