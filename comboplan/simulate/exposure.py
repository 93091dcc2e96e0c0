"""Exposures that drive tumour growth: drugs through PK, biological products (secretome).

A *drug* exposure is a plasma concentration from :mod:`comboplan.models.pk`.  A
*product* exposure (conditioned medium / secretome, extracellular vesicles, ...) has no
measured PK: it is described by an **effect level** ``e(t)`` in dimensionless "standard
dose" units.  Each administration of ``amount`` contributes

* ``mode="decay"``: ``potency * amount / reference_amount * exp(-ln2 (t - t_d) / half_life)``;
* ``mode="while_present"``: ``potency * amount / reference_amount`` for
  ``t_d <= t < t_d + duration``, 0 afterwards;

and the contributions add (superposition).  ``potency`` separates products of different
strength: naive secretome has potency 1 by convention; secretome from paclitaxel-primed
cells ("CM-hUCESC_chemo", Eiró et al. 2024) is given a potency factor relative to naive.

The papers' hypothesis that primed secretome *carries paclitaxel in extracellular
vesicles* (paclitaxel was detected in the EVs by HPLC-ESI-QTOF, Eiró et al. 2024, Fig.
4E-F, but not quantified) is expressed by ``carried_agent="paclitaxel"`` and
``carried_amount`` (mg/kg of paclitaxel-equivalent per administration): every
administration then also gives that amount of the drug, which goes through the drug's
own PK (see :meth:`ProductExposure.carried_regimen`).  Setting ``carried_amount=0``
(the default) is the explicit "no vesicle paclitaxel" null.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..exceptions import DataError
from ..models.pk import PKModel, Regimen, concentration, cumulative_auc, parse_schedule

__all__ = [
    "PRODUCT_UNITS",
    "ProductExposure",
    "DrugExposure",
    "secretome",
    "SECRETOME_POTENCY",
]

#: units accepted for a biological product's amount (no conversion between them is attempted)
PRODUCT_UNITS = ("uL", "mL", "ug", "mg", "ug/kg", "mg/kg", "dose", "x")

#: Default potency factors (relative to naive secretome).  The primed value is an
#: *assumption* for planning, not a published estimate: Eiró et al. (2024) report that
#: CM-hUCESC_chemo inhibited MDA-MB-231 proliferation by 37.4 % vs. paclitaxel 43.2 % in vitro
#: but give no naive-vs-primed potency ratio on a common scale; fit it from data instead.
SECRETOME_POTENCY = {"naive": 1.0, "primed": 1.5}


@dataclass(frozen=True)
class ProductExposure:
    """A biological product given on a schedule, as a dimensionless effect level.

    Parameters
    ----------
    amount : float
        Amount per administration (>= 0) in ``unit`` (e.g. 200 uL of 2X conditioned medium).
    unit : str
        One of :data:`PRODUCT_UNITS`.
    times : tuple of float
        Administration days (>= 0).
    half_life : float
        Half-life of the effect in days (``mode="decay"``).
    mode : {"decay", "while_present"}
        Exponential decay after each administration, or a constant effect for ``duration``
        days after it.
    duration : float
        Days of action per administration (``mode="while_present"``).
    potency : float
        Multiplies the level (naive = 1; primed > 1 when it is more active).
    reference_amount : float, optional
        Amount giving level ``potency`` right after one administration (default: ``amount``,
        so the planned dose is the unit).
    carried_agent : str, optional
        Drug carried by the product (e.g. ``"paclitaxel"`` in vesicles of primed secretome).
    carried_amount : float
        Paclitaxel-equivalent amount per administration, **mg/kg** (0 = nothing carried).
    carried_route : str
        Route through which the carried drug reaches plasma; ``"iv"`` (default) means
        ``carried_amount`` is the systemically available amount.
    agent : str
        Name of the product (``"secretome"``).
    kind : str
        Free label (``"naive"``, ``"primed"``).
    """

    amount: float
    unit: str = "uL"
    times: tuple = (0.0,)
    half_life: float = 1.0
    mode: str = "decay"
    duration: float = 1.0
    potency: float = 1.0
    reference_amount: float | None = None
    carried_agent: str | None = None
    carried_amount: float = 0.0
    carried_route: str = "iv"
    agent: str = "secretome"
    kind: str = "naive"

    def __post_init__(self) -> None:
        name = f"product {self.agent!r} ({self.kind})"
        for nm in ("amount", "potency", "carried_amount"):
            v = getattr(self, nm)
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise DataError(f"{name}: {nm} {v!r} is not a number.") from None
            if not np.isfinite(fv) or fv < 0:
                raise DataError(f"{name}: {nm} must be a finite number >= 0; got {v!r}.")
            object.__setattr__(self, nm, fv)
        if self.unit not in PRODUCT_UNITS:
            raise DataError(f"{name}: unknown unit {self.unit!r}; use one of {', '.join(PRODUCT_UNITS)}.")
        if self.mode not in ("decay", "while_present"):
            raise DataError(f"{name}: mode must be 'decay' or 'while_present'; got {self.mode!r}.")
        if self.mode == "decay" and not (np.isfinite(self.half_life) and self.half_life > 0):
            raise DataError(f"{name}: half_life must be > 0 days; got {self.half_life!r}.")
        if self.mode == "while_present" and not (np.isfinite(self.duration) and self.duration > 0):
            raise DataError(f"{name}: duration must be > 0 days; got {self.duration!r}.")
        ref = self.amount if self.reference_amount is None else float(self.reference_amount)
        if self.reference_amount is not None and not ref > 0:
            raise DataError(f"{name}: reference_amount must be > 0 (the amount that gives level 1).")
        object.__setattr__(self, "reference_amount", ref)
        days = parse_schedule(list(self.times))
        object.__setattr__(self, "times", tuple(float(d) for d in days))
        if self.carried_amount > 0 and not self.carried_agent:
            raise DataError(f"{name}: carried_amount > 0 needs carried_agent (e.g. 'paclitaxel').")

    @property
    def scale(self) -> float:
        """Level right after one administration: ``potency * amount / reference_amount``."""
        if self.reference_amount == 0:
            return 0.0
        return self.potency * self.amount / self.reference_amount

    def level(self, t) -> np.ndarray:
        """Effect level at times ``t`` (days), shape ``(n_t,)``, dimensionless."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        if self.scale == 0:
            return out
        for td in self.times:
            tau = t - td
            if self.mode == "decay":
                k = math.log(2.0) / self.half_life
                out += np.where(tau >= 0, np.exp(-k * np.maximum(tau, 0.0)), 0.0)
            else:
                out += ((tau >= 0) & (tau < self.duration)).astype(float)
        return self.scale * out

    def cumulative(self, t) -> np.ndarray:
        """Running integral of :meth:`level` from day 0 (level x day), closed form."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        if self.scale == 0:
            return out
        for td in self.times:
            tau = np.maximum(t - td, 0.0)
            if self.mode == "decay":
                k = math.log(2.0) / self.half_life
                out += -np.expm1(-k * tau) / k
            else:
                out += np.minimum(tau, self.duration)
        return self.scale * out

    def carried_regimen(self) -> Regimen | None:
        """The drug carried by the product as a :class:`Regimen` (``None`` when nothing is carried)."""
        if not self.carried_agent or self.carried_amount == 0 or self.amount == 0:
            return None
        return Regimen(amount=self.carried_amount, unit="mg/kg", times=self.times, route=self.carried_route,
                       agent=self.carried_agent)

    def with_amount(self, amount: float) -> "ProductExposure":
        """Same product with another amount per administration (``reference_amount`` kept)."""
        return replace(self, amount=amount)

    def describe(self) -> str:
        """One line for tables and reports."""
        days = ", ".join(f"{d:g}" for d in self.times)
        how = f"t1/2 {self.half_life:g} d" if self.mode == "decay" else f"acts {self.duration:g} d"
        carried = (f"; carries {self.carried_amount:g} mg/kg {self.carried_agent}-equivalent"
                   if self.carried_amount else "")
        return (f"{self.amount:g} {self.unit} {self.agent} ({self.kind}, potency {self.potency:g}, {how}) "
                f"on day(s) {days}{carried}")


def secretome(kind: str = "naive", schedule="3x/week", *, amount: float = 200.0, unit: str = "uL",
              start: float | None = None, end: float | None = None, half_life: float = 1.0,
              mode: str = "decay", duration: float = 1.0, potency: float | None = None,
              reference_amount: float | None = None, paclitaxel_equivalent: float = 0.0,
              carried_route: str = "iv") -> ProductExposure:
    """Secretome (conditioned medium) exposure, as in Eiró et al. (2024).

    Parameters
    ----------
    kind : {"naive", "primed", "none"}
        Naive CM-hUCESC, CM from paclitaxel-primed cells (CM-hUCESC_chemo), or none
        (amount 0: an explicit "no companion" arm).
    schedule : str or sequence
        See :func:`comboplan.models.pk.parse_schedule`; the papers gave 200 uL of 2X CM
        intraperitoneally 3 times a week.
    amount, unit : float, str
        Per administration (default 200 uL).
    start, end : float, optional
        Days, when the schedule phrase does not give them.
    half_life : float
        Effect half-life in days (``mode="decay"``).  **Assumption**: 1 day by default;
        no secretome PK was measured in the papers.
    mode, duration
        See :class:`ProductExposure`.
    potency : float, optional
        Potency factor; default from :data:`SECRETOME_POTENCY` (naive 1, primed 1.5,
        an assumption to be replaced by a fitted value).
    reference_amount : float, optional
        Amount giving level ``potency`` (default: ``amount``).
    paclitaxel_equivalent : float
        mg/kg of paclitaxel carried in vesicles per administration (0 = none).
    carried_route : str
        How the carried paclitaxel reaches plasma (default ``"iv"``: already bioavailable).

    Returns
    -------
    ProductExposure
    """
    if kind not in ("naive", "primed", "none"):
        raise DataError(f"secretome kind must be 'naive', 'primed' or 'none'; got {kind!r}.")
    days = parse_schedule(schedule, start=start, end=end)
    if potency is None:
        potency = SECRETOME_POTENCY.get(kind, 1.0)
    if kind == "none":
        return ProductExposure(amount=0.0, unit=unit, times=tuple(days), half_life=half_life, mode=mode,
                               duration=duration, potency=potency, reference_amount=reference_amount or amount or 1.0,
                               agent="secretome", kind="none")
    return ProductExposure(
        amount=amount, unit=unit, times=tuple(days), half_life=half_life, mode=mode, duration=duration,
        potency=potency, reference_amount=reference_amount,
        carried_agent="paclitaxel" if paclitaxel_equivalent else None, carried_amount=paclitaxel_equivalent,
        carried_route=carried_route, agent="secretome", kind=kind)


@dataclass(frozen=True)
class DrugExposure:
    """All administrations of one drug (its own regimens plus amounts carried by products)."""

    agent: str
    regimens: tuple
    pk: PKModel
    unit: str = "ug/mL"

    def concentration(self, t, pk: PKModel | None = None, body_weight=None) -> np.ndarray:
        """Concentration (``unit``) at ``t`` (days), shape (n_animals, n_t)."""
        if not self.regimens:
            return np.zeros((1, np.size(t)))
        return concentration(list(self.regimens), pk or self.pk, t, body_weight=body_weight, unit=self.unit)

    def cumulative(self, t, pk: PKModel | None = None, body_weight=None) -> np.ndarray:
        """Running AUC (``unit`` x day) at ``t``, shape (n_animals, n_t)."""
        if not self.regimens:
            return np.zeros((1, np.size(t)))
        return cumulative_auc(list(self.regimens), pk or self.pk, t, body_weight=body_weight, unit=self.unit)
