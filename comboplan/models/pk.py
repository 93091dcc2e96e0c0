"""Dosing regimens and linear compartmental pharmacokinetics (closed form).

Everything here is a pure function of its arguments: a :class:`Regimen` says *what* is
given *when*; a :class:`PKModel` says how the body handles it; :func:`concentration`
and :func:`cumulative_auc` return plasma concentrations and their running integral for
a whole cohort at once (parameters may be arrays with one value per animal).

The solution is the classical superposition of single-dose responses of a linear
system (Gibaldi & Perrier, *Pharmacokinetics*, 2nd ed., 1982, ch. 1-3): the unit
impulse response of the central compartment is a sum of exponentials

.. math:: h(\\tau) = \\frac{1}{V_1}\\sum_i A_i e^{-\\lambda_i \\tau},

and each dose contributes ``amount x F x (h * input)(t - t_dose)`` where ``input`` is a
Dirac pulse (IV bolus), a box of length ``T`` (infusion) or ``k_a e^{-k_a t}``
(first-order absorption: IP, SC, oral).  No ODE is solved.

Units: time in **days**; volumes in **L/kg**; rate constants in **1/day**; doses in
``mg/kg`` (or ``ug/kg``, ``ng/kg``, or absolute ``mg``/``ug``/``ng`` together with a body
weight in kg).  Concentrations come back in ``ug/mL`` (= mg/L) unless another unit is
requested (``ng/mL``, or ``uM``/``nM`` when the model declares a molecular weight).

Published defaults for paclitaxel in mice are in :data:`PACLITAXEL_MOUSE_SIMEONI2004`
and :data:`PACLITAXEL_MOUSE_EISEMAN1994`; see ``docs/models/pk.md`` for the sources
of every number and which ones are assumptions.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from ..exceptions import DataError

__all__ = [
    "DOSE_UNITS",
    "ROUTES",
    "Regimen",
    "parse_schedule",
    "PKModel",
    "one_compartment",
    "two_compartment",
    "concentration",
    "cumulative_auc",
    "dose_per_kg",
    "PACLITAXEL_MOUSE_SIMEONI2004",
    "PACLITAXEL_MOUSE_EISEMAN1994",
    "PACLITAXEL_MW",
    "paclitaxel_mouse",
]

#: dose unit -> (factor to mg, per kg?)
DOSE_UNITS: dict[str, tuple[float, bool]] = {
    "mg/kg": (1.0, True),
    "ug/kg": (1e-3, True),
    "µg/kg": (1e-3, True),
    "ng/kg": (1e-6, True),
    "mg": (1.0, False),
    "ug": (1e-3, False),
    "µg": (1e-3, False),
    "ng": (1e-6, False),
}

#: administration routes -> input kind
ROUTES: dict[str, str] = {
    "iv": "bolus",
    "iv_bolus": "bolus",
    "bolus": "bolus",
    "iv_infusion": "infusion",
    "infusion": "infusion",
    "ip": "first_order",
    "sc": "first_order",
    "oral": "first_order",
    "po": "first_order",
    "im": "first_order",
}

_CONC_UNITS = {"ug/mL": 1.0, "µg/mL": 1.0, "mg/L": 1.0, "ng/mL": 1e3, "uM": None, "µM": None, "nM": None}

#: paclitaxel molecular weight, g/mol (C47H51NO14; PubChem CID 36314).
PACLITAXEL_MW = 853.9


# ---------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?)"
_WORDS = {"once": 1, "one": 1, "twice": 2, "two": 2, "three": 3, "thrice": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7}
_SCHEDULE_HELP = (
    "accepted forms: an explicit list of days ([0, 7, 14] or 'days 0, 7, 14'), or "
    "'<frequency> from day A to day B' / '<frequency> from day A for N weeks' / "
    "'<frequency> x N from day A' with <frequency> one of 'once', 'daily', 'weekly', "
    "'twice weekly', '3x/week' (also '3×/week', '3 times/week', 'tiw'), 'Nx/week', "
    "'every N days', 'qNd'."
)


def _week_offsets(n: int) -> np.ndarray:
    """Days within a week for ``n`` administrations per week (spread as evenly as possible).

    1 -> [0]; 2 -> [0, 3]; 3 -> [0, 2, 4] (Mon/Wed/Fri); 4 -> [0, 1, 3, 5];
    5 -> [0, 1, 2, 4, 5]; 7 -> every day.
    """
    return np.floor(np.arange(n) * 7.0 / n)


def parse_schedule(spec, start: float | None = None, end: float | None = None) -> np.ndarray:
    """Turn a schedule description into sorted administration days.

    Parameters
    ----------
    spec : str or sequence of float
        Explicit days (``[0, 7, 14]``, ``"days 0, 7, 14"``) or a phrase such as
        ``"weekly from day 0 to 21"`` (-> 0, 7, 14, 21; the end day is inclusive),
        ``"3x/week from day 0 to day 20"`` (also ``"3×/week"``, ``"3 times/week"``,
        ``"tiw"``; Mon/Wed/Fri offsets 0, 2, 4 of each week), ``"daily for 2 weeks"``,
        ``"q4d x3 from day 9"``, ``"every 2 days from day 1 to 13"``, ``"once on day 3"``.
    start, end : float, optional
        Default first day (0 when omitted) and last possible day (inclusive), in days,
        used when the phrase does not give them (e.g. the study duration).

    Returns
    -------
    numpy.ndarray
        Sorted administration times in days (float).

    Raises
    ------
    DataError
        Unknown wording, negative days, an end before the start, or a repeating schedule
        with no end and no number of doses.
    """
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        spec = [float(spec)]
    if not isinstance(spec, str):
        try:
            days = np.asarray(list(spec), dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"schedule {spec!r} is neither a phrase nor a list of days; {_SCHEDULE_HELP}") from None
        return _check_days(days, spec)
    text = spec.strip().lower().replace("×", "x").replace("–", "-")
    text = re.sub(r"\s+", " ", text)
    if not text:
        raise DataError(f"empty schedule; {_SCHEDULE_HELP}")
    # explicit list: "days 0, 7, 14" / "day 0 7 14" / "0,7,14" / "on days 0 and 7"
    m = re.fullmatch(r"(?:on )?(?:days?|d) ?([\d.,;\s]+(?:and [\d.]+)?)", text) or re.fullmatch(r"([\d.,;\s]+)", text)
    if m:
        nums = re.findall(_NUM, m.group(1))
        return _check_days(np.asarray([float(x) for x in nums]), spec)

    # start / end / count / duration modifiers
    s0 = start if start is not None else 0.0
    e0 = end
    count = None
    m = re.search(r"(?:from|starting(?: on)?|start(?:ing)? at|on) (?:day|d) ?" + _NUM, text)
    if m:
        s0 = float(m.group(1))
        text = text.replace(m.group(0), " ")
    m = re.search(r"(?:to|until|through|till|-) (?:day |d)?" + _NUM, text)
    if m:
        e0 = float(m.group(1))
        text = text.replace(m.group(0), " ")
    m = re.search(r"for " + _NUM + r" (weeks?|days?|doses?|administrations?)", text)
    if m:
        n = float(m.group(1))
        unit = m.group(2)
        if unit.startswith("week"):
            e0 = s0 + 7.0 * n - 1e-9
        elif unit.startswith("day"):
            e0 = s0 + n - 1e-9
        else:
            count = int(n)
        text = text.replace(m.group(0), " ")
    m = re.search(r"(?:x ?|times )(\d+)(?: doses?)?$|(\d+) doses?", text.strip())
    if m and not re.search(r"\d+ ?x ?/", text):
        count = int(m.group(1) or m.group(2))
        text = text[: m.start()] + " " + text[m.end():]
    text = re.sub(r"\s+", " ", text).strip()

    # frequency
    period = None
    offsets = None
    if text in ("once", "single", "single dose", "one dose", "") and (count in (None, 1)):
        return _check_days(np.array([s0]), spec)
    if text in ("daily", "qd", "every day", "once daily", "once a day", "1x/day", "q1d", "qday"):
        period, offsets = 1.0, np.array([0.0])
    elif text in ("weekly", "once weekly", "once a week", "once/week", "qw", "q7d", "every week", "1x/week",
                  "once per week", "1 x/week", "1/week"):
        period, offsets = 7.0, np.array([0.0])
    elif text in ("biw", "twice weekly", "twice a week", "twice/week", "twice per week"):
        period, offsets = 7.0, _week_offsets(2)
    elif text in ("tiw", "thrice weekly", "three times a week", "three times weekly", "three times/week",
                  "three times per week"):
        period, offsets = 7.0, _week_offsets(3)
    else:
        m = re.fullmatch(r"(\d+|once|twice|three|four|five|six|seven) ?(?:x|times)? ?(?:/|a|per|every) ?(?:week|wk)", text)
        if m:
            tok = m.group(1)
            n = int(tok) if tok.isdigit() else _WORDS[tok]
            if not 1 <= n <= 7:
                raise DataError(f"schedule {spec!r}: {n} administrations per week is impossible (1 to 7); "
                                "use 'daily' or an explicit list of days.")
            period, offsets = 7.0, _week_offsets(n)
        else:
            m = re.fullmatch(r"(?:every " + _NUM + r" days?|q" + _NUM + r"d)", text)
            if m:
                period = float(m.group(1) or m.group(2))
                offsets = np.array([0.0])
                if period <= 0:
                    raise DataError(f"schedule {spec!r}: the interval between doses must be > 0 days.")
            else:
                raise DataError(f"schedule {spec!r} not understood (could not read {text!r}); {_SCHEDULE_HELP}")
    if e0 is None and count is None:
        raise DataError(
            f"schedule {spec!r} repeats but has no end: add 'to day B', 'for N weeks' or 'x N', or pass "
            "end= (e.g. the study duration in days)."
        )
    if e0 is not None and e0 < s0:
        raise DataError(f"schedule {spec!r}: the last day ({e0:g}) is before the first day ({s0:g}).")
    if count is not None and count < 1:
        raise DataError(f"schedule {spec!r}: the number of doses must be >= 1.")
    stop = e0 if e0 is not None else s0 + period * (count + 1)
    n_periods = int(math.floor((stop - s0) / period)) + 1
    days = (s0 + period * np.arange(n_periods)[:, None] + offsets[None, :]).ravel()
    days = np.sort(days)
    if e0 is not None:
        days = days[days <= e0 + 1e-9]
    if count is not None:
        days = days[:count]
    return _check_days(days, spec)


def _check_days(days: np.ndarray, spec) -> np.ndarray:
    days = np.asarray(days, dtype=float).ravel()
    if days.size == 0:
        raise DataError(f"schedule {spec!r} gives no administration day; check its start and end.")
    if not np.all(np.isfinite(days)):
        raise DataError(f"schedule {spec!r} contains a non-finite day.")
    if np.any(days < 0):
        bad = days[days < 0][0]
        raise DataError(f"schedule {spec!r} has a negative day ({bad:g}); days count from the start of "
                        "treatment (day 0) and must be >= 0.")
    return np.sort(days)


@dataclass(frozen=True)
class Regimen:
    """What is given, how and when.

    Parameters
    ----------
    amount : float
        Amount per administration, in ``unit`` (>= 0; 0 gives an untreated arm).
    unit : str
        One of :data:`DOSE_UNITS` (``"mg/kg"``, ``"ug/kg"``, ``"ng/kg"``, ``"mg"``,
        ``"ug"``, ``"ng"``).
    times : tuple of float
        Administration days (>= 0).  Build from a phrase with :meth:`from_schedule`.
    route : str
        One of :data:`ROUTES`: ``"iv"`` (bolus), ``"iv_infusion"`` (needs ``duration``),
        ``"ip"``, ``"sc"``, ``"oral"``/``"po"``, ``"im"`` (first-order absorption).
    duration : float
        Infusion duration in days (``iv_infusion`` only).
    agent : str
        Name of the agent (for tables).
    """

    amount: float
    unit: str = "mg/kg"
    times: tuple = (0.0,)
    route: str = "iv"
    duration: float = 0.0
    agent: str = "drug"

    def __post_init__(self) -> None:
        try:
            amount = float(self.amount)
        except (TypeError, ValueError):
            raise DataError(f"regimen of {self.agent!r}: amount {self.amount!r} is not a number.") from None
        if not np.isfinite(amount) or amount < 0:
            raise DataError(f"regimen of {self.agent!r}: amount must be a finite number >= 0; got {self.amount!r}. "
                            "Use 0 for an untreated (vehicle) arm.")
        object.__setattr__(self, "amount", amount)
        if self.unit not in DOSE_UNITS:
            raise DataError(f"regimen of {self.agent!r}: unknown dose unit {self.unit!r}; use one of "
                            f"{', '.join(u for u in DOSE_UNITS if 'µ' not in u)}.")
        route = str(self.route).lower()
        if route not in ROUTES:
            raise DataError(f"regimen of {self.agent!r}: unknown route {self.route!r}; use one of {', '.join(ROUTES)}.")
        object.__setattr__(self, "route", route)
        days = _check_days(np.asarray(self.times, dtype=float), self.times)
        object.__setattr__(self, "times", tuple(float(d) for d in days))
        dur = float(self.duration)
        if ROUTES[route] == "infusion":
            if not dur > 0:
                raise DataError(f"regimen of {self.agent!r}: route {route!r} needs duration > 0 (days); "
                                f"got {self.duration!r}. A 1-hour infusion is duration=1/24.")
            if len(days) > 1 and np.min(np.diff(days)) < dur - 1e-12:
                raise DataError(f"regimen of {self.agent!r}: infusions of {dur:g} d overlap (doses "
                                f"{np.min(np.diff(days)):g} d apart); shorten the infusion or space the doses.")
        elif dur < 0:
            raise DataError(f"regimen of {self.agent!r}: duration must be >= 0.")
        object.__setattr__(self, "duration", dur)

    @classmethod
    def from_schedule(cls, amount: float, unit: str, schedule, route: str = "iv", *, start: float | None = None,
                      end: float | None = None, duration: float = 0.0, agent: str = "drug") -> "Regimen":
        """Build a regimen from a schedule phrase or list (see :func:`parse_schedule`)."""
        return cls(amount=amount, unit=unit, times=tuple(parse_schedule(schedule, start=start, end=end)),
                   route=route, duration=duration, agent=agent)

    def with_amount(self, amount: float) -> "Regimen":
        """Same schedule and route with another amount per administration."""
        return replace(self, amount=amount)

    @property
    def n_doses(self) -> int:
        """Number of administrations."""
        return len(self.times)

    @property
    def total(self) -> float:
        """Total amount over the schedule, in ``unit``."""
        return self.amount * len(self.times)

    def describe(self) -> str:
        """One line: ``"10 mg/kg ip on days 0, 7, 14, 21"``."""
        days = ", ".join(f"{d:g}" for d in self.times)
        extra = f" over {self.duration * 24:g} h" if self.duration else ""
        return f"{self.amount:g} {self.unit} {self.route}{extra} on day(s) {days}"


def dose_per_kg(regimen: Regimen, body_weight=None) -> np.ndarray | float:
    """Amount per administration in mg/kg.

    Parameters
    ----------
    regimen : Regimen
    body_weight : float or array, optional
        Body weight in **kg** (one per animal); needed only for absolute units (mg, ug, ng).

    Returns
    -------
    float or numpy.ndarray
        mg/kg (an array with one value per animal when ``body_weight`` is an array).
    """
    factor, per_kg = DOSE_UNITS[regimen.unit]
    if per_kg:
        return regimen.amount * factor
    if body_weight is None:
        raise DataError(f"regimen of {regimen.agent!r} is in {regimen.unit!r} (absolute): pass body_weight in kg "
                        "(e.g. 0.025 for a 25 g mouse) to convert it to a concentration.")
    bw = np.asarray(body_weight, dtype=float)
    if np.any(~np.isfinite(bw)) or np.any(bw <= 0):
        raise DataError("body_weight must be finite and > 0 (kg; a mouse weighs about 0.02-0.03 kg).")
    if np.any(bw > 200):
        raise DataError(f"body_weight {float(np.max(bw)):g} kg is implausible; body weight is in kg "
                        "(a 25 g mouse is 0.025).")
    return regimen.amount * factor / bw


# ---------------------------------------------------------------------------
# PK models
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PKModel:
    """Linear one- or two-compartment PK model (parameters may be per-animal arrays).

    Parameters
    ----------
    V1 : float or array
        Central volume, **L/kg**.
    k10 : float or array
        Elimination rate constant from the central compartment, **1/day**.
    k12, k21 : float or array
        Distribution rate constants central -> peripheral and back, **1/day**
        (``k12 = 0`` gives a one-compartment model).
    ka : float or array, optional
        First-order absorption rate constant, **1/day**, for extravascular routes.
    bioavailability : mapping, optional
        Fraction absorbed per route (``{"ip": 0.1}``); routes not listed get 1.
    molecular_weight : float, optional
        g/mol, to report concentrations in uM/nM.
    name, reference : str
        Label and the literature source of the numbers.
    """

    V1: object
    k10: object
    k12: object = 0.0
    k21: object = 0.0
    ka: object = None
    bioavailability: Mapping[str, float] = field(default_factory=dict)
    molecular_weight: float | None = None
    name: str = "pk"
    reference: str = ""

    def __post_init__(self) -> None:
        for nm in ("V1", "k10", "k12", "k21", "ka"):
            v = getattr(self, nm)
            if v is None:
                continue
            a = np.asarray(v, dtype=float)
            if np.any(~np.isfinite(a)):
                raise DataError(f"PK parameter {nm} must be finite; got {v!r}.")
            if nm in ("V1", "k10", "ka") and np.any(a <= 0):
                raise DataError(f"PK parameter {nm} must be > 0 (V1 in L/kg, rates in 1/day); got {v!r}.")
            if nm in ("k12", "k21") and np.any(a < 0):
                raise DataError(f"PK parameter {nm} must be >= 0 (1/day); got {v!r}.")
        if np.any(np.asarray(self.k12) > 0) and np.any(np.asarray(self.k21) <= 0):
            raise DataError("two-compartment PK needs k21 > 0 when k12 > 0 (1/day).")
        for r, f in dict(self.bioavailability).items():
            if r not in ROUTES:
                raise DataError(f"bioavailability given for unknown route {r!r}; use one of {', '.join(ROUTES)}.")
            if not 0 <= float(f) <= 1:
                raise DataError(f"bioavailability for {r!r} must be in [0, 1]; got {f!r}.")

    @property
    def n_compartments(self) -> int:
        """1 or 2."""
        return 2 if np.any(np.asarray(self.k12) > 0) else 1

    def F(self, route: str) -> float:
        """Bioavailability of ``route`` (1 when not declared; always 1 for IV)."""
        if ROUTES[route] in ("bolus", "infusion"):
            return float(self.bioavailability.get(route, 1.0))
        return float(self.bioavailability.get(route, 1.0))

    def exponents(self):
        """Disposition exponents and coefficients of the unit impulse response.

        Returns
        -------
        lam : numpy.ndarray, shape (n_exp, ...)
            Rate constants (1/day), ``alpha >= beta`` for two compartments.
        coef : numpy.ndarray, shape (n_exp, ...)
            Coefficients ``A_i`` with ``sum(A_i) = 1``; ``C(t) = D/V1 * sum A_i exp(-lam_i t)``.
        """
        k10 = np.asarray(self.k10, dtype=float)
        k12 = np.asarray(self.k12, dtype=float)
        k21 = np.asarray(self.k21, dtype=float)
        if self.n_compartments == 1:
            return k10[None, ...], np.ones((1,) + k10.shape)
        s = k10 + k12 + k21
        disc = np.sqrt(np.maximum(s * s - 4.0 * k10 * k21, 0.0))
        alpha = 0.5 * (s + disc)
        beta = k10 * k21 / alpha  # stable form of 0.5 * (s - disc)
        a1 = (alpha - k21) / (alpha - beta)
        a2 = (k21 - beta) / (alpha - beta)
        lam = np.stack(np.broadcast_arrays(alpha, beta))
        coef = np.stack(np.broadcast_arrays(a1, a2))
        return lam, coef

    def half_lives(self) -> np.ndarray:
        """Disposition half-lives ln2/lambda_i in days (distribution first)."""
        lam, _ = self.exponents()
        return math.log(2.0) / lam

    def clearance(self):
        """Total clearance ``V1 * k10`` in L/day/kg."""
        return np.asarray(self.V1, dtype=float) * np.asarray(self.k10, dtype=float)

    def with_params(self, **kw) -> "PKModel":
        """Copy with some parameters replaced (e.g. per-animal arrays)."""
        return replace(self, **kw)

    def summary(self) -> str:
        """Parameters with units and their source."""
        f = lambda v: np.array2string(np.asarray(v), precision=4) if np.ndim(v) else f"{float(v):.4g}"  # noqa: E731
        lines = [f"PK model {self.name!r}: {self.n_compartments}-compartment, linear",
                 f"  V1  = {f(self.V1)} L/kg", f"  k10 = {f(self.k10)} 1/day"]
        if self.n_compartments == 2:
            lines += [f"  k12 = {f(self.k12)} 1/day", f"  k21 = {f(self.k21)} 1/day"]
        if self.ka is not None:
            lines.append(f"  ka  = {f(self.ka)} 1/day")
        for r, v in dict(self.bioavailability).items():
            lines.append(f"  F({r}) = {v:g}")
        if self.reference:
            lines.append(f"  source: {self.reference}")
        return "\n".join(lines)


def one_compartment(V: float, k: float | None = None, *, CL: float | None = None, half_life: float | None = None,
                    ka: float | None = None, bioavailability: Mapping[str, float] | None = None,
                    molecular_weight: float | None = None, name: str = "1-cmt", reference: str = "") -> PKModel:
    """One-compartment model from V (L/kg) and one of k (1/day), CL (L/day/kg) or half_life (days)."""
    given = [x is not None for x in (k, CL, half_life)]
    if sum(given) != 1:
        raise DataError("one_compartment: give exactly one of k (1/day), CL (L/day/kg) or half_life (days).")
    if CL is not None:
        k = np.asarray(CL, dtype=float) / np.asarray(V, dtype=float)
    elif half_life is not None:
        k = math.log(2.0) / np.asarray(half_life, dtype=float)
    return PKModel(V1=V, k10=k, ka=ka, bioavailability=dict(bioavailability or {}),
                   molecular_weight=molecular_weight, name=name, reference=reference)


def two_compartment(V1: float, k10: float | None = None, k12: float | None = None, k21: float | None = None, *,
                    CL: float | None = None, Q: float | None = None, V2: float | None = None,
                    ka: float | None = None, bioavailability: Mapping[str, float] | None = None,
                    molecular_weight: float | None = None, name: str = "2-cmt", reference: str = "") -> PKModel:
    """Two-compartment model from micro-constants (1/day) or from CL, Q (L/day/kg) and V2 (L/kg)."""
    if CL is not None or Q is not None or V2 is not None:
        if None in (CL, Q, V2) or any(x is not None for x in (k10, k12, k21)):
            raise DataError("two_compartment: give either k10, k12, k21 or all of CL, Q, V2 (not a mix).")
        k10 = np.asarray(CL, dtype=float) / V1
        k12 = np.asarray(Q, dtype=float) / V1
        k21 = np.asarray(Q, dtype=float) / np.asarray(V2, dtype=float)
    if None in (k10, k12, k21):
        raise DataError("two_compartment: k10, k12 and k21 (1/day) are all required.")
    return PKModel(V1=V1, k10=k10, k12=k12, k21=k21, ka=ka, bioavailability=dict(bioavailability or {}),
                   molecular_weight=molecular_weight, name=name, reference=reference)


# --- published paclitaxel values -------------------------------------------------------------

_H = 24.0  # hours per day
#: Paclitaxel in nude mice, two-compartment IV model used by Simeoni et al. (2004) Cancer Res
#: 64:1094-1101 (Table 1): V1 = 0.81 L/kg, k10 = 0.868 1/h, k12 = 0.006 1/h, k21 = 0.0838 1/h.
#: Cross-checked against the DDMoRe repository encodings of the same model (DDMODEL00000006,
#: Simeoni 2004; DDMODEL00000274, Terranova et al. 2018 J Theor Biol 450:1-14, which fixes
#: K10 = 20.832, K12 = 0.144, K21 = 2.011 1/day and V1 = 813.1 mL/kg).  ``ka`` and the IP
#: bioavailability are *assumptions* (not in Simeoni 2004, which dosed IV): F_ip = 0.1 follows
#: the ~10 % IP bioavailability reported by Eiseman et al. (1994) in CD2F1 mice; ka = 24 1/day
#: (absorption half-life ~0.7 h) is a placeholder chosen by comboplan, not a published value.
PACLITAXEL_MOUSE_SIMEONI2004 = PKModel(
    V1=0.81, k10=0.868 * _H, k12=0.006 * _H, k21=0.0838 * _H, ka=24.0,
    bioavailability={"ip": 0.10, "sc": 0.0, "oral": 0.0, "po": 0.0},
    molecular_weight=PACLITAXEL_MW, name="paclitaxel_mouse_simeoni2004",
    reference="Simeoni et al. 2004 Cancer Res 64:1094 (Table 1, IV 2-cmt); F_ip from Eiseman et al. 1994 "
              "Cancer Chemother Pharmacol 34:465; ka assumed",
)

#: Paclitaxel in female CD2F1 mice after IV bolus, Eiseman et al. (1994) Cancer Chemother
#: Pharmacol 34:465-471 (abstract): total body clearance 4.54 mL/min/kg, terminal half-life
#: 43 min (males: 3.25 mL/min/kg, 69 min); bioavailability ~10 % IP, ~0 oral and SC.  The
#: one-compartment volume V = CL / k = 0.282 L/kg is *derived* here, not reported.
PACLITAXEL_MOUSE_EISEMAN1994 = one_compartment(
    V=(4.54e-3 * 1440.0) / (math.log(2.0) / (43.0 / 1440.0)), half_life=43.0 / 1440.0, ka=24.0,
    bioavailability={"ip": 0.10, "sc": 0.0, "oral": 0.0, "po": 0.0},
    molecular_weight=PACLITAXEL_MW, name="paclitaxel_mouse_eiseman1994_female",
    reference="Eiseman et al. 1994 Cancer Chemother Pharmacol 34:465 (female CD2F1, IV: CL 4.54 mL/min/kg, "
              "t1/2 43 min, F_ip ~0.1); V derived as CL/k; ka assumed",
)


def paclitaxel_mouse(source: str = "simeoni2004", **overrides) -> PKModel:
    """Published paclitaxel mouse PK (``"simeoni2004"`` or ``"eiseman1994"``), optionally overridden.

    Examples
    --------
    >>> pk = paclitaxel_mouse(bioavailability={"ip": 1.0})   # assume complete IP absorption
    """
    base = {"simeoni2004": PACLITAXEL_MOUSE_SIMEONI2004, "eiseman1994": PACLITAXEL_MOUSE_EISEMAN1994}
    if source not in base:
        raise DataError(f"unknown paclitaxel PK source {source!r}; use 'simeoni2004' or 'eiseman1994'.")
    return replace(base[source], **overrides) if overrides else base[source]


# ---------------------------------------------------------------------------
# closed-form responses
# ---------------------------------------------------------------------------

def _input_response(lam, tau, kind: str, ka=None, T: float = 0.0, integrate: bool = False):
    """Response of one exponential mode ``exp(-lam t)`` to a unit input, or its running integral.

    ``tau`` >= 0 is the time since the dose; entries with ``tau < 0`` are returned as 0.
    """
    pos = tau > 0
    tp = np.where(pos, tau, 0.0)
    if kind == "bolus":
        if integrate:
            out = -np.expm1(-lam * tp) / lam
        else:
            out = np.exp(-lam * tp)
            out = np.where(tau >= 0, out, 0.0)
            return out
    elif kind == "infusion":
        t_in = np.minimum(tp, T)
        t_after = tp - t_in
        frac_in = -np.expm1(-lam * t_in)  # 1 - e^{-lam t}
        if integrate:
            part_in = (t_in - frac_in / lam) / (lam * T)
            end_level = -np.expm1(-lam * T) / (lam * T)
            out = part_in + end_level * (-np.expm1(-lam * t_after)) / lam * (tp > T)
        else:
            out = frac_in / (lam * T) * np.exp(-lam * t_after)
    elif kind == "first_order":
        d = ka - lam
        small = np.abs(d) <= 1e-7 * np.maximum(ka, lam)
        d_safe = np.where(small, 1.0, d)
        if integrate:
            gen = ka / d_safe * (-np.expm1(-lam * tp) / lam + np.expm1(-ka * tp) / ka)
            lim = ka * (1.0 - np.exp(-lam * tp) * (1.0 + lam * tp)) / (lam * lam)
        else:
            gen = ka * np.exp(-lam * tp) * (-np.expm1(-d_safe * tp)) / d_safe
            lim = ka * tp * np.exp(-lam * tp)
        out = np.where(small, lim, gen)
    else:  # pragma: no cover - guarded by ROUTES
        raise ValueError(kind)
    return np.where(pos, out, 0.0)


def _conc_factor(pk: PKModel, unit: str) -> float:
    if unit not in _CONC_UNITS:
        raise DataError(f"unknown concentration unit {unit!r}; use one of {', '.join(_CONC_UNITS)}.")
    f = _CONC_UNITS[unit]
    if f is None:
        if not pk.molecular_weight:
            raise DataError(f"concentration in {unit!r} needs the molecular weight (g/mol) in the PK model.")
        f = 1e3 / pk.molecular_weight  # ug/mL -> uM
        if unit == "nM":
            f *= 1e3
    return f


def _superpose(regimens, pk: PKModel, t, body_weight, unit: str, integrate: bool) -> np.ndarray:
    if isinstance(regimens, Regimen):
        regimens = [regimens]
    t = np.asarray(t, dtype=float)
    if t.ndim != 1:
        raise DataError("t must be a one-dimensional array of times in days.")
    if np.any(~np.isfinite(t)):
        raise DataError("t must contain finite times in days.")
    lam, coef = pk.exponents()  # (n_exp, *pshape)
    V1 = np.asarray(pk.V1, dtype=float)
    ka = None if pk.ka is None else np.asarray(pk.ka, dtype=float)
    pshape = np.broadcast_shapes(lam.shape[1:], V1.shape, () if ka is None else ka.shape,
                                 np.shape(body_weight) if body_weight is not None else ())
    if len(pshape) > 1:
        raise DataError("per-animal PK parameters must be one-dimensional arrays (one value per animal).")
    n_a = pshape[0] if pshape else 1
    n_e = lam.shape[0]
    lam = np.broadcast_to(lam.reshape(n_e, -1), (n_e, n_a))[..., None]  # (e, a, 1)
    coef = np.broadcast_to(coef.reshape(n_e, -1), (n_e, n_a))[..., None]
    V1 = np.broadcast_to(V1, (n_a,))[:, None]
    out = np.zeros((n_a, t.size))
    for reg in regimens:
        kind = ROUTES[reg.route]
        if reg.amount == 0:
            continue
        F = pk.F(reg.route)
        if F == 0:
            continue
        if kind == "first_order" and ka is None:
            raise DataError(f"route {reg.route!r} needs an absorption rate constant ka (1/day) in the PK model "
                            f"{pk.name!r}.")
        ka_b = None if ka is None else np.broadcast_to(ka, (n_a,))[:, None]
        d = np.broadcast_to(np.asarray(dose_per_kg(reg, body_weight), dtype=float), (n_a,))[:, None]
        scale = F * d / V1  # mg/L per unit response, (a, 1)
        acc = np.zeros((n_a, t.size))
        for td in reg.times:
            tau = t[None, :] - td
            for i in range(lam.shape[0]):
                acc += coef[i] * _input_response(lam[i], tau, kind, ka_b, reg.duration, integrate)
        out += scale * acc
    return out * _conc_factor(pk, unit)


def concentration(regimens, pk: PKModel, t, body_weight=None, unit: str = "ug/mL") -> np.ndarray:
    """Plasma (central) concentration of one or several regimens of the same agent.

    Parameters
    ----------
    regimens : Regimen or sequence of Regimen
        Administrations to superpose (e.g. paclitaxel given IP plus a paclitaxel-equivalent
        amount carried by primed secretome).
    pk : PKModel
        Parameters; scalars or arrays with one value per animal.
    t : array_like, shape (n_t,)
        Times in days.
    body_weight : float or array, optional
        kg, needed for absolute dose units.
    unit : str
        ``"ug/mL"`` (default, = mg/L), ``"ng/mL"``, ``"uM"`` or ``"nM"``.

    Returns
    -------
    numpy.ndarray, shape (n_animals, n_t)
        Concentrations (``n_animals = 1`` for scalar parameters).  At a bolus time the
        concentration includes that dose (right-continuous).
    """
    return _superpose(regimens, pk, t, body_weight, unit, integrate=False)


def cumulative_auc(regimens, pk: PKModel, t, body_weight=None, unit: str = "ug/mL") -> np.ndarray:
    """Running area under the concentration curve from day 0 to ``t`` (closed form).

    Returns
    -------
    numpy.ndarray, shape (n_animals, n_t)
        AUC in ``unit x day`` (e.g. ug/mL x day).
    """
    return _superpose(regimens, pk, t, body_weight, unit, integrate=True)
