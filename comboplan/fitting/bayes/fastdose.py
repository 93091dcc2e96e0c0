"""Hand-written numba log density and gradient of the hierarchical Hill model for nutpie.

Same idea as :mod:`comboplan.fitting.bayes.fastgrowth`: the PyMC model of
:mod:`comboplan.fitting.bayes.dose_response` is the reference; this module evaluates the
same log density (up to a constant) and its gradient with a numba kernel compiled once
per machine, called by nutpie through C callbacks, so that a new data set needs no
compilation.  Covered: single agents and ``combination="bliss"`` with a normal
likelihood and the default prior families (normal means, half-normal scales); other
cases use the PyMC graph.  ``tests/test_bayes_dose_response.py`` checks value
differences and gradients against PyMC's at random points.

Parameter vector (same order as PyMC's value variables)::

    hierarchical: [lec_m (P*K), log lec_sd, z_lec (C*K), lh_m, log lh_sd, z_lh, li_m, log li_sd, z_li,
                   e0_m (P), log e0_sd, z_e0 (C), (int_m (P), log int_sd, z_int (C)), log sigma]
    one curve per population: [lec_m, lh_m, li_m, e0_m, (int_m), log sigma]
"""
from __future__ import annotations

import functools

import numpy as np

from .sampling import KernelModel, build_once, kernel_callbacks, pack_buffer

__all__ = ["supported", "FastDoseModel"]

_BLOCKS = ("log_ec50", "log_hill", "logit_imax", "e0", "interaction")


def supported(priors, combination, likelihood: str) -> bool:
    """True when the hand-written density covers this model and prior choice."""
    if likelihood != "normal" or combination not in (None, "bliss"):
        return False
    blocks = _BLOCKS[:4] + (("interaction",) if combination else ())
    return (all(priors[f"{b}_mean"].dist == "normal" for b in blocks)
            and all(priors[f"{b}_sd"].dist == "halfnormal" for b in blocks)
            and priors["sigma"].dist == "halfnormal")


_KERNEL = _EVALUATE = None  # set by _kernel()
_HDR = 16


@build_once
def _kernel():
    """The log density kernel and its buffer reader, compiled (or loaded from numba's on-disk cache)."""
    import math

    import numba

    @numba.njit(cache=True)
    def logp_grad(x, out, P, K, C, n_obs, comb, hier, pri, ld, pos, v, obs_curve, curve_pop):
        # pri: for each block b (0..4): mean mu, mean sd, sd scale -> pri[3b:3b+3]; sigma scale pri[15]
        out[:] = 0.0
        nb = 5 if comb else 4
        lp = 0.0
        # ---- unpack blocks into curve-level values
        vals = np.zeros((5, C, 2))      # curve-level parameter values (block, curve, agent)
        off_m = np.zeros(5, np.int64)
        off_sd = np.zeros(5, np.int64)
        off_z = np.zeros(5, np.int64)
        sds = np.zeros(5)
        k = 0
        for b in range(nb):
            na = K if b < 3 else 1
            off_m[b] = k
            k += P * na
            if hier:
                off_sd[b] = k
                k += 1
                off_z[b] = k
                k += C * na
            mu0, s0, sc = pri[3 * b], pri[3 * b + 1], pri[3 * b + 2]
            for i in range(P * na):
                dm = x[off_m[b] + i] - mu0
                lp -= 0.5 * dm * dm / (s0 * s0)
                out[off_m[b] + i] -= dm / (s0 * s0)
            if hier:
                u = x[off_sd[b]]
                sd = math.exp(u)
                sds[b] = sd
                lp += -0.5 * sd * sd / (sc * sc) + u
                out[off_sd[b]] += -sd * sd / (sc * sc) + 1.0
            for c in range(C):
                p = curve_pop[c]
                for a in range(na):
                    val = x[off_m[b] + p * na + a]
                    if hier:
                        zz = x[off_z[b] + c * na + a]
                        lp -= 0.5 * zz * zz
                        out[off_z[b] + c * na + a] -= zz
                        val += sds[b] * zz
                    vals[b, c, a] = val
        u_s = x[k]
        sig = math.exp(u_s)
        lp += -0.5 * sig * sig / (pri[15] * pri[15]) + u_s
        g_us = -sig * sig / (pri[15] * pri[15]) + 1.0
        # ---- likelihood
        g = np.zeros((5, C, 2))
        Iv = np.zeros(2)
        Hv = np.zeros(2)
        for j in range(n_obs):
            c = obs_curve[j]
            S = 1.0
            for a in range(K):
                h = math.exp(vals[1, c, a])
                imax = 1.0 / (1.0 + math.exp(-vals[2, c, a]))
                if pos[j * K + a] > 0.5:
                    H = 1.0 / (1.0 + math.exp(-h * (ld[j * K + a] - vals[0, c, a])))
                else:
                    H = 0.0
                Hv[a] = H
                Iv[a] = imax * H
                S *= 1.0 - Iv[a]
            e0 = vals[3, c, 0]
            E = 1.0
            kap = 0.0
            if comb:
                kap = vals[4, c, 0]
                E = math.exp(-kap * Iv[0] * Iv[1])
            mu = e0 * S * E
            z = (v[j] - mu) / sig
            lp += -0.5 * z * z - u_s
            g_us += z * z - 1.0
            dmu = z / sig
            g[3, c, 0] += dmu * S * E
            if comb:
                g[4, c, 0] += dmu * (-mu * Iv[0] * Iv[1])
            for a in range(K):
                # d mu / d I_a
                other = 1.0
                for b2 in range(K):
                    if b2 != a:
                        other *= 1.0 - Iv[b2]
                dI = -e0 * other * E
                if comb:
                    dI *= 1.0 + kap * (1.0 - Iv[a]) * Iv[1 - a]
                gI = dmu * dI
                h = math.exp(vals[1, c, a])
                imax = 1.0 / (1.0 + math.exp(-vals[2, c, a]))
                H = Hv[a]
                dH = H * (1.0 - H)
                g[0, c, a] += gI * imax * (-h * dH)
                g[1, c, a] += gI * imax * dH * (ld[j * K + a] - vals[0, c, a]) * h
                g[2, c, a] += gI * H * imax * (1.0 - imax)
        # ---- back-propagate curve-level gradients
        for b in range(nb):
            na = K if b < 3 else 1
            for c in range(C):
                p = curve_pop[c]
                for a in range(na):
                    gc = g[b, c, a]
                    out[off_m[b] + p * na + a] += gc
                    if hier:
                        zz = x[off_z[b] + c * na + a]
                        out[off_z[b] + c * na + a] += gc * sds[b]
                        out[off_sd[b]] += gc * zz * sds[b]
        out[k] += g_us
        return lp

    # the reader calls the kernel through the module global _KERNEL (see sampling.kernel_callbacks)
    @numba.njit(cache=True)
    def evaluate(x, out, buf):
        P, K, C, n = int(buf[1]), int(buf[2]), int(buf[3]), int(buf[4])
        k = _HDR
        pri = buf[k:k + 16]
        k += 16
        ld = buf[k:k + n * K]
        pos = buf[k + n * K:k + 2 * n * K]
        k += 2 * n * K
        v = buf[k:k + n]
        oc = buf[k + n:k + 2 * n].astype(np.int64)
        cp = buf[k + 2 * n:k + 2 * n + C].astype(np.int64)
        return _KERNEL(x, out, P, K, C, n, buf[6] > 0.5, buf[7] > 0.5, pri, ld, pos, v, oc, cp)

    return logp_grad, evaluate


# numba C callbacks for nutpie (no Python in the sampling loop); cached on disk
_cfuncs = functools.partial(kernel_callbacks, __name__)


class FastDoseModel(KernelModel):
    """The hierarchical Hill model's density as numba functions for nutpie."""

    def __init__(self, arrays, priors, combination=None, hierarchical=True):
        self.arrays, self.comb, self.hier = arrays, combination, bool(hierarchical)
        P, K, C = arrays.n_populations, arrays.n_agents, arrays.n_curves
        self.P, self.K, self.C = P, K, C
        nb = 5 if combination else 4
        pri = np.zeros(16)
        for b, name in enumerate(_BLOCKS[:nb]):
            pri[3 * b] = priors[f"{name}_mean"].params["mu"]
            pri[3 * b + 1] = priors[f"{name}_mean"].params["sigma"]
            pri[3 * b + 2] = priors[f"{name}_sd"].params["sigma"]
        pri[15] = priors["sigma"].params["sigma"]
        self.pri = pri
        self.layout = []
        for b, name in enumerate(_BLOCKS[:nb]):
            na = K if b < 3 else 1
            self.layout.append((f"{name}_mean", P * na, (P, na) if b < 3 else (P,)))
            if self.hier:
                self.layout.append((f"{name}_sd", 1, ()))
                self.layout.append((f"z_{name}", C * na, (C, na) if b < 3 else (C,)))
        self.layout.append(("sigma", 1, ()))
        self.ndim = sum(n for _, n, _ in self.layout)
        pos = arrays.dose > 0
        self.data = (np.ascontiguousarray(arrays.log_dose_rel.ravel(), float),
                     np.ascontiguousarray(pos.ravel(), float), np.ascontiguousarray(arrays.v, float),
                     np.ascontiguousarray(arrays.obs_curve, np.int64),
                     np.ascontiguousarray(arrays.curve_population, np.int64))

    def logp_and_grad(self, x):
        """Log density (up to a constant) and gradient at the unconstrained point ``x``."""
        out = np.empty(self.ndim)
        lp = _kernel()(np.asarray(x, float), out, self.P, self.K, self.C, len(self.data[2]), self.comb is not None,
                       self.hier, self.pri, *self.data)
        return lp, out

    def split(self, x):
        """Unconstrained draws (..., ndim) -> dict of named arrays on the natural scale."""
        out, k = {}, 0
        for name, n, shape in self.layout:
            val = x[..., k:k + n].reshape(x.shape[:-1] + shape)
            if name.endswith("_sd") or name == "sigma":
                val = np.exp(val)
            out[name] = val
            k += n
        return out

    def initial_point(self, seed) -> np.ndarray:
        """Prior means (population), z = 0 and log scales at half their prior scale, jittered."""
        rng = np.random.default_rng(seed)
        x = np.zeros(self.ndim)
        k = 0
        for name, n, _ in self.layout:
            b = next((i for i, bn in enumerate(_BLOCKS) if name in (f"{bn}_mean", f"{bn}_sd", f"z_{bn}")), None)
            if name.endswith("_mean"):
                x[k:k + n] = self.pri[3 * b] + 0.2 * self.pri[3 * b + 1] * rng.uniform(-1, 1, n)
            elif name.endswith("_sd"):
                x[k] = np.log(0.5 * self.pri[3 * b + 2]) + 0.3 * rng.uniform(-1, 1)
            elif name == "sigma":
                x[k] = np.log(0.5 * self.pri[15]) + 0.3 * rng.uniform(-1, 1)
            else:
                x[k:k + n] = 0.3 * rng.uniform(-1, 1, n)
            k += n
        return x

    def _buffer(self):
        ld, pos, v, oc, cp = self.data
        return pack_buffer(_HDR, (self.P, self.K, self.C, len(v), self.ndim, float(self.comb is not None),
                                  float(self.hier)), [self.pri, ld, pos, v, oc, cp])

    def sample(self, *, draws, tune, chains, seed, target_accept=0.9, progress=False):
        """Sample with nutpie; InferenceData with the same posterior variables as the PyMC path."""
        import xarray as xr

        run = self.run_nutpie(draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                              progress=progress)
        raw = run["raw"]
        p = self.split(raw.posterior["x"].values)
        a = self.arrays
        dref = a.dose_ref
        dims = {}
        for name, _, shape in self.layout:
            if name.endswith("_mean"):
                dims[name] = ("population", "agent") if len(shape) == 2 else ("population",)
            elif name.startswith("z_"):
                dims[name] = ("curve", "agent") if len(shape) == 2 else ("curve",)
        vals = dict(p)
        vals["ec50"] = np.exp(p["log_ec50_mean"]) * dref
        vals["hill"] = np.exp(p["log_hill_mean"])
        vals["imax"] = 1.0 / (1.0 + np.exp(-p["logit_imax_mean"]))
        vals["e0"] = p["e0_mean"]
        dims.update({"ec50": ("population", "agent"), "hill": ("population", "agent"),
                     "imax": ("population", "agent"), "e0": ("population",)})
        if self.hier:
            lec_c = p["log_ec50_mean"][:, :, a.curve_population] + p["log_ec50_sd"][..., None, None] * p["z_log_ec50"]
            vals["curve_ec50"] = np.exp(lec_c) * dref
            dims["curve_ec50"] = ("curve", "agent")
        if self.comb:
            vals["interaction"] = p["interaction_mean"]
            dims["interaction"] = ("population",)
        C, D = raw.posterior.sizes["chain"], raw.posterior.sizes["draw"]
        coords = {"chain": np.arange(C), "draw": np.arange(D), "population": list(a.population_labels),
                  "agent": list(a.agent_labels), "curve": list(a.curve_labels)}
        post = xr.Dataset({k: (("chain", "draw") + dims.get(k, ()), val) for k, val in vals.items()}, coords=coords)
        return self.inference_data(post, run)
