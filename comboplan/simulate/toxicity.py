r"""Exposure-driven body-weight model: an indirect-response (turnover) model for toxicity.

Body weight :math:`W` (g) is produced at a rate :math:`k_{in}(t)` and lost at a first-order
rate :math:`k_{out} W` (Dayneka, Garg & Jusko 1993, J Pharmacokinet Biopharm 21:457-478;
Sharma & Jusko 1998, Br J Clin Pharmacol 45:229-239).  The drug either **inhibits the
production** (``mechanism="inhibit_kin"``, Jusko's model I)

.. math:: \frac{dW}{dt} = k_{in}(t)\,\bigl(1 - E(C_e)\bigr) - k_{out}\,W

or **stimulates the loss** (``mechanism="stimulate_kout"``, model IV)

.. math:: \frac{dW}{dt} = k_{in}(t) - k_{out}\,\bigl(1 + E(C_e)\bigr)\,W

with a sigmoid Emax drug effect :math:`E(C) = E_{max} C^n / (EC_{50}^n + C^n)`
(:math:`E_{max} = I_{max} \le 1` for inhibition, :math:`S_{max} > 0` for stimulation).
:math:`C_e` is the plasma concentration of :mod:`comboplan.models.pk` (``ke0=None``) or an
effect-compartment concentration :math:`dC_e/dt = k_{e0}(C - C_e)`, :math:`C_e(0) = 0`
(Sheiner et al. 1979, Clin Pharmacol Ther 25:358-371), which delays the nadir behind the
plasma peak.  Natural growth of the animal is a linear drug-free trajectory
:math:`W_{nat}(t) = W_0 (1 + g t)`, obtained with
:math:`k_{in}(t) = k_{out} W_{nat}(t) + W_0 g` (so :math:`W = W_{nat}` without drug;
:math:`g = 0` gives the classical baseline :math:`k_{in} = k_{out} W_0`).  ``W(0) = W0``.

Because :math:`k_{in} \propto W_0`, the *relative* weight :math:`W/W_0` does not depend on
:math:`W_0`: fits use the % change from baseline, and simulated animals differ in
:math:`W_0` only through the scale.

**Numerics.**  The concentration is closed form; the ODE is integrated by classical RK4
on a grid that restarts with small steps (``0.01 / fastest rate``) at every dose and grows
geometrically (15 % of the time since the dose) up to ``max_step`` (default 0.1 day);
stage-4 concentrations are taken just before the step end, so a bolus at a grid point
never leaks into the previous step.  Agreement with ``scipy.integrate.solve_ivp`` is tested.

**Parameter values.**  No published mouse paclitaxel body-weight turnover parameters are
used: the defaults of :class:`BodyWeightModel` are *illustrative* (chosen so that 10 mg/kg
paclitaxel i.p. weekly with complete i.p. bioavailability gives a nadir of a few percent
and much higher or more frequent doses approach the 20 % humane endpoint) and must be
fitted to the study's own body weights with :func:`fit_body_weight_model`.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ComboplanWarning, DataError, FitError
from ..models.pk import ROUTES, PKModel, Regimen, concentration
from .cohort import ParameterDraws, Variability

__all__ = [
    "BodyWeightModel",
    "BodyWeightSimulation",
    "BodyWeightFit",
    "ToxicityLimit",
    "simulate_body_weight",
    "fit_body_weight_model",
    "evaluate_toxicity",
    "MECHANISMS",
    "PARAM_UNITS",
]

#: the two turnover mechanisms
MECHANISMS = ("inhibit_kin", "stimulate_kout")
_MODEL_PARAMS = ("kout", "emax", "ec50", "hill", "growth", "bw0", "ke0")
_PK_PARAMS = ("V1", "k10", "k12", "k21", "ka")
#: unit of each parameter (``conc`` stands for the model's concentration unit)
PARAM_UNITS = {"kout": "1/day", "emax": "1", "ec50": "conc", "hill": "1", "growth": "1/day", "bw0": "weight",
               "ke0": "1/day"}
ILLUSTRATIVE = ("illustrative values chosen by comboplan (not published estimates); fit them to body weights "
                "with fit_body_weight_model")


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BodyWeightModel:
    """Turnover model of body weight driven by drug concentration (immutable).

    Parameters
    ----------
    kout : float
        First-order loss rate constant of body weight, 1/day (return half-life ln2/kout).
        Default 0.2 (illustrative).
    emax : float
        Maximal drug effect: the fraction of production inhibited (``Imax``, in (0, 1]) for
        ``mechanism="inhibit_kin"``, or the maximal relative increase of ``kout`` (``Smax`` > 0)
        for ``"stimulate_kout"``.  Default 1.0 (illustrative).
    ec50 : float
        Concentration giving half the maximal effect, in ``conc_unit``.  Default 3.0 ug/mL
        (illustrative).
    hill : float
        Hill coefficient (> 0).  Default 1.
    growth : float
        Natural (drug-free) linear growth as a fraction of baseline weight per day, 1/day
        (0.005 = +0.5 %/day), in (-0.05, 0.2).  Default 0.
    bw0 : float
        Typical baseline body weight in ``weight_unit``.  Default 20 g (a young adult mouse).
    ke0 : float or None
        Effect-compartment rate constant, 1/day; ``None`` drives the effect by the plasma
        concentration directly.  Default 1.0 (illustrative: nadir 1-3 days after a dose).
    mechanism : {"inhibit_kin", "stimulate_kout"}
    conc_unit : str
        Concentration unit of ``ec50`` (one accepted by :func:`comboplan.models.pk.concentration`).
    weight_unit : str
    agent : str
        Drug whose concentration drives the effect.
    source : str
        Where the values come from.
    """

    kout: float = 0.2
    emax: float = 1.0
    ec50: float = 3.0
    hill: float = 1.0
    growth: float = 0.0
    bw0: float = 20.0
    ke0: float | None = 1.0
    mechanism: str = "inhibit_kin"
    conc_unit: str = "ug/mL"
    weight_unit: str = "g"
    agent: str = "paclitaxel"
    source: str = ILLUSTRATIVE

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise DataError(f"mechanism must be one of {MECHANISMS}; got {self.mechanism!r}.")
        for nm in ("kout", "emax", "ec50", "hill", "growth", "bw0"):
            try:
                v = float(getattr(self, nm))
            except (TypeError, ValueError):
                raise DataError(f"body-weight parameter {nm} must be a number; got {getattr(self, nm)!r}.") from None
            if not np.isfinite(v):
                raise DataError(f"body-weight parameter {nm} must be finite; got {v!r}.")
            object.__setattr__(self, nm, v)
        for nm in ("kout", "ec50", "hill", "bw0"):
            if not getattr(self, nm) > 0:
                raise DataError(f"body-weight parameter {nm} must be > 0 ({PARAM_UNITS[nm]}); "
                                f"got {getattr(self, nm)!r}.")
        if self.emax < 0:
            raise DataError(f"emax must be >= 0; got {self.emax!r}.")
        if self.mechanism == "inhibit_kin" and self.emax > 1:
            raise DataError(f"emax is the inhibited fraction of production (Imax) for mechanism 'inhibit_kin' and "
                            f"must be <= 1; got {self.emax!r}. Use mechanism='stimulate_kout' for a larger effect.")
        if self.ke0 is not None:
            k = float(self.ke0)
            if not (np.isfinite(k) and k > 0):
                raise DataError(f"ke0 must be > 0 (1/day) or None (plasma drives the effect); got {self.ke0!r}.")
            object.__setattr__(self, "ke0", k)
        if not -0.05 < self.growth < 0.2:
            raise DataError(f"growth is the drug-free weight gain as a fraction of baseline per day (0.005 = "
                            f"+0.5 %/day) and must lie in (-0.05, 0.2); got {self.growth!r}.")

    # -- parameter tables ----------------------------------------------------
    def parameter_names(self) -> list[str]:
        """Names usable in :class:`~comboplan.simulate.Variability`, parameter draws and fits."""
        return [p for p in _MODEL_PARAMS if p != "ke0" or self.ke0 is not None]

    def typical(self) -> dict[str, float]:
        """Typical value of every parameter."""
        return {p: float(getattr(self, p)) for p in self.parameter_names()}

    def units(self) -> dict[str, str]:
        """Unit of every parameter."""
        sub = {"conc": self.conc_unit, "weight": self.weight_unit}
        return {p: sub.get(PARAM_UNITS[p], PARAM_UNITS[p]) for p in self.parameter_names()}

    def with_values(self, **values) -> "BodyWeightModel":
        """Copy with some parameter values replaced."""
        bad = [k for k in values if k not in _MODEL_PARAMS + ("mechanism", "conc_unit", "weight_unit", "agent",
                                                               "source")]
        if bad:
            raise DataError(f"unknown body-weight parameter(s) {bad}; known: {', '.join(_MODEL_PARAMS)}.")
        return replace(self, **values)

    def effect(self, c) -> np.ndarray:
        """Drug effect ``E(C) = emax C^n / (ec50^n + C^n)`` (dimensionless) at concentration ``c`` (conc_unit)."""
        return _emax(np.asarray(c, dtype=float), self.emax, self.ec50, self.hill)

    def describe(self) -> str:
        """One line with the values and units."""
        u = self.units()
        vals = ", ".join(f"{k} = {v:.4g} {u[k]}".rstrip() for k, v in self.typical().items())
        return f"body-weight turnover ({self.mechanism}, {self.agent}): {vals}"

    def summary(self) -> str:
        """Parameters, units, equation and source."""
        eq = ("dW/dt = kin(t) (1 - E(Ce)) - kout W" if self.mechanism == "inhibit_kin"
              else "dW/dt = kin(t) - kout (1 + E(Ce)) W")
        ce = "Ce = plasma C" if self.ke0 is None else "dCe/dt = ke0 (C - Ce)"
        return "\n".join([self.describe(), f"  {eq}; kin(t) = kout W0 (1 + g t) + W0 g; {ce}; "
                          "E = emax C^n / (ec50^n + C^n)", f"  source: {self.source}"])


def _emax(c, emax, ec50, hill):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = np.minimum((np.maximum(c, 0.0) / ec50) ** hill, 1e300)
        return emax * x / (1.0 + x)


# ---------------------------------------------------------------------------
# numerics
# ---------------------------------------------------------------------------

def _regimen_list(regimens) -> list[Regimen]:
    if regimens is None:
        return []
    if isinstance(regimens, Regimen):
        return [regimens]
    out = list(regimens)
    for r in out:
        if not isinstance(r, Regimen):
            raise DataError(f"regimens must be comboplan.models.pk.Regimen objects (or None); got {type(r).__name__}.")
    return out


def _events(regs: Sequence[Regimen]) -> np.ndarray:
    ev = []
    for r in regs:
        if r.amount > 0:
            ev += list(r.times)
            if ROUTES[r.route] == "infusion":
                ev += [t + r.duration for t in r.times]
    return np.unique(np.asarray(ev, dtype=float))


def _fast_rate(pk: PKModel | None, params: Mapping[str, np.ndarray], mechanism: str) -> float:
    rates = [float(np.max(params["kout"]))]
    if mechanism == "stimulate_kout":
        rates.append(float(np.max(params["kout"] * (1 + params["emax"]))))
    if params.get("ke0") is not None:
        rates.append(float(np.max(params["ke0"])))
    if pk is not None:
        lam, _ = pk.exponents()
        rates.append(float(np.max(lam)))
        if pk.ka is not None:
            rates.append(float(np.max(pk.ka)))
    return max(rates)


def _time_grid(t0: float, t_out: np.ndarray, events: np.ndarray, r_fast: float, max_step: float) -> np.ndarray:
    """Integration grid from t0 to the last output time: every output and event time is a node;
    steps restart at ``0.01 / r_fast`` after an event and grow to 15 % of the time since it."""
    t_end = float(t_out[-1])
    ev = events[(events >= t0) & (events <= t_end)]
    bps = np.unique(np.concatenate([[t0], t_out, ev]))
    h0 = min(max_step, 0.01 / max(r_fast, 1e-12))
    pts = [t0]
    t = t0
    j = 1
    while t < t_end:
        k = np.searchsorted(ev, t, side="right") - 1
        tau = t - ev[k] if k >= 0 else np.inf
        h = min(max_step, max(h0, 0.15 * tau))
        while bps[j] <= t:
            j += 1
        nb = bps[j]
        tn = t + h
        if tn >= nb - 0.25 * h0:
            tn = nb
        pts.append(tn)
        t = tn
    return np.asarray(pts)


def _stage_conc(regs, pk, grid, unit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concentrations at RK4 stage times: step start, midpoint and just before the step end."""
    n = grid.size - 1
    regs = [r for r in regs if r.amount > 0]
    if not regs:
        z = np.zeros((1, n))
        return z, z, z
    if pk is None:
        raise DataError("a PK model is needed to turn the regimens into concentrations (pk=...).")
    h = np.diff(grid)
    tt = np.concatenate([grid[:-1], grid[:-1] + 0.5 * h, grid[1:] - 1e-9 * h])
    c = concentration(regs, pk, tt, unit=unit)
    return c[:, :n], c[:, n:2 * n], c[:, 2 * n:]


def _rk4_relative(grid, c1, cm, c4, p: Mapping[str, object], mechanism: str, t0: float, out_idx) -> np.ndarray:
    """Relative weight W/W0 at grid[out_idx]; parameters are scalars or arrays broadcastable to (n,).

    ``c1, cm, c4`` have shape (n or 1, n_steps): concentrations at the start, the midpoint and
    just before the end of each step.
    """
    kout, emax, ec50, hill, g = (np.asarray(p[k], dtype=float) for k in ("kout", "emax", "ec50", "hill", "growth"))
    ke0 = p.get("ke0")
    ke0 = None if ke0 is None else np.asarray(ke0, dtype=float)
    shapes = [a.shape for a in (kout, emax, ec50, hill, g)] + [c1.shape[:1]] + ([ke0.shape] if ke0 is not None else [])
    n = int(np.prod(np.broadcast_shapes(*shapes)))
    out = np.empty((n, len(out_idx)))
    want = {int(i): k for k, i in enumerate(out_idx)}
    inhibit = mechanism == "inhibit_kin"
    if 0 in want:
        out[:, want[0]] = 1.0
    h_all = np.diff(grid)
    # kin(t)/W0 at the stage times of every step: kout (1 + g (t - t0)) + g
    def col(a):
        return a[..., None]

    ko, gg = (col(a) if a.ndim else a for a in (kout, g))
    kin1 = ko * (1.0 + gg * (grid[:-1] - t0)) + gg
    kinm = ko * (1.0 + gg * (grid[:-1] + 0.5 * h_all - t0)) + gg
    kin4 = ko * (1.0 + gg * (grid[1:] - t0)) + gg
    kin1, kinm, kin4 = (np.atleast_2d(k) for k in (kin1, kinm, kin4))
    w = np.ones(n)
    hill_one = bool(np.all(hill == 1.0))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if ke0 is None:
            # the drug effect does not depend on the state: precompute it at every stage time
            em_, ec_, hi_ = (col(a) if a.ndim else a for a in (emax, ec50, hill))
            e1, em, e4 = (_emax(c, em_, ec_, hi_) for c in (c1, cm, c4))
            for i in range(grid.size - 1):
                h = h_all[i]
                if inhibit:
                    a1, a2, a4 = kin1[:, i] * (1 - e1[:, i]), kinm[:, i] * (1 - em[:, i]), kin4[:, i] * (1 - e4[:, i])
                    k1 = a1 - kout * w
                    k2 = a2 - kout * (w + 0.5 * h * k1)
                    k3 = a2 - kout * (w + 0.5 * h * k2)
                    k4 = a4 - kout * (w + h * k3)
                else:
                    b1, b2, b4 = kout * (1 + e1[:, i]), kout * (1 + em[:, i]), kout * (1 + e4[:, i])
                    k1 = kin1[:, i] - b1 * w
                    k2 = kinm[:, i] - b2 * (w + 0.5 * h * k1)
                    k3 = kinm[:, i] - b2 * (w + 0.5 * h * k2)
                    k4 = kin4[:, i] - b4 * (w + h * k3)
                w = w + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
                if i + 1 in want:
                    out[:, want[i + 1]] = w
            return out

        ce = np.zeros(n)
        inv_ec = 1.0 / ec50

        def eff(x):
            x = np.maximum(x, 0.0) * inv_ec
            if not hill_one:
                x = x ** hill
            return emax * x / (1.0 + x)

        for i in range(grid.size - 1):
            h = h_all[i]
            ca, cb, cc = c1[:, i], cm[:, i], c4[:, i]
            ka_, kb_, kc_ = kin1[:, i], kinm[:, i], kin4[:, i]
            l1 = ke0 * (ca - ce)
            x2 = ce + 0.5 * h * l1
            l2 = ke0 * (cb - x2)
            x3 = ce + 0.5 * h * l2
            l3 = ke0 * (cb - x3)
            x4 = ce + h * l3
            l4 = ke0 * (cc - x4)
            if inhibit:
                k1 = ka_ * (1 - eff(ce)) - kout * w
                k2 = kb_ * (1 - eff(x2)) - kout * (w + 0.5 * h * k1)
                k3 = kb_ * (1 - eff(x3)) - kout * (w + 0.5 * h * k2)
                k4 = kc_ * (1 - eff(x4)) - kout * (w + h * k3)
            else:
                k1 = ka_ - kout * (1 + eff(ce)) * w
                k2 = kb_ - kout * (1 + eff(x2)) * (w + 0.5 * h * k1)
                k3 = kb_ - kout * (1 + eff(x3)) * (w + 0.5 * h * k2)
                k4 = kc_ - kout * (1 + eff(x4)) * (w + h * k3)
            w = w + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            ce = ce + h / 6.0 * (l1 + 2 * l2 + 2 * l3 + l4)
            if i + 1 in want:
                out[:, want[i + 1]] = w
    return out


def _relative_course(regs, pk, t_out, params: Mapping[str, object], model: BodyWeightModel, *,
                     t0: float = 0.0, max_step: float = 0.1, pk_params: Mapping[str, np.ndarray] | None = None,
                     chunk: int = 20000) -> np.ndarray:
    """W/W0 at ``t_out`` (>= t0) for one arm; returns (n, n_t) with n the broadcast size of the parameters."""
    t_out = np.asarray(t_out, dtype=float)
    pk_eff = pk.with_params(**pk_params) if (pk is not None and pk_params) else pk
    p = dict(params)
    if model.ke0 is None:
        p["ke0"] = None
    rf = _fast_rate(pk_eff, {k: np.asarray(v, dtype=float) if v is not None else None for k, v in p.items()},
                    model.mechanism)
    grid = _time_grid(float(t0), t_out, _events(regs), rf, max_step)
    out_idx = np.searchsorted(grid, t_out)
    sizes = [np.size(v) for v in p.values() if v is not None] + [np.size(v) for v in (pk_params or {}).values()]
    n = max(sizes + [1])
    if not pk_params:
        c1, cm, c4 = _stage_conc(regs, pk_eff, grid, model.conc_unit)
        return _rk4_relative(grid, c1, cm, c4, p, model.mechanism, float(t0), out_idx)
    res = np.empty((n, t_out.size))
    for s in range(0, n, chunk):
        sl = slice(s, min(n, s + chunk))
        pk_c = pk.with_params(**{k: np.asarray(v)[sl] for k, v in pk_params.items()})
        c1, cm, c4 = _stage_conc(regs, pk_c, grid, model.conc_unit)
        pc = {k: (np.asarray(v)[sl] if v is not None and np.size(v) > 1 else v) for k, v in p.items()}
        r = _rk4_relative(grid, c1, cm, c4, pc, model.mechanism, float(t0), out_idx)
        res[sl] = np.broadcast_to(r, (sl.stop - sl.start, t_out.size))
    return res


# ---------------------------------------------------------------------------
# individual parameters
# ---------------------------------------------------------------------------

def _check_names(model: BodyWeightModel, names, what: str) -> None:
    known = model.parameter_names() + [f"pk.{f}" for f in _PK_PARAMS]
    bad = [k for k in names if k not in known]
    if bad:
        raise DataError(f"{what} for unknown parameter(s) {bad}; known: {', '.join(known)}.")


def _individual(model: BodyWeightModel, pk: PKModel | None, n_draws: int, n_animals: int,
                variability: Variability | None, draws: ParameterDraws | None, z: Mapping[str, np.ndarray]):
    """Per-individual parameters, arrays of n_draws * n_animals (or scalars when constant)."""
    var = variability or Variability()
    typ = model.typical()
    if pk is not None:
        for f in _PK_PARAMS:
            v = getattr(pk, f)
            if v is not None and np.ndim(v) == 0 and (f not in ("k12", "k21") or pk.n_compartments == 2):
                typ[f"pk.{f}"] = float(v)
    shape = (n_draws, n_animals)
    out: dict[str, object] = {}
    for name, val in typ.items():
        pop = np.full(shape, val)
        if draws is not None and name in draws.values:
            pop = np.broadcast_to(draws.values[name][:, None], shape).astype(float)
        cv = var.cv.get(name, 0.0)
        if cv > 0:
            zz = z[name].reshape(shape)
            if name == "growth":
                ind = pop + cv * zz  # additive normal: the "CV" of growth is an SD in 1/day
            elif name == "emax" and model.mechanism == "inhibit_kin":
                om = math.sqrt(math.log1p(cv * cv))
                with np.errstate(divide="ignore"):
                    lg = np.log(pop) - np.log1p(-pop)
                ind = 1.0 / (1.0 + np.exp(-(lg + om * zz)))  # logit-normal keeps Imax in (0, 1)
            else:
                ind = pop * np.exp(math.sqrt(math.log1p(cv * cv)) * zz)
        else:
            ind = pop
        flat = np.asarray(ind, dtype=float).ravel()
        out[name] = flat if np.any(flat != flat[0]) else float(flat[0])
    pk_params = {k[3:]: v for k, v in out.items() if k.startswith("pk.") and np.ndim(v)}
    params = {k: v for k, v in out.items() if not k.startswith("pk.")}
    return params, pk_params


def _noise_names(model: BodyWeightModel, pk: PKModel | None) -> list[str]:
    names = list(model.parameter_names())
    names += [f"pk.{f}" for f in _PK_PARAMS]
    return names


def _simulate_relative(arms: Mapping[str, list], pk, times, model, *, n_animals, variability, draws, seed,
                       common_animals=True, max_step=0.1):
    """(n_arms, n_draws, n_animals, n_t) relative weights and the bw0 array (n_arms, n_draws, n_animals)."""
    times = np.asarray(times, dtype=float)
    n_draws = draws.n_draws if draws is not None else 1
    if variability is not None:
        _check_names(model, variability.cv, "variability")
    if draws is not None:
        _check_names(model, draws.values, "parameter draws")
    base = seed if not isinstance(seed, np.random.Generator) else int(seed.integers(2 ** 63))
    ss = np.random.SeedSequence(base)
    arm_ss = ss.spawn(len(arms) + 1)
    names = _noise_names(model, pk)
    n_ind = n_draws * n_animals
    rel = np.empty((len(arms), n_draws, n_animals, times.size))
    bw0 = np.empty((len(arms), n_draws, n_animals))
    for i, (_, regs) in enumerate(arms.items()):
        rng = np.random.default_rng(arm_ss[0] if common_animals else arm_ss[i + 1])
        z = {k: rng.standard_normal(n_ind) for k in names}
        params, pk_params = _individual(model, pk, n_draws, n_animals, variability, draws, z)
        b = params.pop("bw0")
        if not _events(regs).size:
            pk_params = {}
        r = _relative_course(regs, pk, times, params, model, max_step=max_step, pk_params=pk_params or None)
        rel[i] = np.broadcast_to(r, (n_ind, times.size)).reshape(n_draws, n_animals, times.size)
        bw0[i] = np.broadcast_to(np.asarray(b, dtype=float), (n_ind,)).reshape(n_draws, n_animals)
    return rel, bw0


# ---------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BodyWeightSimulation:
    """Simulated body weights (immutable).

    Attributes
    ----------
    dataset : xarray.Dataset
        ``weight`` (true), ``observed`` (with measurement noise) in the weight unit and
        ``change_pct`` (true % change from baseline), dims ``(arm, draw, subject, time)``
        (``subject`` numbers the virtual animals: column ``animal`` of :meth:`to_frame`);
        attrs record units, model, seed.
    model : BodyWeightModel
    settings : dict
    """

    dataset: object
    model: BodyWeightModel
    settings: Mapping = field(default_factory=dict)

    def to_xarray(self):
        """The :class:`xarray.Dataset`."""
        return self.dataset

    def to_netcdf(self, path) -> None:
        """Write the simulation to netCDF at ``path``: the dataset at the root, the model and settings in
        the ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        from ..results import write_result

        ds = self.dataset
        write_result(self, path, dataset=ds.assign_coords(arm=ds["arm"].astype(str)))

    def to_frame(self, draw: int | None = 0) -> pd.DataFrame:
        """Tidy table ``arm, draw, animal, subject, time, weight`` (observed), ``true_weight``.

        Parameters
        ----------
        draw : int or None
            One parameter draw (default the first) or all (None).  ``subject`` labels are
            unique per arm, draw and animal, so the table feeds
            :func:`comboplan.growth.bodyweight.bodyweight_endpoints` directly.
        """
        ds = self.dataset if draw is None else self.dataset.isel(draw=[int(draw)])
        df = ds[["observed", "weight"]].to_dataframe().reset_index().rename(columns={"subject": "animal"})
        df = df.rename(columns={"weight": "true_weight"}).rename(columns={"observed": "weight"})
        df["subject"] = (df["arm"].astype(str) + "-d" + df["draw"].astype(str) + "-a" + df["animal"].astype(str))
        return df[["arm", "draw", "animal", "subject", "time", "weight", "true_weight"]]

    def endpoints(self, draw: int = 0, *, humane_loss: float = 0.20, observed: bool = True, **kwargs):
        """:func:`comboplan.growth.bodyweight.bodyweight_endpoints` of one draw's virtual animals.

        Parameters
        ----------
        draw : int
        humane_loss : float
            Fraction of baseline (0.2 = 20 %).
        observed : bool
            Use the noisy weighings (True) or the true weights.
        **kwargs
            Further options of :func:`~comboplan.growth.bodyweight.bodyweight_endpoints`.
        """
        from ..growth.bodyweight import bodyweight_endpoints

        df = self.to_frame(draw)
        col = "weight" if observed else "true_weight"
        return bodyweight_endpoints(df, subject="subject", arm="arm", time="time", weight=col,
                                    humane_loss=humane_loss, weight_unit=self.model.weight_unit, **kwargs)

    def summary(self) -> str:
        """Mean and 5-95 % range of the nadir (true % change) per arm."""
        ds = self.dataset
        lines = [f"Simulated body weight: {ds.sizes['arm']} arm(s) x {ds.sizes['draw']} draw(s) x "
                 f"{ds.sizes['subject']} animal(s); days {ds['time'].values.min():g}-{ds['time'].values.max():g}; "
                 f"seed {ds.attrs.get('seed')}.", "  " + self.model.describe()]
        for a in ds["arm"].values:
            nad = ds["change_pct"].sel(arm=a).min("time").values.ravel()
            lines.append(f"  {a}: nadir mean {nad.mean():+.1f} % (5-95 %: {np.quantile(nad, 0.05):+.1f} to "
                         f"{np.quantile(nad, 0.95):+.1f} %)")
        return "\n".join(lines)

    def plot(self, ax=None, level: float = 0.9, *, kind: str = "change"):
        """Median % change per arm with a central ``level`` band over draws x animals (``kind="change"``,
        the only kind); returns the Axes."""
        from ..plot._common import new_axes
        from ..results import check_kind

        check_kind(kind, ("change",), "BodyWeightSimulation")
        ax = new_axes(ax)
        ds = self.dataset
        t = ds["time"].values
        for a in ds["arm"].values:
            v = ds["change_pct"].sel(arm=a).values.reshape(-1, t.size)
            (line,) = ax.plot(t, np.median(v, axis=0), label=str(a))
            lo, hi = np.quantile(v, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
            ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.15)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("time (day)")
        ax.set_ylabel("body weight change from baseline (%)")
        ax.set_title(f"median and {level:.0%} band")
        ax.legend(fontsize=8)
        return ax


def _arm_map(regimens) -> dict[str, list]:
    if isinstance(regimens, Mapping):
        if not regimens:
            raise DataError("give at least one arm (name -> regimen(s)).")
        return {str(k): _regimen_list(v) for k, v in regimens.items()}
    return {"arm": _regimen_list(regimens)}


def simulate_body_weight(regimens, pk: PKModel | None, times, params: BodyWeightModel | None = None, *,
                         n_animals: int = 1, variability: Variability | None = None,
                         draws: ParameterDraws | None = None, residual_cv: float = 0.0, residual_sd: float = 0.0,
                         seed=None, common_animals: bool = True, max_step: float = 0.1) -> BodyWeightSimulation:
    """Simulate body-weight courses of virtual animals under dosing regimens.

    Parameters
    ----------
    regimens : Regimen, sequence of Regimen, or mapping arm -> Regimen(s) or None
        Administrations of the drug driving the model (superposed within an arm); a mapping
        simulates several arms (``None`` or ``[]`` = vehicle).  Times in days; day 0 is
        the baseline (``W(0) = W0``).
    pk : PKModel or None
        PK of the drug (:func:`comboplan.models.pk.paclitaxel_mouse`); None only when no
        arm is dosed.
    times : array_like
        Output days (>= 0, increasing).
    params : BodyWeightModel, optional
        Turnover parameters (default: the illustrative :class:`BodyWeightModel`).
    n_animals : int
        Virtual animals per arm and draw.
    variability : Variability, optional
        Between-animal CVs by parameter name (``kout``, ``emax``, ``ec50``, ``hill``, ``bw0``,
        ``ke0``, ``pk.V1``, ``pk.k10``, ...): log-normal; ``emax`` of an inhibition model is
        logit-normal (log-scale SD ``sqrt(log(1 + CV^2))`` on the logit); for ``growth`` the
        value is an additive SD in 1/day.
    draws : ParameterDraws, optional
        Population-parameter uncertainty (same names).
    residual_cv, residual_sd : float
        Measurement noise of a weighing: proportional (fraction) and additive (weight unit),
        normal; the true weight is kept beside it.
    seed : int or numpy.random.Generator
    common_animals : bool
        Reuse the same virtual animals (random effects) in every arm.
    max_step : float
        Largest integration step, days.

    Returns
    -------
    BodyWeightSimulation
        ``weight``, ``observed``, ``change_pct`` with dims (arm, draw, subject, time).
    """
    import xarray as xr

    model = params if params is not None else BodyWeightModel()
    if not isinstance(model, BodyWeightModel):
        raise DataError(f"params must be a BodyWeightModel; got {type(model).__name__}.")
    arms = _arm_map(regimens)
    times = np.asarray(times, dtype=float).ravel()
    if times.size < 1 or np.any(~np.isfinite(times)) or np.any(times < 0) or np.any(np.diff(times) <= 0):
        raise DataError("times must be finite, >= 0 and increasing (days; day 0 = baseline).")
    if int(n_animals) < 1:
        raise DataError("n_animals must be >= 1.")
    for nm, v in (("residual_cv", residual_cv), ("residual_sd", residual_sd)):
        if not (np.isfinite(v) and v >= 0):
            raise DataError(f"{nm} must be >= 0; got {v!r}.")
    if not max_step > 0:
        raise DataError("max_step must be > 0 (days).")
    if pk is None and any(_events(r).size for r in arms.values()):
        raise DataError("a dosed arm needs the drug's PK model (pk=..., e.g. comboplan.models.pk.paclitaxel_mouse()).")
    sim_t = times if times[0] == 0 else np.concatenate([[0.0], times])
    base = seed if not isinstance(seed, np.random.Generator) else int(seed.integers(2 ** 63))
    s_sim, s_noise = np.random.SeedSequence(base).spawn(2)
    rel, bw0 = _simulate_relative(arms, pk, sim_t, model, n_animals=int(n_animals), variability=variability,
                                  draws=draws, seed=int(s_sim.generate_state(1)[0]),
                                  common_animals=common_animals, max_step=max_step)
    if sim_t.size != times.size:
        rel = rel[..., 1:]
    w = rel * bw0[..., None]
    rng = np.random.default_rng(s_noise)
    obs = w * (1.0 + residual_cv * rng.standard_normal(w.shape)) + residual_sd * rng.standard_normal(w.shape)
    obs = np.maximum(obs, 1e-9 * np.maximum(w, 1e-300))
    n_draws = rel.shape[1]
    ds = xr.Dataset(
        {"weight": (("arm", "draw", "subject", "time"), w, {"units": model.weight_unit}),
         "observed": (("arm", "draw", "subject", "time"), obs, {"units": model.weight_unit}),
         "change_pct": (("arm", "draw", "subject", "time"), 100.0 * (rel - 1.0), {"units": "%"})},
        coords={"arm": list(arms), "draw": np.arange(n_draws), "subject": np.arange(int(n_animals)),
                "time": ("time", times, {"units": "day"})},
        attrs={"weight_unit": model.weight_unit, "time_unit": "day", "model": model.describe(),
               "source": model.source, "seed": str(seed), "residual_cv": residual_cv, "residual_sd": residual_sd,
               "uncertainty": draws.source if draws is not None else "none (typical values)",
               "arms": " | ".join(f"{a}: " + ("; ".join(r.describe() for r in regs if r.amount) or "vehicle")
                                  for a, regs in arms.items())},
    )
    return BodyWeightSimulation(dataset=ds, model=model,
                                settings={"n_animals": int(n_animals), "n_draws": n_draws, "seed": seed,
                                          "pk": getattr(pk, "name", None)})


# ---------------------------------------------------------------------------
# least-squares fit
# ---------------------------------------------------------------------------

def _transform(name: str, mechanism: str) -> str:
    if name == "growth":
        return "identity"
    if name == "emax" and mechanism == "inhibit_kin":
        return "logit"
    return "log"


def _to_x(name, v, mech):
    tr = _transform(name, mech)
    if tr == "log":
        return math.log(v)
    if tr == "logit":
        v = min(max(v, 1e-9), 1 - 1e-9)
        return math.log(v / (1 - v))
    return float(v)


def _from_x(name, x, mech):
    tr = _transform(name, mech)
    x = np.asarray(x, dtype=float)
    if tr == "log":
        return np.exp(x)
    if tr == "logit":
        return 1.0 / (1.0 + np.exp(-x))
    return x


def _dtheta_dx(name, theta, mech):
    tr = _transform(name, mech)
    if tr == "log":
        return theta
    if tr == "logit":
        return theta * (1 - theta)
    return 1.0


@dataclass(frozen=True)
class BodyWeightFit:
    """Least-squares fit of the body-weight turnover model to arm-mean courses (immutable).

    Attributes
    ----------
    params : pandas.DataFrame
        ``param, estimate, stderr, ci_low, ci_high, unit, transform, fixed, identifiable``, and
        ``boot_se, boot_low, boot_high`` (bootstrap over animals; NaN without ``n_boot``).
    cov : pandas.DataFrame
        Covariance of the estimated parameters (natural scale, delta method).
    corr : pandas.DataFrame
        Correlation matrix of the estimates (transformed scale).
    model : BodyWeightModel
        The fitted model (fixed parameters at their given values).
    fitted : pandas.DataFrame
        ``arm, time, n, observed_pct, sem_pct, predicted_pct, residual_pct`` (% change from baseline).
    curves : pandas.DataFrame
        ``arm, time, predicted_pct`` on a fine grid (for plots).
    settings : dict
        Columns, estimated names, weights, residual SD, RSS, dof, condition number, notes.
    """

    params: pd.DataFrame
    cov: pd.DataFrame
    corr: pd.DataFrame
    model: BodyWeightModel
    fitted: pd.DataFrame
    curves: pd.DataFrame
    settings: Mapping = field(default_factory=dict)

    @property
    def identifiable(self) -> bool:
        """True when every estimated parameter passed the identifiability checks."""
        return bool(self.params.loc[~self.params["fixed"], "identifiable"].all())

    @property
    def notes(self) -> tuple:
        """Warnings about identifiability and the fit (strings)."""
        return tuple(self.settings.get("notes", ()))

    def summary(self) -> str:
        """Estimates with SEs and CIs, residual SD and identifiability notes."""
        s = self.settings
        lines = [f"Body-weight turnover fit ({self.model.mechanism}) to arm-mean % change from baseline: "
                 f"{s['n_obs']} means in {len(s['arms'])} arm(s), {s['dof']} residual df; residual SD "
                 f"{s['sigma']:.3g} % points{' (weighted by 1/SEM)' if s['weights'] == 'sem' else ''}."]
        for _, r in self.params.iterrows():
            if r["fixed"]:
                lines.append(f"  {r['param']:6s} = {r['estimate']:.4g} {r['unit']} (fixed)")
            else:
                flag = "" if r["identifiable"] else "  <- poorly identified"
                boot = (f"; bootstrap over animals {r['boot_low']:.4g}-{r['boot_high']:.4g}"
                        if np.isfinite(r.get("boot_low", np.nan)) else "")
                lines.append(f"  {r['param']:6s} = {r['estimate']:.4g} {r['unit']} (SE {r['stderr']:.3g}; "
                             f"{s['ci_level']:.0%} CI {r['ci_low']:.4g}-{r['ci_high']:.4g}{boot}){flag}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_xarray(self):
        """Estimates and covariance as a Dataset with ``units`` attrs.

        Returns
        -------
        xarray.Dataset
            ``estimate``, ``stderr``, ``ci_low``, ``ci_high`` (param) with a per-parameter
            ``unit`` coordinate, ``cov`` (param_i, param_j) and ``observed_pct`` / ``predicted_pct``
            (arm, time).
        """
        import xarray as xr

        p = self.params.set_index("param")
        est = list(self.cov.index)
        f = self.fitted.set_index(["arm", "time"])[["observed_pct", "predicted_pct"]]
        fx = xr.Dataset.from_dataframe(f)
        ds = xr.Dataset(
            {"estimate": ("param", p["estimate"].to_numpy(), {"units": "see the unit coordinate"}),
             "stderr": ("param", p["stderr"].to_numpy(), {"units": "see the unit coordinate"}),
             "ci_low": ("param", p["ci_low"].to_numpy(), {"units": "see the unit coordinate"}),
             "ci_high": ("param", p["ci_high"].to_numpy(), {"units": "see the unit coordinate"}),
             "cov": (("param_i", "param_j"), self.cov.to_numpy(), {"units": "products of the parameters' units"})},
            coords={"param": list(p.index), "unit": ("param", p["unit"].to_numpy()), "param_i": est, "param_j": est},
            attrs={"mechanism": self.model.mechanism, "conc_unit": self.model.conc_unit,
                   "sigma_pct": self.settings["sigma"], "ci_level": self.settings["ci_level"]},
        )
        ds["observed_pct"] = fx["observed_pct"].assign_attrs(units="%")
        ds["predicted_pct"] = fx["predicted_pct"].assign_attrs(units="%")
        return ds

    def to_netcdf(self, path) -> None:
        """Write the fit to netCDF at ``path``: :meth:`to_xarray` at the root, every table in the
        ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        from ..results import write_result

        ds = self.to_xarray()
        write_result(self, path, dataset=ds.assign_coords(unit=ds["unit"].astype(str), arm=ds["arm"].astype(str)))

    def draws(self, n_draws: int, seed=None) -> ParameterDraws:
        """Parameter uncertainty for simulations: multivariate normal on the fitted (log/logit) scale.

        Parameters
        ----------
        n_draws : int
        seed : int or numpy.random.Generator

        Returns
        -------
        ParameterDraws
            Names of the estimated parameters (``kout``, ``emax``, ``ec50``...).
        """
        names = list(self.cov.index)
        if int(n_draws) < 1:
            raise DataError("n_draws must be >= 1.")
        cx = np.asarray(self.settings["cov_x"], dtype=float)
        if not np.all(np.isfinite(cx)):
            raise DataError("the covariance is not estimable (a parameter is not identifiable); fix it or add data "
                            "before drawing parameter uncertainty.")
        mech = self.model.mechanism
        x = np.asarray([_to_x(k, getattr(self.model, k), mech) for k in names])
        rng = np.random.default_rng(seed)
        z = rng.multivariate_normal(x, cx, size=int(n_draws), method="eigh")
        return ParameterDraws({k: _from_x(k, z[:, i], mech) for i, k in enumerate(names)},
                              source="body-weight least-squares covariance")

    def plot(self, *, kind: str = "fit", ax=None):
        """Observed arm means +/- SEM with the fitted curves (:func:`comboplan.plot.toxicity.plot_bodyweight_fit`)."""
        if kind != "fit":
            raise DataError(f"kind must be 'fit'; got {kind!r}.")
        from ..plot.toxicity import plot_bodyweight_fit

        return plot_bodyweight_fit(self, ax=ax)


def fit_body_weight_model(data, dosing: Mapping[str, object], *, pk: PKModel | None,
                          subject: str | None = None, arm: str | None = None, time: str | None = None,
                          weight: str | None = None, baseline: str | float = "first",
                          initial: BodyWeightModel | None = None, estimate: Sequence[str] = ("kout", "emax", "ec50"),
                          weights: str = "none", ci_level: float = 0.95, max_step: float = 0.1,
                          n_starts: int = 5, n_boot: int = 0, seed=None) -> BodyWeightFit:
    """Fit the turnover model's ``kout``, ``emax``, ``ec50`` (...) to per-arm mean weight courses.

    The observed quantity is the arm mean of the % change from each animal's baseline at
    every weighing after the baseline; the prediction is the typical animal's % change
    (a "naive pooled" fit of means: between-animal variability is not estimated, and the
    mean of individual curves is approximated by the curve of typical parameters).
    Estimation is by :func:`scipy.optimize.least_squares` on log (``kout``, ``ec50``,
    ``hill``, ``ke0``) / logit (``emax`` for inhibition) / identity (``growth``) scales,
    from the best of ``n_starts`` screened starting values of ``ec50``.  Standard errors:
    ``s^2 (J'J)^-1`` on the fitted scale (``s^2`` = RSS / residual df), central-difference
    Jacobian, delta method to the natural scale; CIs are t intervals on the fitted scale
    transformed back (asymmetric).  These treat the arm means at different times as
    independent, although the same animals are weighed again and again: with real
    between-animal variability they are optimistic.  ``n_boot`` adds a bootstrap over
    animals that is not.

    **Identifiability.**  With a single dose level ``emax`` and ``ec50`` are usually not
    separable (only their ratio matters when ``C << ec50``), and ``kout`` trades off against
    ``ke0`` when both are estimated.  A parameter is flagged ``identifiable=False`` when the
    Jacobian is rank-deficient or its SE (the larger of the asymptotic and, with ``n_boot``,
    the bootstrap SE) is large (relative SE > 0.5; for ``emax`` of an
    inhibition model SE > 0.25; for ``growth`` SE > 0.002 1/day); a
    :class:`~comboplan.exceptions.ComboplanWarning` then says which and what to do (fix a
    parameter with ``initial=`` and ``estimate=``, or add dose levels).  Correlations above
    0.95 are reported in :attr:`BodyWeightFit.notes`.

    Parameters
    ----------
    data : pandas.DataFrame or BodyWeightEndpoints
        Tidy body weights (then ``subject``, ``arm``, ``time``, ``weight`` are required) or the
        result of :func:`comboplan.growth.bodyweight.bodyweight_endpoints`.  Not modified.
    dosing : mapping arm -> Regimen, sequence of Regimen, or None
        What every arm received (None or [] for vehicle), times in the data's time unit (days)
        on the same clock as the weighings.
    pk : PKModel or None
        PK of the drug (None only if no arm is dosed).
    subject, arm, time, weight : str, optional
        Column names when ``data`` is a DataFrame.
    baseline : "first" or float
        Baseline rule (see ``bodyweight_endpoints``); every animal must share one baseline day.
    initial : BodyWeightModel, optional
        Starting values and the values of fixed parameters (default :class:`BodyWeightModel`).
    estimate : sequence of str
        Parameters to estimate among ``kout, emax, ec50, hill, growth, ke0``.
    weights : {"none", "sem"}
        Unweighted residuals (% points), or divided by each mean's SEM.
    ci_level : float
    max_step : float
        Largest integration step, days.
    n_starts : int
        Starting values of ``ec50`` screened in one vectorised evaluation: ``initial.ec50 x`` 1, 0.1,
        10, 0.01, 100 (first ``n_starts``); the optimiser runs from the best.
    n_boot : int
        Bootstrap replicates over animals (0 = none).  Animals are resampled with replacement
        within each arm, the arm means recomputed and the model refitted; the percentile
        interval and the SD of the replicates appear as ``boot_low``, ``boot_high``,
        ``boot_se``.  Unlike the asymptotic SEs these reflect between-animal variability and
        the repeated weighing of the same animals.  About 0.1-0.5 s per replicate.
    seed : int or numpy.random.Generator
        Seed of the bootstrap.

    Returns
    -------
    BodyWeightFit

    Raises
    ------
    DataError
        Arms without dosing information (or dosing for absent arms), no common baseline day,
        too few means for the number of parameters, bad options.
    FitError
        When the optimiser fails at every start.
    """
    from scipy import optimize, stats

    from ..growth.bodyweight import BodyWeightEndpoints, bodyweight_endpoints

    model0 = initial if initial is not None else BodyWeightModel()
    if not isinstance(model0, BodyWeightModel):
        raise DataError(f"initial must be a BodyWeightModel; got {type(model0).__name__}.")
    est = list(dict.fromkeys(estimate))
    allowed = [p for p in model0.parameter_names() if p != "bw0"]
    bad = [p for p in est if p not in allowed]
    if bad:
        hint = " (ke0 is None in initial: give initial=BodyWeightModel(ke0=...) to estimate it)" if "ke0" in bad else ""
        raise DataError(f"cannot estimate {bad}; choose among {allowed}{hint}.")
    if not est:
        raise DataError("estimate= must name at least one parameter.")
    if weights not in ("none", "sem"):
        raise DataError(f"weights must be 'none' or 'sem'; got {weights!r}.")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie strictly between 0 and 1; got {ci_level!r}.")
    if isinstance(data, BodyWeightEndpoints):
        bw = data
    else:
        if None in (subject, arm, time, weight):
            raise DataError("give subject=, arm=, time= and weight= (column names) when data is a DataFrame, or pass "
                            "the result of bodyweight_endpoints.")
        bw = bodyweight_endpoints(data, subject=subject, arm=arm, time=time, weight=weight, baseline=baseline,
                                  logrank=False)
    bts = np.unique(bw.nadir["baseline_time"].to_numpy())
    if bts.size != 1:
        raise DataError(f"animals have different baseline days ({', '.join(f'{b:g}' for b in bts[:5])}); the model "
                        "starts every arm at one baseline day: pass baseline=<day> on which every animal was weighed.")
    t0 = float(bts[0])
    dosing = dict(dosing)
    arms = list(bw.arms)
    missing = [a for a in arms if a not in dosing]
    if missing:
        raise DataError(f"dosing has no entry for arm(s) {missing!r}; give every arm its regimen(s) "
                        "(None for vehicle).")
    extra = [a for a in dosing if a not in arms]
    if extra:
        raise DataError(f"dosing names arm(s) {extra!r} that are not in the data (arms: {arms!r}).")
    regs = {a: _regimen_list(dosing[a]) for a in arms}
    if pk is None and any(_events(r).size for r in regs.values()):
        raise DataError("dosed arms need the drug's PK model (pk=...).")
    am = bw.arm_means
    am = am[am["time"] > t0 + 1e-12]
    y = am["mean_relative_weight"].to_numpy() * 100.0 - 100.0
    sem = am["sem_change_pct"].to_numpy()
    if weights == "sem":
        badw = ~(np.isfinite(sem) & (sem > 0))
        if badw.any():
            r = am.iloc[int(np.flatnonzero(badw)[0])]
            raise DataError(f"weights='sem' needs >= 2 animals with different weights per arm and time; arm "
                            f"{r['arm']!r} at {r['time']:g} has none. Use weights='none'.")
        wgt = 1.0 / sem
    else:
        wgt = np.ones_like(y)
    m, p = y.size, len(est)
    if m <= p:
        raise DataError(f"{m} arm-mean weighing(s) after baseline cannot determine {p} parameter(s); estimate fewer "
                        "(estimate=[...]) or add weighings.")
    mech = model0.mechanism
    # one integration grid and the concentrations of every arm, computed once (the PK is fixed)
    rf = _fast_rate(pk, {"kout": np.asarray(model0.kout), "emax": np.asarray(model0.emax),
                         "ke0": None if model0.ke0 is None else np.asarray(max(model0.ke0, 1.0))}, mech)
    t_all = np.unique(np.concatenate([[t0], am["time"].to_numpy()]))
    ev_all = np.unique(np.concatenate([_events(regs[a]) for a in arms] + [np.empty(0)]))
    grid = _time_grid(t0, t_all, ev_all, rf, max_step)
    oi = np.searchsorted(grid, t_all)
    stages = [_stage_conc(regs[a], pk, grid, model0.conc_unit) for a in arms]
    C1, CM, C4 = (np.vstack([np.broadcast_to(st[j], (1, grid.size - 1)) for st in stages]) for j in range(3))
    n_arm = len(arms)
    arm_pos = {a: i for i, a in enumerate(arms)}
    obs_row = np.array([arm_pos[a] for a in am["arm"]])
    obs_col = np.searchsorted(t_all, am["time"].to_numpy())
    fixed = {k: getattr(model0, k) for k in model0.parameter_names() if k not in est and k != "bw0"}

    def predict(X):
        """X: (S, p) transformed parameter sets -> (S, m) predicted % change."""
        X = np.atleast_2d(X)
        S = X.shape[0]
        pars = {k: float(v) for k, v in fixed.items()}
        for j, k in enumerate(est):
            pars[k] = np.repeat(_from_x(k, X[:, j], mech), n_arm)
        if model0.ke0 is None:
            pars["ke0"] = None
        rel = _rk4_relative(grid, np.tile(C1, (S, 1)), np.tile(CM, (S, 1)), np.tile(C4, (S, 1)), pars, mech, t0, oi)
        rel = rel.reshape(S, n_arm, t_all.size)
        return 100.0 * (rel[:, obs_row, obs_col] - 1.0)

    def resid(x):
        return (predict(x[None, :])[0] - y) * wgt

    def jac(x):
        hstep = 1e-5 * np.maximum(1.0, np.abs(x))
        X = np.vstack([x + np.diag(hstep), x - np.diag(hstep)])
        P = predict(X) * wgt
        return ((P[:p] - P[p:]) / (2 * hstep[:, None])).T

    lb = np.full(p, -30.0)
    ub = np.full(p, 30.0)
    for j, k in enumerate(est):
        if _transform(k, mech) == "identity":
            lb[j], ub[j] = -0.049, 0.199
    x_init = np.array([_to_x(k, getattr(model0, k), mech) for k in est])
    mult = [1.0, 0.1, 10.0, 0.01, 100.0][:max(1, int(n_starts))] if "ec50" in est else [1.0]
    starts = np.repeat(x_init[None, :], len(mult), axis=0)
    if "ec50" in est:
        starts[:, est.index("ec50")] += np.log(mult)
    starts = np.clip(starts, lb + 1e-6, ub - 1e-6)
    with np.errstate(invalid="ignore", over="ignore"):
        costs = np.nansum(((predict(starts) - y) * wgt) ** 2, axis=1)
    order = np.argsort(np.where(np.isfinite(costs), costs, np.inf))
    best = None
    for k in order:  # the optimiser starts from the best screened value (the next ones only if it fails)
        try:
            r = optimize.least_squares(resid, starts[k], jac=jac, bounds=(lb, ub), method="trf", x_scale="jac",
                                       max_nfev=200)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if np.isfinite(r.cost) and (best is None or r.cost < best.cost):
            best = r
        if best is not None and best.status > 0:
            break
    if best is None:
        raise FitError("the body-weight model could not be fitted from any starting value; check the dosing and the "
                       "PK model, or fix parameters with initial= and estimate=.")
    x = best.x
    J = jac(x)
    res = resid(x)
    dof = m - p
    rss = float(res @ res)
    s2 = rss / dof
    sv = np.linalg.svd(J, compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
    notes = []
    rank_def = not (sv[-1] > 1e-8 * sv[0])
    if rank_def:
        cov_x = np.full((p, p), np.nan)
        notes.append(f"the Jacobian is rank-deficient (condition number {cond:.3g}): the data cannot separate "
                     f"{', '.join(est)}; fix some of them (initial=..., estimate=[...]).")
    else:
        cov_x = s2 * np.linalg.inv(J.T @ J)
    theta = np.array([float(_from_x(k, x[j], mech)) for j, k in enumerate(est)])
    d = np.array([_dtheta_dx(k, theta[j], mech) for j, k in enumerate(est)])
    cov = cov_x * np.outer(d, d)
    se_x = np.sqrt(np.diag(cov_x))
    se = np.sqrt(np.diag(cov))
    tq = stats.t.ppf(0.5 + ci_level / 2, dof)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov_x / np.outer(se_x, se_x)
    boot = np.full((0, p), np.nan)
    if int(n_boot) > 0:
        boot = _bootstrap(bw, am, t0, predict, jac, best.x, wgt, est, mech, lb, ub, int(n_boot), seed, optimize)
    # identifiability is judged on the larger of the asymptotic and the bootstrap SE
    se_judge = se.copy()
    if boot.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bse = np.nanstd(boot, axis=0, ddof=1)
        se_judge = np.where(np.isfinite(bse), np.maximum(se, bse), se)
    ident = np.ones(p, bool)
    for j, k in enumerate(est):
        if k == "growth":
            bad_se, what = se_judge[j] > 0.002, f"SE {se_judge[j]:.2g} 1/day"  # judged against 0.2 %/day
        elif k == "emax" and mech == "inhibit_kin":
            bad_se, what = se_judge[j] > 0.25, f"SE {se_judge[j]:.2g} on a 0-1 scale"
        else:
            rel_se = se_judge[j] / abs(theta[j])
            bad_se, what = rel_se > 0.5, f"relative SE {rel_se:.2g}"
        if rank_def or not np.isfinite(se_judge[j]) or bad_se:
            ident[j] = False
            if not rank_def:
                notes.append(f"{k} is poorly identified ({what}).")
    pairs = [(est[i], est[j], corr[i, j]) for i in range(p) for j in range(i + 1, p)
             if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.95]
    for a, b, r_ in pairs:
        notes.append(f"{a} and {b} are strongly correlated (r = {r_:.3f}): the data determine mainly a combination "
                     "of them; their individual values rest on the model's shape.")
    if not ident.all():
        notes.append("Fix poorly identified parameters (e.g. emax=1, or ke0 from the nadir timing) or add dose levels "
                     "that span the EC50; predictions between the studied doses may still be usable.")
        warnings.warn("body-weight fit: " + " ".join(notes), ComboplanWarning, stacklevel=2)
    if not best.success:
        notes.append(f"optimiser message: {best.message}")
    units = model0.units()
    rows = []
    for k in model0.parameter_names():
        if k == "bw0":
            continue
        if k in est:
            j = est.index(k)
            lo = float(_from_x(k, x[j] - tq * se_x[j], mech)) if np.isfinite(se_x[j]) else np.nan
            hi = float(_from_x(k, x[j] + tq * se_x[j], mech)) if np.isfinite(se_x[j]) else np.nan
            bj = boot[:, j][np.isfinite(boot[:, j])] if boot.size else np.empty(0)
            a_ = (1 - ci_level) / 2
            rows.append({"param": k, "estimate": theta[j], "stderr": se[j], "ci_low": lo, "ci_high": hi,
                         "unit": units[k], "transform": _transform(k, mech), "fixed": False,
                         "identifiable": bool(ident[j]),
                         "boot_se": float(np.std(bj, ddof=1)) if bj.size > 1 else np.nan,
                         "boot_low": float(np.quantile(bj, a_)) if bj.size > 1 else np.nan,
                         "boot_high": float(np.quantile(bj, 1 - a_)) if bj.size > 1 else np.nan})
        else:
            rows.append({"param": k, "estimate": float(getattr(model0, k)), "stderr": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "unit": units[k], "transform": _transform(k, mech), "fixed": True,
                         "identifiable": True, "boot_se": np.nan, "boot_low": np.nan, "boot_high": np.nan})
    fitted_model = replace(model0, **{k: float(theta[j]) for j, k in enumerate(est)},
                           source=f"least-squares fit to arm-mean body weights ({', '.join(arms)})")
    pred = predict(x[None, :])[0]
    fitted = pd.DataFrame({"arm": am["arm"].to_numpy(), "time": am["time"].to_numpy(), "n": am["n"].to_numpy(),
                           "observed_pct": y, "sem_pct": sem, "predicted_pct": pred, "residual_pct": y - pred})
    tmax = float(am["time"].max()) if m else t0
    fine = np.linspace(t0, tmax, 200)
    cur = []
    for a in arms:
        r = _relative_course(regs[a], pk, fine, {k: getattr(fitted_model, k) for k in fitted_model.parameter_names()
                                                 if k != "bw0"}, fitted_model, t0=t0, max_step=max_step)
        cur.append(pd.DataFrame({"arm": a, "time": fine, "predicted_pct": 100.0 * (r[0] - 1.0)}))
    settings = {"arms": tuple(arms), "estimate": tuple(est), "weights": weights, "ci_level": ci_level,
                "n_boot": int(n_boot), "n_boot_ok": int(np.isfinite(boot).all(axis=1).sum()) if boot.size else 0,
                "sigma": math.sqrt(s2), "rss": rss, "dof": dof, "n_obs": m, "condition_number": cond,
                "baseline_time": t0, "cov_x": cov_x, "notes": tuple(notes), "time_unit": bw.settings["time_unit"],
                "dosing": {a: [r.describe() for r in regs[a]] for a in arms}}
    return BodyWeightFit(params=pd.DataFrame(rows), cov=pd.DataFrame(cov, index=est, columns=est),
                         corr=pd.DataFrame(corr, index=est, columns=est), model=fitted_model, fitted=fitted,
                         curves=pd.concat(cur, ignore_index=True), settings=settings)


def _bootstrap(bw, am, t0, predict, jac, x_hat, wgt, est, mech, lb, ub, n_boot, seed, optimize):
    """Refit on arm means of animals resampled within arms; returns (n_boot, p) natural-scale estimates."""
    ch = bw.changes[bw.changes["time"] > t0 + 1e-12]
    rng = np.random.default_rng(seed)
    per_arm = []
    for a in bw.arms:
        rows = np.flatnonzero(am["arm"].to_numpy() == a)
        times = am["time"].to_numpy()[rows]
        sub = ch[ch["arm"] == a]
        animals = pd.unique(bw.nadir.loc[bw.nadir["arm"] == a, "subject"])
        R = np.full((animals.size, times.size), np.nan)
        R[pd.Index(animals).get_indexer(sub["subject"]), np.searchsorted(times, sub["time"].to_numpy())] = \
            sub["relative_weight"].to_numpy()
        per_arm.append((rows, R))
    m = len(am)
    out = np.full((n_boot, len(est)), np.nan)
    for b in range(n_boot):
        yb = np.full(m, np.nan)
        for rows, R in per_arm:
            idx = rng.integers(0, R.shape[0], R.shape[0])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a time no resampled animal reached
                yb[rows] = 100.0 * (np.nanmean(R[idx], axis=0) - 1.0)
        ok = np.isfinite(yb)
        if ok.sum() <= len(est):
            continue
        try:
            r = optimize.least_squares(lambda x: ((predict(x[None, :])[0] - yb) * wgt)[ok], x_hat,
                                       jac=lambda x: jac(x)[ok], bounds=(lb, ub), method="trf", x_scale="jac",
                                       max_nfev=100)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if r.status > 0:
            out[b] = [float(_from_x(k, r.x[j], mech)) for j, k in enumerate(est)]
    return out


# ---------------------------------------------------------------------------
# tolerability limits (used by the dose-reduction explorer)
# ---------------------------------------------------------------------------

_CRITERIA = ("mean_nadir", "p_endpoint")
_LE = r"(<=|≤|=<|<)"
_PCT = r"(\d+(?:\.\d+)?)\s*(%?)"


@dataclass(frozen=True)
class ToxicityLimit:
    """A body-weight model and the limit a tolerated dose must meet.

    Parameters
    ----------
    model : BodyWeightModel
        Typical body-weight parameters (fitted, or the illustrative defaults).
    criterion : {"mean_nadir", "p_endpoint"}
        ``"mean_nadir"``: the mean over animals of the maximal loss (fraction of baseline) must
        be ``<= limit``; ``"p_endpoint"``: the fraction of animals whose loss reaches
        ``humane_loss`` must be ``<= limit``.
    limit : float
        Fraction (0.15 = 15 %).
    humane_loss : float
        Loss defining the humane endpoint, fraction (0.2 = 20 %).
    target_probability : float
        Required probability, over parameter draws, that the criterion holds (a dose is
        *tolerated* when ``P(tolerable) >= target_probability``).
    days : sequence of float, optional
        Weighing days over which the nadir is taken (default: every day from 0 to the last
        efficacy day of the explorer).
    n_animals : int
        Virtual animals per draw.
    variability : Variability, optional
        Between-animal variability of the body-weight (and PK) parameters.  Without it every
        animal is typical, so ``p_endpoint`` is 0 or 1 within a draw.
    draws : ParameterDraws, optional
        Uncertainty of the body-weight parameters (e.g. :meth:`BodyWeightFit.draws`).
    pk : PKModel, optional
        PK of the drug (default: the efficacy model's PK of the same agent).
    max_step : float
        Largest integration step, days.
    """

    model: BodyWeightModel
    criterion: str = "p_endpoint"
    limit: float = 0.10
    humane_loss: float = 0.20
    target_probability: float = 0.8
    days: tuple | None = None
    n_animals: int = 100
    variability: Variability | None = None
    draws: ParameterDraws | None = None
    pk: PKModel | None = None
    max_step: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.model, BodyWeightModel):
            raise DataError(f"model must be a BodyWeightModel; got {type(self.model).__name__}.")
        if self.criterion not in _CRITERIA:
            raise DataError(f"criterion must be one of {_CRITERIA}; got {self.criterion!r}.")
        for nm in ("limit", "humane_loss", "target_probability"):
            v = float(getattr(self, nm))
            if not 0 < v < 1:
                hint = f" Did you mean {v / 100:g}?" if 1 <= v < 100 else ""
                raise DataError(f"{nm} is a fraction in (0, 1); got {getattr(self, nm)!r}.{hint}")
            object.__setattr__(self, nm, v)
        if int(self.n_animals) < 1:
            raise DataError("n_animals must be >= 1.")
        if self.days is not None:
            d = np.asarray(self.days, dtype=float).ravel()
            if d.size < 1 or np.any(d < 0) or np.any(np.diff(d) <= 0):
                raise DataError("toxicity days must be >= 0 and increasing.")
            object.__setattr__(self, "days", tuple(float(x) for x in d))
        if self.variability is not None:
            _check_names(self.model, self.variability.cv, "variability")
        if self.draws is not None:
            _check_names(self.model, self.draws.values, "parameter draws")

    @classmethod
    def parse(cls, model: BodyWeightModel, text: str, **kwargs) -> "ToxicityLimit":
        """Build a limit from a phrase.

        Accepted: ``"mean nadir loss <= 15 %"`` (also ``"mean nadir <= 0.15"``, ``≤``) and
        ``"P(animal reaches >= 20 % loss) <= 10 %"`` (also ``"P(loss >= 20%) <= 0.1"``).

        Parameters
        ----------
        model : BodyWeightModel
        text : str
        **kwargs
            Other fields (``target_probability``, ``n_animals``, ``variability``, ``draws``...).
        """
        t = str(text).strip().lower().replace("≥", ">=").replace("≤", "<=")

        def frac(num, pct):
            v = float(num)
            return v / 100.0 if pct or v >= 1 else v

        m = re.fullmatch(r"mean\s+nadir(?:\s+(?:weight\s+)?loss)?\s*" + _LE + r"\s*" + _PCT, t)
        if m:
            return cls(model, criterion="mean_nadir", limit=frac(m.group(2), m.group(3)), **kwargs)
        m = re.fullmatch(r"p\s*\(\s*[^()]*?(?:>=|=>|>)\s*" + _PCT + r"[^()]*\)\s*" + _LE + r"\s*" + _PCT, t)
        if m:
            return cls(model, criterion="p_endpoint", humane_loss=frac(m.group(1), m.group(2)),
                       limit=frac(m.group(4), m.group(5)), **kwargs)
        raise DataError(f"toxicity limit {text!r} not understood; write e.g. 'mean nadir loss <= 15 %' or "
                        "'P(animal reaches >= 20 % loss) <= 10 %'.")

    def describe(self) -> str:
        """The criterion in words."""
        if self.criterion == "mean_nadir":
            c = f"mean nadir loss <= {100 * self.limit:g} %"
        else:
            c = f"P(animal reaches >= {100 * self.humane_loss:g} % loss) <= {100 * self.limit:g} %"
        return c

    def evaluate(self, arms: Mapping[str, object], pk: PKModel | None, days=None, seed=None):
        """Toxicity of every arm: metrics per draw and whether they meet the limit.

        Parameters
        ----------
        arms : mapping name -> Regimen(s) or None
        pk : PKModel or None
            Used when the limit has no ``pk`` of its own.
        days : sequence of float, optional
            Weighing days (when the limit does not fix them).
        seed : int or Generator

        Returns
        -------
        table : pandas.DataFrame
            Per arm: ``mean_nadir_pct`` (median over draws of the mean max loss, %, >= 0),
            ``p_endpoint`` (median over draws of the fraction of animals reaching the humane
            loss), ``metric`` (the criterion's value, fraction), ``tox_low``, ``tox_high`` (90 %
            band of the metric over draws), ``p_tolerable``, ``tolerated``, ``n_draws``.
        metric_draws : numpy.ndarray, shape (n_arms, n_draws)
        """
        pk_use = self.pk if self.pk is not None else pk
        d = self.days if self.days is not None else days
        if d is None:
            raise DataError("toxicity days are needed (ToxicityLimit(days=...) or the explorer's days).")
        d = np.asarray(d, dtype=float)
        if d[0] != 0:
            d = np.concatenate([[0.0], d])
        amap = {str(k): _regimen_list(v) for k, v in arms.items()}
        if pk_use is None and any(_events(r).size for r in amap.values()):
            raise DataError(f"no PK model for {self.model.agent!r}: give ToxicityLimit(pk=...) or include it in the "
                            "efficacy model.")
        rel, _ = _simulate_relative(amap, pk_use, d, self.model, n_animals=int(self.n_animals),
                                    variability=self.variability, draws=self.draws, seed=seed)
        loss = np.maximum(0.0, 1.0 - rel.min(axis=-1))           # (arm, draw, animal)
        mean_loss = loss.mean(axis=-1)                          # (arm, draw)
        p_end = (loss >= self.humane_loss * (1 - 1e-12)).mean(axis=-1)
        metric = mean_loss if self.criterion == "mean_nadir" else p_end
        ok = metric <= self.limit + 1e-12
        rows = []
        for i, name in enumerate(amap):
            p_tol = float(ok[i].mean())
            rows.append({"arm": name, "mean_nadir_pct": float(100 * np.median(mean_loss[i])),
                         "p_endpoint": float(np.median(p_end[i])), "metric": float(np.median(metric[i])),
                         "tox_low": float(np.quantile(metric[i], 0.05)),
                         "tox_high": float(np.quantile(metric[i], 0.95)),
                         "p_tolerable": p_tol, "tolerated": bool(p_tol >= self.target_probability),
                         "n_draws": int(metric.shape[1])})
        return pd.DataFrame(rows), metric


def evaluate_toxicity(limit: ToxicityLimit, arms: Mapping[str, object], pk: PKModel | None = None, *, days=None,
                      seed=None):
    """Toxicity per arm under ``limit`` (see :meth:`ToxicityLimit.evaluate`).

    Parameters
    ----------
    limit : ToxicityLimit
    arms : mapping name -> Regimen(s) or None
        Doses in mg/kg (or the regimens' units), days from the start of treatment.
    pk : PKModel, optional
    days : sequence of float, optional
        Weighing days (default: those of the limit).
    seed : int or Generator

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        The per-arm table and the criterion's value per (arm, draw).
    """
    return limit.evaluate(arms, pk, days=days, seed=seed)
