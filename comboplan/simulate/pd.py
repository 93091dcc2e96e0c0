r"""Tumour growth driven by exposures (PK/PD), with an explicit combination null.

State: proliferating cells :math:`x_1` and ``n_transit`` damaged compartments
:math:`x_2..x_{m+1}` (Simeoni et al. 2004; ``n_transit = 0`` removes killed cells at once).
The tumour size is :math:`w = x_1 + \sum x_j`.

.. math::

    \dot x_1 = g(w)\,x_1 - h(t)\,x_1,\qquad
    \dot x_2 = h(t)\,x_1 - k_1 x_2,\qquad \dot x_j = k_1 (x_{j-1} - x_j)

with the growth law :math:`g` one of

* ``exponential``: :math:`g = \lambda_0`;
* ``gompertz``: :math:`g = r \log(v_{max}/w)`;
* ``simeoni``: :math:`g = \lambda_0 / [1 + (\lambda_0 w/\lambda_1)^{\psi}]^{1/\psi}`
  (the Simeoni TGI model, :func:`comboplan.models.growth.simeoni_growth_rate`;
  ``solver="reference"`` integrates it with the RK4 of :func:`comboplan.models.growth.simeoni_tgi`).

**Kill hazard and combination.**  Each agent :math:`j` acting on exposure :math:`e_j(t)`
(drug concentration or product effect level) has a kill hazard
:math:`h_j = k_j e_j` (linear, Simeoni's :math:`k_2 c`) or
:math:`h_j = k_j e_j^n/(EC_{50}^n + e_j^n)` (Emax).  Independent (Bliss) action means
the probabilities of escaping each agent multiply, i.e. *hazards add*; the interaction
parameter :math:`\gamma` adds an excess hazard

.. math:: h = \sum_j h_j + \gamma \sum_{i<j} \sqrt{h_i h_j}

(:math:`\gamma = 0` is the Bliss null; :math:`\gamma > 0` synergy, :math:`< 0`
antagonism; it vanishes whenever one agent is absent, so single-agent arms are
unchanged).  The optional *potency shift* (MuSyC's :math:`\alpha`, Meyer et al. 2019 Cell
Syst 8:97; Loewe-style dose equivalence) multiplies the target agent's potency by
:math:`1 + (\alpha - 1)\,e_c/(e_c + K)` where :math:`e_c` is the companion's exposure;
:math:`\alpha = 1` is the null.

**Numerics** (``solver="split"``, default).  The growth laws' specific rates
(:func:`~comboplan.models.growth.simeoni_growth_rate`,
:func:`~comboplan.models.growth.gompertz_growth_rate`) and the Strang-splitting solver
(:func:`~comboplan.models.growth.transit_split_solve`, also ``simeoni_tgi(method="split")``)
live in :mod:`comboplan.models.growth`; this module supplies the step grid (``max_step``,
default 0.2 day, refined geometrically after every dose) and the integrated kill hazard of
every half step: exact from the closed-form cumulative exposure (linear hazards) or by
composite Simpson on a ``quad_step`` grid (nonlinear hazards).  Agreement with the RK4
reference (``simeoni_tgi(method="rk4")`` on a fine grid, ``solver="reference"``) and with
``solve_ivp`` is tested.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..exceptions import DataError
from ..models.growth import (gompertz_growth_rate, simeoni_growth_rate, simeoni_tgi, split_step_grid,
                             transit_split_solve)
from ..models.pk import PKModel
from .exposure import DrugExposure, ProductExposure

__all__ = [
    "GROWTH_LAWS",
    "GrowthModel",
    "Effect",
    "Interaction",
    "NO_INTERACTION",
    "simulate_growth",
    "total_hazard",
    "SIMEONI2004_PACLITAXEL",
]

#: growth law -> (required parameters, default number of transit compartments)
GROWTH_LAWS: dict[str, tuple[tuple[str, ...], int]] = {
    "exponential": (("lambda0", "w0"), 0),
    "gompertz": (("r", "vmax", "w0"), 0),
    "simeoni": (("lambda0", "lambda1", "w0"), 3),
}
_PARAM_UNITS = {"lambda0": "1/day", "lambda1": "size/day", "w0": "size", "r": "1/day", "vmax": "size",
                "k1": "1/day", "psi": "1"}


@dataclass(frozen=True)
class GrowthModel:
    """Growth law and its typical parameter values.

    Parameters
    ----------
    name : {"exponential", "gompertz", "simeoni"}
    params : mapping
        Typical values: ``lambda0`` (1/day), ``lambda1`` (size/day), ``w0`` (size at day 0),
        ``r`` (1/day), ``vmax`` (size), ``k1`` (1/day, transit rate, needed when
        ``n_transit > 0``).
    n_transit : int, optional
        Damaged compartments (default 3 for Simeoni, 0 otherwise).
    psi : float
        Simeoni switch sharpness (20 in Simeoni et al. 2004).
    size_unit : str
        Unit of ``w0``/``vmax``/``lambda1`` (``"g"`` in Simeoni 2004, ``"mm3"``, ``"photons/s"``).
    reference : str
        Source of the numbers.
    """

    name: str
    params: Mapping[str, float] = field(default_factory=dict)
    n_transit: int | None = None
    psi: float = 20.0
    size_unit: str = "mm3"
    reference: str = ""

    def __post_init__(self) -> None:
        if self.name not in GROWTH_LAWS:
            raise DataError(f"unknown growth model {self.name!r}; use one of {', '.join(GROWTH_LAWS)}.")
        req, ntr = GROWTH_LAWS[self.name]
        n_transit = ntr if self.n_transit is None else int(self.n_transit)
        if n_transit < 0:
            raise DataError("n_transit must be >= 0.")
        object.__setattr__(self, "n_transit", n_transit)
        need = list(req) + (["k1"] if n_transit > 0 else [])
        missing = [p for p in need if p not in self.params]
        if missing:
            units = ", ".join(f"{p} [{_PARAM_UNITS.get(p, '?')}]" for p in missing)
            have = ", ".join(self.params) or "none"
            raise DataError(
                f"growth model {self.name!r} needs parameter(s) {units}; got {have}. "
                "Add them to the model parameters (or pick a model whose parameters you have).")
        for k, v in self.params.items():
            a = np.asarray(v, dtype=float)
            if np.any(~np.isfinite(a)) or (k != "lambda0" or self.name != "exponential") and np.any(a <= 0):
                raise DataError(f"growth parameter {k} must be finite and > 0; got {v!r}.")
        if not self.psi > 0:
            raise DataError("psi must be > 0.")
        object.__setattr__(self, "params", dict(self.params))

    @property
    def required(self) -> tuple[str, ...]:
        """Parameters the law needs (including ``k1`` with transit compartments)."""
        req = GROWTH_LAWS[self.name][0]
        return req + (("k1",) if self.n_transit > 0 else ())


#: Simeoni et al. (2004) Cancer Res 64:1094, Table 2, paclitaxel experiment 1 (A2780 in nude
#: mice): lambda0 = 0.273 1/day, lambda1 = 0.814 g/day, k1 = 0.968 1/day, psi = 20 (fixed);
#: w0 = 0.055 g as used in the DDMoRe encoding of the model (DDMODEL00000006).  Weights in g
#: (1 g ~ 1 cm^3).  Potency k2 = 0.629 1/(day x ug/mL) -- see :data:`SIMEOMI_K2_PACLITAXEL`.
SIMEONI2004_PACLITAXEL = GrowthModel(
    name="simeoni", params={"lambda0": 0.273, "lambda1": 0.814, "k1": 0.968, "w0": 0.055}, psi=20.0,
    size_unit="g", reference="Simeoni et al. 2004 Cancer Res 64:1094, Table 2 (paclitaxel exp. 1)")
#: Simeoni 2004 paclitaxel potency k2, 1/(day x ug/mL) (Table 2; 6.29e-4 per ng/mL per day).
SIMEONI_K2_PACLITAXEL = 0.629
__all__.append("SIMEONI_K2_PACLITAXEL")


@dataclass(frozen=True)
class Effect:
    """Kill hazard of one agent as a function of its exposure.

    Parameters
    ----------
    agent : str
        Agent name (matches the exposure's agent).
    potency : float or array
        Linear: ``k`` in 1/(day x exposure unit) (Simeoni's k2).  Emax: maximal hazard
        ``kmax`` in 1/day.  Per-animal arrays allowed.
    ec50 : float, optional
        Exposure at half-maximal hazard (Emax form); ``None`` for the linear form.
    hill : float
        Hill coefficient of the Emax form.
    """

    agent: str
    potency: object
    ec50: float | None = None
    hill: float = 1.0

    def __post_init__(self) -> None:
        a = np.asarray(self.potency, dtype=float)
        if np.any(~np.isfinite(a)) or np.any(a < 0):
            raise DataError(f"effect of {self.agent!r}: potency must be finite and >= 0; got {self.potency!r}.")
        if self.ec50 is not None and not float(self.ec50) > 0:
            raise DataError(f"effect of {self.agent!r}: ec50 must be > 0.")
        if not float(self.hill) > 0:
            raise DataError(f"effect of {self.agent!r}: hill must be > 0.")

    @property
    def linear(self) -> bool:
        """True for the linear (Simeoni) form."""
        return self.ec50 is None

    def hazard(self, e, potency=None) -> np.ndarray:
        """Hazard (1/day) at exposure ``e``; ``potency`` overrides (per-animal column)."""
        k = np.asarray(self.potency if potency is None else potency, dtype=float)
        e = np.maximum(np.asarray(e, dtype=float), 0.0)
        if self.linear:
            return k * e
        eh = e ** self.hill
        return k * eh / (float(self.ec50) ** self.hill + eh)


@dataclass(frozen=True)
class Interaction:
    """How two agents combine (both nulls by default).

    Parameters
    ----------
    gamma : float
        Excess hazard relative to Bliss independence, ``h = hA + hB + gamma sqrt(hA hB)``.
        0 = Bliss independence (no interaction); positive = synergy.
    alpha : float
        Potency shift: the ``target``'s potency is multiplied by
        ``1 + (alpha - 1) e_c / (e_c + occupancy_k)`` where ``e_c`` is the ``companion``'s
        exposure.  1 = no shift.
    target, companion : str, optional
        Agents for the potency shift (e.g. target ``"paclitaxel"``, companion ``"secretome"``).
    occupancy_k : float
        Companion exposure at half occupancy (exposure unit; 1 standard product dose).
    """

    gamma: float = 0.0
    alpha: float = 1.0
    target: str | None = None
    companion: str | None = None
    occupancy_k: float = 1.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.gamma):
            raise DataError("interaction gamma must be finite.")
        if not (np.isfinite(self.alpha) and self.alpha > 0):
            raise DataError("interaction alpha (potency shift) must be > 0; 1 means no shift.")
        if self.alpha != 1.0 and not (self.target and self.companion):
            raise DataError("a potency shift (alpha != 1) needs target and companion agent names.")
        if not self.occupancy_k > 0:
            raise DataError("occupancy_k must be > 0.")

    @property
    def is_null(self) -> bool:
        """True when the combination is exactly Bliss-independent."""
        return self.gamma == 0.0 and self.alpha == 1.0

    def describe(self) -> str:
        """Plain words, with the sign convention."""
        if self.is_null:
            return "no interaction (Bliss-independent kill; gamma = 0, alpha = 1)"
        parts = []
        if self.gamma:
            parts.append(f"excess kill gamma = {self.gamma:g} (positive = synergy)")
        if self.alpha != 1.0:
            parts.append(f"{self.companion} multiplies {self.target} potency by up to {self.alpha:g}")
        return "; ".join(parts)


NO_INTERACTION = Interaction()


# ---------------------------------------------------------------------------
# hazards
# ---------------------------------------------------------------------------

def total_hazard(exposures: Mapping[str, np.ndarray], effects: Mapping[str, Effect],
                 interaction: Interaction = NO_INTERACTION, potencies: Mapping[str, np.ndarray] | None = None):
    """Combined kill hazard (1/day) from exposures on a common grid.

    Parameters
    ----------
    exposures : mapping agent -> array (n_animals or 1, n_t)
        Exposure of each agent (concentration or product level).
    effects : mapping agent -> Effect
    interaction : Interaction
    potencies : mapping agent -> array (n_animals, 1), optional
        Per-animal potencies overriding ``Effect.potency``.

    Returns
    -------
    numpy.ndarray
        Hazard, broadcast over animals and times.
    """
    potencies = potencies or {}
    hs = {}
    for agent, eff in effects.items():
        if agent not in exposures:
            continue
        k = potencies.get(agent)
        if k is None:
            k = np.asarray(eff.potency, dtype=float)
            k = k[:, None] if k.ndim == 1 else k
        if interaction.alpha != 1.0 and agent == interaction.target and interaction.companion in exposures:
            ec = np.maximum(exposures[interaction.companion], 0.0)
            k = k * (1.0 + (interaction.alpha - 1.0) * ec / (ec + interaction.occupancy_k))
        hs[agent] = eff.hazard(exposures[agent], k)
    if not hs:
        return np.zeros((1, 1))
    vals = list(hs.values())
    h = vals[0]
    for v in vals[1:]:
        h = h + v
    if interaction.gamma:
        for i in range(len(vals)):
            for j in range(i + 1, len(vals)):
                h = h + interaction.gamma * np.sqrt(vals[i] * vals[j])
        h = np.maximum(h, 0.0)
    return h


def _event_times(exposures) -> np.ndarray:
    """Days at which an exposure jumps (bolus, start/end of infusion or product action)."""
    ev = []
    for ex in exposures.values():
        if isinstance(ex, DrugExposure):
            for reg in ex.regimens:
                if reg.amount == 0:
                    continue
                ev.extend(reg.times)
                if reg.duration:
                    ev.extend(np.asarray(reg.times) + reg.duration)
        elif isinstance(ex, ProductExposure) and ex.scale:
            ev.extend(ex.times)
            if ex.mode == "while_present":
                ev.extend(np.asarray(ex.times) + ex.duration)
    return np.unique(np.asarray(ev, dtype=float))


def _refined_grid(t_out: np.ndarray, max_step: float, events: np.ndarray, min_step: float = 2e-3):
    """Step grid: uniform steps <= max_step, every output time, and geometrically refined
    steps after every exposure jump (so that fast PK after a bolus is resolved)."""
    base, _ = split_step_grid(t_out, max_step)
    extra = [events]
    k = 1
    while max_step * 0.5 ** k >= min_step:
        extra.append(events + max_step * 0.5 ** k)
        k += 1
    extra.append(events + min_step)
    pts = np.concatenate(extra) if extra else np.array([])
    pts = pts[(pts > t_out[0]) & (pts < t_out[-1])]
    grid = np.union1d(base, pts)
    # merge points closer than 1e-9 d
    keep = np.concatenate([[True], np.diff(grid) > 1e-9])
    grid = grid[keep]
    out_idx = np.searchsorted(grid, t_out)
    out_idx = np.minimum(out_idx, grid.size - 1)
    return grid, out_idx


def _simpson_increments(f, grid, refine):
    """Integral of f over each interval of ``grid`` from values on the grid refined by ``refine`` (even)."""
    h = (grid[1:] - grid[:-1]) / refine  # (n_steps,)
    n_steps = grid.size - 1
    fr = f.reshape(f.shape[0], -1)
    w = np.ones(refine + 1)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    out = np.zeros((fr.shape[0], n_steps))
    for j in range(refine + 1):
        out += w[j] * fr[:, j::refine][:, :n_steps] if j < refine else w[j] * fr[:, refine::refine]
    return out * h / 3.0


def _exposure_values(exposures, agent, t, pk_over, cumulative: bool, body_weight=None):
    ex = exposures[agent]
    if isinstance(ex, DrugExposure):
        pk = pk_over.get(agent) if pk_over else None
        f = ex.cumulative if cumulative else ex.concentration
        return f(t, pk=pk, body_weight=body_weight)
    if isinstance(ex, ProductExposure):
        return (ex.cumulative(t) if cumulative else ex.level(t))[None, :]
    raise DataError(f"exposure of {agent!r} must be a DrugExposure or ProductExposure; got {type(ex).__name__}.")


def hazard_increments(grid, exposures, effects, interaction=NO_INTERACTION, potencies=None, pk_override=None,
                      quad_step: float = 1.0 / 96.0, body_weight=None):
    """Integrated kill hazard over each interval of ``grid``: array (n_animals or 1, n_steps).

    Linear effects without interaction use the closed-form cumulative exposure (exact);
    otherwise composite Simpson on a grid refined to at most ``quad_step`` days.
    """
    agents = [a for a in effects if a in exposures]
    if not agents:
        return np.zeros((1, grid.size - 1))
    potencies = potencies or {}
    shift = interaction.alpha != 1.0 and interaction.target in agents and interaction.companion in exposures
    inert = len(agents) < 2 or interaction.gamma == 0.0
    linear = inert and not shift and all(effects[a].linear for a in agents)
    if linear:
        out = None
        for a in agents:
            cum = _exposure_values(exposures, a, grid, pk_override, True, body_weight)
            k = potencies.get(a)
            if k is None:
                k = np.asarray(effects[a].potency, dtype=float)
                k = k[:, None] if k.ndim == 1 else k
            inc = k * np.diff(cum, axis=1)
            out = inc if out is None else out + inc
        return np.maximum(out, 0.0)
    max_h = float(np.max(np.diff(grid))) if grid.size > 1 else 1.0
    refine = max(2, int(math.ceil(max_h / quad_step)))
    refine += refine % 2
    steps = np.diff(grid)
    fine = (grid[:-1, None] + steps[:, None] * np.arange(refine)[None, :] / refine).ravel()
    fine = np.append(fine, grid[-1])
    ex = {a: _exposure_values(exposures, a, fine, pk_override, False, body_weight) for a in exposures}
    h = total_hazard(ex, effects, interaction, potencies)
    h = np.broadcast_to(h, (h.shape[0], fine.size))
    return _simpson_increments(h, grid, refine)


# ---------------------------------------------------------------------------
# integrator
# ---------------------------------------------------------------------------

def _growth_rate(law: str, p):
    """Specific growth rate of the proliferating compartment for the split solver: a callable
    ``g(w)`` (1/day) from :mod:`comboplan.models.growth`, or the constant rate (exponential law)."""
    if law == "exponential":
        return p["lambda0"]
    if law == "gompertz":
        r, vmax = p["r"], p["vmax"]
        return lambda w: gompertz_growth_rate(w, r, vmax)
    l0, l1, psi = p["lambda0"], p["lambda1"], p["psi"]
    return lambda w: simeoni_growth_rate(w, l0, l1, psi)


def _animal_params(growth: GrowthModel, overrides: Mapping[str, np.ndarray] | None, n: int):
    p = {}
    for k in growth.required:
        v = overrides.get(k) if overrides and k in overrides else growth.params[k]
        p[k] = np.broadcast_to(np.asarray(v, dtype=float).ravel() if np.ndim(v) else float(v), (n,)).astype(float)
    if growth.name == "simeoni":
        p["psi"] = float(growth.psi)
    return p


def simulate_growth(t, growth: GrowthModel, exposures: Mapping[str, object] | None = None,
                    effects: Mapping[str, Effect] | None = None, interaction: Interaction = NO_INTERACTION, *,
                    params: Mapping[str, np.ndarray] | None = None, potencies: Mapping[str, np.ndarray] | None = None,
                    pk_override: Mapping[str, PKModel] | None = None, n_animals: int | None = None,
                    max_step: float = 0.2, quad_step: float = 1.0 / 96.0, solver: str = "split",
                    chunk: int = 8192) -> np.ndarray:
    """Tumour size of every animal at times ``t`` under the given exposures.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Increasing output times in days from the start of treatment (``t[0]`` is when the
        size equals ``w0``; usually 0).
    growth : GrowthModel
        Growth law and typical parameters.
    exposures : mapping agent -> DrugExposure or ProductExposure, optional
        Missing / empty = untreated.
    effects : mapping agent -> Effect, optional
        Kill hazard of each agent; agents without an effect do not act.
    interaction : Interaction
        Combination rule; the default is the Bliss-independent null.
    params : mapping name -> array (n_animals,), optional
        Per-animal growth parameters overriding the typical values.
    potencies : mapping agent -> array (n_animals,), optional
        Per-animal potencies.
    pk_override : mapping agent -> PKModel, optional
        Per-animal PK (arrays) for drug exposures.
    n_animals : int, optional
        Number of animals when no per-animal array is given (all identical).
    max_step : float
        Largest integration step in days (split solver).
    quad_step : float
        Largest quadrature step in days for nonlinear hazards.
    solver : {"split", "reference"}
        ``"split"``: fast exact-exposure operator splitting (default).  ``"reference"``:
        evaluate the hazard on a ``quad_step`` grid and integrate with
        :func:`comboplan.models.growth.simeoni_tgi` (Simeoni law only; slow, for checks).
    chunk : int
        Animals per vectorised block (memory / cache).

    Returns
    -------
    numpy.ndarray, shape (n_animals, n_t)
        Sizes in ``growth.size_unit``.
    """
    t = np.asarray(t, dtype=float).ravel()
    if t.size < 1 or np.any(~np.isfinite(t)):
        raise DataError("t must be a non-empty array of finite days.")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise DataError("output times t must be strictly increasing (days).")
    if not max_step > 0:
        raise DataError("max_step must be > 0 days.")
    exposures = dict(exposures or {})
    effects = dict(effects or {})
    for a in effects:
        if a in exposures:
            continue
    sizes = [np.size(v) for v in (params or {}).values()] + [np.size(v) for v in (potencies or {}).values()]
    for pk in (pk_override or {}).values():
        sizes += [np.size(getattr(pk, f)) for f in ("V1", "k10", "k12", "k21") if getattr(pk, f) is not None]
    n = max([n_animals or 1] + sizes)
    for s in sizes:
        if s not in (1, n):
            raise DataError(f"per-animal arrays must all have length {n} (or 1); got one of length {s}.")
    if solver not in ("split", "reference"):
        raise DataError("solver must be 'split' or 'reference'.")
    if solver == "reference":
        return _reference(t, growth, exposures, effects, interaction, params, potencies, pk_override, n, quad_step)
    grid, out_idx = _refined_grid(t, max_step, _event_times(exposures))
    half = np.empty(2 * grid.size - 1)
    half[0::2] = grid
    half[1::2] = 0.5 * (grid[:-1] + grid[1:])
    out = np.empty((n, t.size))
    pk_chunks = pk_override or {}
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        sl = slice(lo, hi)
        p = _animal_params(growth, {k: _take(v, sl, n) for k, v in (params or {}).items()}, hi - lo)
        pots = {a: _take(v, sl, n)[:, None] for a, v in (potencies or {}).items()}
        pk_c = {a: _take_pk(pk, sl, n) for a, pk in pk_chunks.items()}
        dH = hazard_increments(half, exposures, effects, interaction, pots, pk_c, quad_step)
        out[sl] = transit_split_solve(grid, out_idx, p["w0"], _growth_rate(growth.name, p), dH[:, 0::2],
                                      dH[:, 1::2], k1=p.get("k1"), n_transit=growth.n_transit)
    return out


def _take(v, sl, n):
    a = np.asarray(v, dtype=float).ravel()
    return np.broadcast_to(a, (n,))[sl] if a.size in (1, n) else a


def _take_pk(pk: PKModel, sl, n) -> PKModel:
    kw = {}
    for f in ("V1", "k10", "k12", "k21", "ka"):
        v = getattr(pk, f)
        if v is not None and np.ndim(v):
            kw[f] = np.broadcast_to(np.asarray(v, dtype=float), (n,))[sl]
    return pk.with_params(**kw) if kw else pk


def _reference(t, growth, exposures, effects, interaction, params, potencies, pk_override, n, quad_step):
    if growth.name != "simeoni":
        raise DataError("solver='reference' is available for the Simeoni growth law only.")
    nfine = max(2, int(math.ceil((t[-1] - t[0]) / quad_step)))
    ev = _event_times(exposures)
    ev = ev[(ev > t[0] + 2e-7) & (ev <= t[-1])] - 1e-7  # value just before each jump
    fine = np.union1d(np.union1d(np.linspace(t[0], t[-1], nfine + 1), t), ev)
    ex = {a: _exposure_values(exposures, a, fine, pk_override, False) for a in exposures}
    pots = {a: np.asarray(v, dtype=float).reshape(-1, 1) for a, v in (potencies or {}).items()}
    h = total_hazard(ex, effects, interaction, pots) if effects and ex else np.zeros((1, fine.size))
    h = np.broadcast_to(h, (max(h.shape[0], 1), fine.size))
    p = _animal_params(growth, params, n)
    h = np.broadcast_to(h, (n, fine.size)) if h.shape[0] in (1, n) else h
    w = simeoni_tgi(fine - t[0], np.ascontiguousarray(h), p["lambda0"], p["lambda1"], p["k1"], 1.0, p["w0"],
                    psi=growth.psi, n_transit=growth.n_transit, max_step=min(0.02, quad_step))
    w = np.atleast_2d(w)
    idx = np.searchsorted(fine, t)
    return w[:, idx]
