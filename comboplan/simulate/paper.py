"""Calibrate the PK/PD simulator to the only in-vivo numbers Eiro et al. (2024) print.

The paper's low-dose experiment reports day-14 tumour volume relative to day 0 for
paclitaxel 5 mg/kg weekly (274 %), secretome of paclitaxel-primed hUCESC 3x/week (113 %) and
their combination (131 %) (bundled as ``eiro2024_xenograft``).  Three numbers identify three
parameters of an exponential-growth model with Bliss-independent kill hazards: the growth
rate, the secretome potency and the interaction ``gamma``.  Everything else is an assumption,
listed in :data:`ASSUMPTIONS` and returned with the calibration so that reports can print it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ASSUMPTIONS", "PaperCalibration", "calibrate_eiro2024"]

ASSUMPTIONS = (
    "A1 growth is exponential to day 21 and luminescence is proportional to tumour burden",
    "A2 untreated tumours grow like the 5 mg/kg arm: the paper says their growth was 'similar' and does not "
    "print the control's day-14 value",
    "A3 paclitaxel PK in mice = Simeoni et al. 2004 (2-compartment) with complete IP absorption (Eiseman 1994 "
    "reported ~10 % IP bioavailability; with 10 % no dose would work at all)",
    "A4 paclitaxel potency k2 = Simeoni 2004's estimate (A2780 cells, not MDA-MB-231)",
    "A5 the secretome effect decays with a 1-day half-life after each injection (no PK measured)",
    "A6 no paclitaxel-equivalent is carried by vesicles (EV paclitaxel was detected, not quantified)",
    "A7 each day-14 value has a log-scale standard error of 0.4/sqrt(7) (bioluminescence CV ~40 %, n = 7)",
)


@dataclass(frozen=True)
class PaperCalibration:
    """Least-squares calibration of the simulator to the Eiro 2024 day-14 values.

    Attributes
    ----------
    theta : dict
        ``lambda0`` (1/day), ``potency.secretome`` (1/day per unit exposure),
        ``interaction.gamma`` (dimensionless; 0 = Bliss independence).
    cov : ndarray
        Covariance of ``theta`` (same order), residual scale fixed by assumption A7.
    observed, fitted : ndarray
        Day-14 relative sizes (fraction of day 0) for paclitaxel 5 mg/kg, primed secretome, combination.
    assumptions : tuple of str
    """

    theta: dict
    cov: np.ndarray
    observed: np.ndarray
    fitted: np.ndarray
    assumptions: tuple = ASSUMPTIONS
    regimens: dict = field(default_factory=dict, repr=False)

    def model(self, theta: dict | None = None):
        """The :class:`~comboplan.simulate.cohort.PKPDModel` at ``theta`` (default: the estimate)."""
        return _model(self.theta if theta is None else theta)

    def draws(self, n: int = 200, seed=1):
        """Parameter draws from the calibration's covariance (positive parameters kept > 0)."""
        from .cohort import ParameterDraws, draws_from_covariance

        d = draws_from_covariance(dict(self.theta), self.cov, n, seed=seed, log_scale=False)
        vals = {k: (v if k == "interaction.gamma" else np.maximum(v, 1e-6)) for k, v in d.values.items()}
        return ParameterDraws(vals, source=d.source)


def _regimens():
    from ..models.pk import Regimen
    from .exposure import secretome

    ptx5 = Regimen.from_schedule(5, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
    primed = secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)  # A5, A6
    return ptx5, primed


def _model(theta: dict):
    from ..models.pk import paclitaxel_mouse
    from .cohort import PKPDModel
    from .pd import SIMEONI_K2_PACLITAXEL, Effect, GrowthModel, Interaction

    return PKPDModel(
        growth=GrowthModel("exponential", {"lambda0": theta["lambda0"], "w0": 1.0}, size_unit="relative burden"),
        effects={"paclitaxel": Effect("paclitaxel", SIMEONI_K2_PACLITAXEL),  # A4
                 "secretome": Effect("secretome", theta["potency.secretome"])},
        interaction=Interaction(gamma=theta["interaction.gamma"]),
        pk={"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})})  # A3


def calibrate_eiro2024() -> PaperCalibration:
    """Fit growth rate, secretome potency and interaction to the Eiro 2024 day-14 values.

    Returns
    -------
    PaperCalibration
        Estimates, covariance, observed and fitted values, and the assumptions made.
    """
    from scipy.optimize import least_squares

    from ..data.datasets import load_dataset
    from .cohort import Arm
    from .pd import simulate_growth

    data = load_dataset("eiro2024_xenograft")
    obs = {r.arm: r.tumor_volume_pct / 100.0 for r in data.itertuples()}
    y = np.log([obs["paclitaxel"], obs["CM-hUCESC_chemo"], obs["paclitaxel + CM-hUCESC_chemo"]])
    se = 0.4 / np.sqrt(7)  # A7
    ptx5, primed = _regimens()
    arms = [Arm("paclitaxel", [ptx5]), Arm("primed", [], [primed]), Arm("combo", [ptx5], [primed])]
    days = np.array([0.0, 14.0])
    names = ("lambda0", "potency.secretome", "interaction.gamma")

    def predict(th):
        m = _model(dict(zip(names, th)))
        return np.array([np.log(simulate_growth(days, m.growth, a.exposures(m.pk), m.effects, m.interaction)[0, 1])
                         for a in arms])

    fit = least_squares(lambda th: (predict(th) - y) / se, x0=[0.08, 0.05, 0.0],
                        bounds=([1e-4, 0.0, -5.0], [1.0, 5.0, 5.0]))
    cov = np.linalg.pinv(fit.jac.T @ fit.jac)
    return PaperCalibration(theta=dict(zip(names, fit.x)), cov=cov, observed=np.exp(y), fitted=np.exp(predict(fit.x)),
                            regimens={"paclitaxel_5": ptx5, "primed": primed})
