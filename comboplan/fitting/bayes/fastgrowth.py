"""Hand-written numba log density and gradient of the growth model for nutpie.

The PyMC model of :mod:`comboplan.fitting.bayes.growth` is the reference.  Compiling it
with nutpie's numba backend costs several seconds for every new data set (the data are
constants of the compiled graph), which dominates the run time of a 28-mouse study.
This module evaluates *the same log density* (up to an additive constant) and its
gradient with numba functions that are compiled once per machine (``cache=True``) and
take the data as arguments, and hands them to nutpie through its public
``nutpie.compiled_pyfunc.from_pyfunc``.  ``tests/test_bayes_growth.py`` checks value
differences and gradients against PyMC's at random points, with and without
censoring, for both growth laws.

Used automatically by ``fit_growth(sampler="nutpie")`` when the model is covered:
normal likelihood, default prior families (normal for locations and rates, half-normal
for scales); otherwise the PyMC model is compiled as usual.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .priors import Prior
from .sampling import KernelModel, build_once, kernel_callbacks, pack_buffer

__all__ = ["supported", "FastGrowthModel"]

_NAMES = ("r_control", "effect_A", "effect_B", "interaction")


def supported(design, priors, model: str, likelihood: str) -> bool:
    """True when the hand-written density covers this model and prior choice."""
    if likelihood != "normal" or model not in ("exponential", "gompertz"):
        return False
    need_normal = ["log_baseline_mean"]
    if design.factorial:
        need_normal += list(_NAMES)
    if not design.factorial or len(design.other_arms):
        need_normal.append("r_arm")
    need_half = ["sigma_baseline", "sigma_animal", "sigma"] + (["beta"] if model == "gompertz" else [])
    return (all(priors[n].dist == "normal" for n in need_normal)
            and all(priors[n].dist == "halfnormal" for n in need_half))


_KERNEL = _EVALUATE = None  # set by _kernel()
_HDR = 16


@build_once
def _kernel():
    """The log density kernel and its buffer reader, compiled (or loaded from numba's on-disk cache)."""
    import numba

    @numba.njit(cache=True, fastmath=False)
    def logp_grad(x, n_rate, A, mu_r, prec_r, lbm_mu, lbm_sd, hs, gompertz, animal_arm, t, y, cens,
                  obs_animal, out):
        n_an = animal_arm.shape[0]
        n_arm = A.shape[0]
        n_obs = t.shape[0]
        out[:] = 0.0
        theta = x[:n_rate]
        k = n_rate
        lbm = x[k]
        u_b = x[k + 1]
        u_a = x[k + 2]
        u_s = x[k + 3]
        zb = x[k + 4:k + 4 + n_an]
        zr = x[k + 4 + n_an:k + 4 + 2 * n_an]
        sb = math.exp(u_b)
        sa = math.exp(u_a)
        sig = math.exp(u_s)
        beta = 0.0
        if gompertz:
            beta = math.exp(x[k + 4 + 2 * n_an])
        lp = 0.0
        # Gaussian prior on the rate parameters
        for i in range(n_rate):
            acc = 0.0
            for j in range(n_rate):
                acc += prec_r[i, j] * (theta[j] - mu_r[j])
            lp -= 0.5 * (theta[i] - mu_r[i]) * acc
            out[i] -= acc
        r_arm = np.zeros(n_arm)
        for i in range(n_arm):
            for j in range(n_rate):
                r_arm[i] += A[i, j] * theta[j]
        # population priors
        lp -= 0.5 * ((lbm - lbm_mu) / lbm_sd) ** 2
        out[k] -= (lbm - lbm_mu) / lbm_sd ** 2
        lp += -0.5 * (sb / hs[0]) ** 2 + u_b
        lp += -0.5 * (sa / hs[1]) ** 2 + u_a
        lp += -0.5 * (sig / hs[2]) ** 2 + u_s
        g_sb = -sb / hs[0] ** 2
        g_sa = -sa / hs[1] ** 2
        g_sig = -sig / hs[2] ** 2
        g_beta = 0.0
        if gompertz:
            lp += -0.5 * (beta / hs[3]) ** 2 + x[k + 4 + 2 * n_an]
            g_beta = -beta / hs[3] ** 2
        lb = np.empty(n_an)
        r = np.empty(n_an)
        for i in range(n_an):
            lp -= 0.5 * (zb[i] * zb[i] + zr[i] * zr[i])
            lb[i] = lbm + sb * zb[i]
            r[i] = r_arm[int(animal_arm[i])] + sa * zr[i]
        g_lb = np.zeros(n_an)
        g_r = np.zeros(n_an)
        inv_s = 1.0 / sig
        for j in range(n_obs):
            a = int(obs_animal[j])
            tj = t[j]
            if gompertz:
                e = math.exp(-beta * tj)
                g = -math.expm1(-beta * tj) / beta
                dg = (tj * e * beta - (1.0 - e)) / (beta * beta)
            else:
                g = tj
                dg = 0.0
            mu = lb[a] + r[a] * g
            z = (y[j] - mu) * inv_s
            if cens[j] > 0.5:
                # log Phi(z) and its derivative phi(z)/Phi(z)
                if z > -30.0:
                    Phi = 0.5 * math.erfc(-z / math.sqrt(2.0))
                    lphi = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
                    lp += math.log(Phi)
                    ratio = math.exp(lphi - math.log(Phi))
                else:  # asymptotic expansion of the normal tail
                    zz = z * z
                    s = 1.0 - 1.0 / zz + 3.0 / (zz * zz) - 15.0 / (zz * zz * zz)
                    lp += -0.5 * zz - 0.5 * math.log(2.0 * math.pi) - math.log(-z) + math.log(s)
                    ratio = -z / s
                dmu = -ratio * inv_s
                g_sig += -ratio * z * inv_s
            else:
                lp += -0.5 * z * z - u_s
                dmu = z * inv_s
                g_sig += (z * z - 1.0) * inv_s
            g_lb[a] += dmu
            g_r[a] += dmu * g
            if gompertz:
                g_beta += dmu * r[a] * dg
        # back-propagate to the sampled parameters
        g_rarm = np.zeros(n_arm)
        for i in range(n_an):
            out[k] += g_lb[i]
            g_sb += g_lb[i] * zb[i]
            out[k + 4 + i] = g_lb[i] * sb - zb[i]
            g_rarm[int(animal_arm[i])] += g_r[i]
            g_sa += g_r[i] * zr[i]
            out[k + 4 + n_an + i] = g_r[i] * sa - zr[i]
        for j in range(n_rate):
            for i in range(n_arm):
                out[j] += A[i, j] * g_rarm[i]
        out[k + 1] = g_sb * sb + 1.0
        out[k + 2] = g_sa * sa + 1.0
        out[k + 3] = g_sig * sig + 1.0
        if gompertz:
            out[k + 4 + 2 * n_an] = g_beta * beta + 1.0
        return lp

    # the reader calls the kernel through the module global _KERNEL (see sampling.kernel_callbacks)
    @numba.njit(cache=True)
    def evaluate(x, out, buf):
        n_rate, n_arm, n_an, n_obs = int(buf[1]), int(buf[2]), int(buf[3]), int(buf[4])
        k = _HDR
        A = buf[k:k + n_arm * n_rate].reshape((n_arm, n_rate))
        k += n_arm * n_rate
        mu_r = buf[k:k + n_rate]
        k += n_rate
        prec = buf[k:k + n_rate * n_rate].reshape((n_rate, n_rate))
        k += n_rate * n_rate
        animal_arm = buf[k:k + n_an]
        k += n_an
        t = buf[k:k + n_obs]
        y = buf[k + n_obs:k + 2 * n_obs]
        cens = buf[k + 2 * n_obs:k + 3 * n_obs]
        obs_animal = buf[k + 3 * n_obs:k + 4 * n_obs]
        return _KERNEL(x, n_rate, A, mu_r, prec, buf[7], buf[8], buf[9:13], buf[6] > 0.5, animal_arm, t, y,
                       cens, obs_animal, out)

    return logp_grad, evaluate


# numba C callbacks for nutpie (no Python in the sampling loop); cached on disk
_cfuncs = functools.partial(kernel_callbacks, __name__)


class FastGrowthModel(KernelModel):
    """The growth model's density as numba functions, for nutpie's ``from_pyfunc``.

    Parameters
    ----------
    arrays : GrowthArrays
    design : GrowthDesign
    priors : dict of str to Prior
    model : {"exponential", "gompertz"}
    """

    def __init__(self, arrays, design, priors: dict[str, Prior], model: str = "exponential"):
        from .growth import _PATTERNS

        self.arrays, self.design, self.model = arrays, design, model
        n_arm = arrays.n_arms
        if design.factorial:
            P = _PATTERNS
            mvec = np.array([priors[n].params["mu"] for n in _NAMES])
            cov = P @ np.diag([priors[n].params["sigma"] ** 2 for n in _NAMES]) @ P.T
            k = len(design.other_arms)
            A = np.zeros((n_arm, 4 + k))
            A[:, :4] = design.X @ np.linalg.inv(P)
            A[design.other_arms, 4 + np.arange(k)] = 1.0
            mu = np.concatenate([P @ mvec, np.full(k, priors["r_arm"].params["mu"])])
            prec = np.zeros((4 + k, 4 + k))
            prec[:4, :4] = np.linalg.inv(cov)
            prec[4 + np.arange(k), 4 + np.arange(k)] = 1.0 / priors["r_arm"].params["sigma"] ** 2
            self.rate_names = [("rate_factorial", 4)] + ([("r_other", k)] if k else [])
        else:
            A = np.eye(n_arm)
            mu = np.full(n_arm, priors["r_arm"].params["mu"])
            prec = np.eye(n_arm) / priors["r_arm"].params["sigma"] ** 2
            self.rate_names = [("r_arm", n_arm)]
        self.A, self.mu_r, self.prec_r = (np.ascontiguousarray(v, dtype=float) for v in (A, mu, prec))
        self.prior_sd = np.sqrt(np.diag(np.linalg.inv(prec)))
        self.lbm = (priors["log_baseline_mean"].params["mu"], priors["log_baseline_mean"].params["sigma"])
        hs = [priors[n].params["sigma"] for n in ("sigma_baseline", "sigma_animal", "sigma")]
        if model == "gompertz":
            hs.append(priors["beta"].params["sigma"])
        self.hs = np.array(hs, float)
        self.n_rate = A.shape[1]
        self.n_an = arrays.n_animals
        self.ndim = self.n_rate + 4 + 2 * self.n_an + (1 if model == "gompertz" else 0)
        self.data = tuple(np.ascontiguousarray(v, dtype=float) for v in (
            arrays.animal_arm, arrays.obs_time, arrays.obs_log_size, arrays.obs_censored, arrays.obs_animal))

    # ------------------------------------------------------------------ density
    def logp_and_grad(self, x):
        """Log density (up to a constant) and gradient at the unconstrained point ``x``."""
        out = np.empty(self.ndim)
        lp = _kernel()(np.asarray(x, float), self.n_rate, self.A, self.mu_r, self.prec_r, self.lbm[0],
                       self.lbm[1], self.hs, self.model == "gompertz", *self.data, out)
        return lp, out

    def split(self, x):
        """Unconstrained vector -> dict of named (natural-scale) parameter arrays (leading dims kept)."""
        x = np.asarray(x, float)
        out = {}
        k = 0
        for name, n in self.rate_names:
            out[name] = x[..., k:k + n]
            k += n
        out["log_baseline_mean"] = x[..., k]
        out["sigma_baseline"] = np.exp(x[..., k + 1])
        out["sigma_animal"] = np.exp(x[..., k + 2])
        out["sigma"] = np.exp(x[..., k + 3])
        out["z_baseline"] = x[..., k + 4:k + 4 + self.n_an]
        out["z_rate"] = x[..., k + 4 + self.n_an:k + 4 + 2 * self.n_an]
        if self.model == "gompertz":
            out["beta"] = np.exp(x[..., k + 4 + 2 * self.n_an])
        return out

    def initial_point(self, seed) -> np.ndarray:
        """A random start: prior means jittered by half a prior sd (unconstrained scale)."""
        rng = np.random.default_rng(seed)
        x = np.empty(self.ndim)
        k = self.n_rate
        x[:k] = self.mu_r + 0.5 * self.prior_sd * rng.uniform(-1, 1, k)
        x[k] = self.lbm[0] + 0.1 * rng.uniform(-1, 1)
        x[k + 1:k + 4] = np.log(0.5 * self.hs[:3]) + 0.5 * rng.uniform(-1, 1, 3)
        x[k + 4:k + 4 + 2 * self.n_an] = 0.5 * rng.uniform(-1, 1, 2 * self.n_an)
        if self.model == "gompertz":
            x[-1] = np.log(0.5 * self.hs[3]) + 0.5 * rng.uniform(-1, 1)
        return x

    # ------------------------------------------------------------------ nutpie
    def _buffer(self) -> np.ndarray:
        return pack_buffer(_HDR, (self.n_rate, self.A.shape[0], self.n_an, len(self.data[1]), self.ndim,
                                  float(self.model == "gompertz"), self.lbm[0], self.lbm[1], *self.hs),
                           [self.A, self.mu_r, self.prec_r, *self.data])

    def sample(self, *, draws, tune, chains, seed, target_accept=0.9, progress=False, cores=None):
        """Sample with nutpie; returns InferenceData shaped like the PyMC path's posterior."""
        import xarray as xr

        run = self.run_nutpie(draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                              progress=progress, cores=cores)
        self.interface = run["interface"]
        x = run["raw"].posterior["x"].values  # (chain, draw, ndim)
        p = self.split(x)
        a = self.arrays
        lb = p["log_baseline_mean"][..., None] + p["sigma_baseline"][..., None] * p["z_baseline"]
        theta = np.concatenate([p[name] for name, _ in self.rate_names], axis=-1)
        r_arm = theta @ self.A.T
        r_an = r_arm[..., a.animal_arm] + p["sigma_animal"][..., None] * p["z_rate"]
        C, D = x.shape[:2]
        coords = {"chain": np.arange(C), "draw": np.arange(D), "animal": [str(v) for v in a.animal_labels],
                  "arm": [str(v) for v in a.arm_labels]}
        dims = {"z_baseline": ("animal",), "z_rate": ("animal",), "r_arm": ("arm",), "log_baseline": ("animal",),
                "r_animal": ("animal",), "rate_factorial": ("pattern",), "r_other": ("other_arm",)}
        values = dict(p)
        if self.design.factorial:
            coords["pattern"] = ["none", "A", "B", "AB"]
            from .growth import _PATTERNS

            coef = p["rate_factorial"] @ np.linalg.inv(_PATTERNS).T
            for i, n in enumerate(_NAMES):
                values[n] = coef[..., i]
            if len(self.design.other_arms):
                coords["other_arm"] = [str(a.arm_labels[i]) for i in self.design.other_arms]
        values.update({"r_arm": r_arm, "log_baseline": lb, "r_animal": r_an})
        post = xr.Dataset({k: (("chain", "draw") + dims.get(k, ()), v) for k, v in values.items()}, coords=coords)
        return self.inference_data(post, run)
