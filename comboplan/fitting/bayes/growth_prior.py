"""Prior predictive check and study simulation of the hierarchical Bayesian growth model
(:func:`prior_predictive_growth`, :func:`simulate_growth_study`); the model itself is in
:mod:`comboplan.fitting.bayes.growth`, which re-exports these names."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from .growth import (GROWTH_MODELS, LIKELIHOODS, _arrays_and_design, _check_choice, _default_priors,
                     growth_curve)
from .priors import resolve_priors

__all__ = ["PriorPredictive", "prior_predictive_growth", "simulate_growth_study"]


# ---------------------------------------------------------------------------------------
# prior predictive check
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PriorPredictive:
    """Draws from the prior predictive distribution and a comparison with the data.

    Attributes
    ----------
    draws : xarray.Dataset
        Prior draws of the parameters (dim ``sample``) and ``log_size`` (sample, obs).
    table : pandas.DataFrame
        Per time point: observed median log size and prior-predictive quantiles.
    coverage : float
        Fraction of observed log sizes inside the central 95 % prior predictive interval.
    """

    draws: "object"
    table: pd.DataFrame
    coverage: float

    def summary(self) -> str:
        """Text summary of the check."""
        lines = [
            "Prior predictive check (log size)",
            f"observations inside the central 95 % prior predictive interval: {100 * self.coverage:.1f} %",
            "(priors are weakly informative: this should be close to 100 %, with intervals much wider than the data)",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
        ]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Plot prior-predictive bands against the observations; returns the Axes."""
        from ...plot.bayes import plot_prior_predictive

        return plot_prior_predictive(self, ax=ax)


def prior_predictive_growth(
    data: pd.DataFrame,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    model: str = "exponential",
    interaction=None,
    lloq=None,
    censored=None,
    dropout=None,
    time_origin=None,
    time_unit: str = "day",
    likelihood: str = "normal",
    priors: Mapping | None = None,
    samples: int = 1000,
    seed=None,
) -> PriorPredictive:
    """Simulate data sets from the priors and compare them with the observed sizes.

    Same column arguments as :func:`fit_growth`; no MCMC is run (numpy forward
    simulation), so this is fast.

    Parameters
    ----------
    samples : int
        Number of prior draws.
    seed : int or numpy.random.Generator

    Returns
    -------
    PriorPredictive
    """
    import xarray as xr

    _check_choice("model", model, GROWTH_MODELS)
    _check_choice("likelihood", likelihood, LIKELIHOODS)
    arrays, design = _arrays_and_design(data, subject, arm, time, size, lloq=lloq, censored=censored,
                                        dropout=dropout, time_origin=time_origin, interaction=interaction)
    pri = resolve_priors(_default_priors(arrays, design, model, likelihood, time_unit), priors)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    S = int(samples)
    d = {k: pri[k].sample(rng, S) for k in ("log_baseline_mean", "sigma_baseline", "sigma_animal", "sigma")}
    if design.factorial:
        for k in ("r_control", "effect_A", "effect_B", "interaction"):
            d[k] = pri[k].sample(rng, S)
        coef = np.stack([d["r_control"], d["effect_A"], d["effect_B"], d["interaction"]], axis=1)
        r_arm = coef @ design.X.T
        if len(design.other_arms):
            r_arm[:, design.other_arms] = pri["r_arm"].sample(rng, (S, len(design.other_arms)))
    else:
        r_arm = pri["r_arm"].sample(rng, (S, arrays.n_arms))
    beta = pri["beta"].sample(rng, S)[:, None] if model == "gompertz" else None
    lb = d["log_baseline_mean"][:, None] + d["sigma_baseline"][:, None] * rng.standard_normal((S, arrays.n_animals))
    r = r_arm[:, arrays.animal_arm] + d["sigma_animal"][:, None] * rng.standard_normal((S, arrays.n_animals))
    mu = growth_curve(arrays.obs_time, lb[:, arrays.obs_animal], r[:, arrays.obs_animal], beta)
    if likelihood == "student_t":
        eps = rng.standard_t(pri["nu"].sample(rng, S)[:, None], size=mu.shape)
    else:
        eps = rng.standard_normal(mu.shape)
    y = mu + d["sigma"][:, None] * eps
    y = np.maximum(y, np.where(arrays.obs_censored, arrays.obs_log_size, -np.inf))
    lo, hi = np.quantile(y, [0.025, 0.975], axis=0)
    obs = arrays.obs_log_size
    inside = (obs >= lo) & (obs <= hi)
    rows = []
    for tt in np.unique(arrays.obs_time):
        k = arrays.obs_time == tt
        q = np.quantile(y[:, k], [0.025, 0.5, 0.975])
        rows.append({"time": tt + arrays.time_origin, "n_obs": int(k.sum()),
                     "observed_median": float(np.median(obs[k])), "observed_min": float(obs[k].min()),
                     "observed_max": float(obs[k].max()), "prior_q025": q[0], "prior_median": q[1],
                     "prior_q975": q[2]})
    ds = xr.Dataset({k: ("sample", v) for k, v in d.items()})
    ds["r_arm"] = (("sample", "arm"), r_arm)
    ds["log_size"] = (("sample", "obs"), y)
    ds = ds.assign_coords(arm=[str(a) for a in arrays.arm_labels], obs=list(arrays.obs_label),
                          obs_time=("obs", arrays.obs_time + arrays.time_origin))
    ds.attrs["observed_log_size"] = json.dumps(obs.tolist())
    return PriorPredictive(draws=ds, table=pd.DataFrame(rows), coverage=float(inside.mean()))


# ---------------------------------------------------------------------------------------
# simulation of studies (tests, benchmarks, calibration, examples)
# ---------------------------------------------------------------------------------------
def simulate_growth_study(
    seed=None,
    *,
    n_per_arm: int = 7,
    days=(0.0, 4.0, 8.0, 12.0, 16.0),
    r_control: float = 0.15,
    effect_A: float = -0.05,
    effect_B: float = -0.06,
    interaction: float = -0.03,
    log_baseline_mean: float = np.log(100.0),
    sigma_baseline: float = 0.2,
    sigma_animal: float = 0.02,
    sigma: float = 0.15,
    beta: float | None = None,
    lloq: float | None = None,
    arms=("control", "A", "B", "A+B"),
) -> pd.DataFrame:
    """Simulate a 2x2 factorial xenograft study from the hierarchical model.

    Parameters
    ----------
    seed : int or numpy.random.Generator
    n_per_arm : int
        Animals per arm.
    days : sequence of float
        Measurement days.
    r_control, effect_A, effect_B, interaction : float
        True rates (1/day): r_A = r_control + effect_A, r_AB = ... + interaction.
    log_baseline_mean, sigma_baseline, sigma_animal, sigma : float
        Population mean/sd of log baseline (log mm^3), sd of animal rates (1/day),
        residual sd of log size.
    beta : float, optional
        Gompertz deceleration (1/day); None = exponential.
    lloq : float, optional
        Sizes below it are reported as 0 (undetectable) with ``below_lloq=True``.
    arms : tuple of 4 str
        Labels of the control, A, B and combination arms.

    Returns
    -------
    pandas.DataFrame
        Columns ``mouse``, ``arm``, ``drug_a``, ``drug_b`` (0/1), ``day``, ``volume_mm3``,
        ``below_lloq``; ``attrs["truth"]`` holds the true values (including
        per-animal rates).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ia = np.array([0, 1, 0, 1])
    ib = np.array([0, 0, 1, 1])
    r_arm = r_control + effect_A * ia + effect_B * ib + interaction * ia * ib
    arm_idx = np.repeat(np.arange(4), n_per_arm)
    n = len(arm_idx)
    lb = log_baseline_mean + sigma_baseline * rng.standard_normal(n)
    r = r_arm[arm_idx] + sigma_animal * rng.standard_normal(n)
    days = np.asarray(days, float)
    mu = growth_curve(days[None, :], lb[:, None], r[:, None], beta)
    y = mu + sigma * rng.standard_normal(mu.shape)
    vol = np.exp(y)
    below = np.zeros_like(vol, bool)
    if lloq is not None:
        below = vol < lloq
        vol = np.where(below, 0.0, vol)
    labels = np.array(arms, dtype=object)
    df = pd.DataFrame({
        "mouse": np.repeat([f"m{i + 1:02d}" for i in range(n)], len(days)),
        "arm": np.repeat(labels[arm_idx], len(days)),
        "drug_a": np.repeat(ia[arm_idx], len(days)),
        "drug_b": np.repeat(ib[arm_idx], len(days)),
        "day": np.tile(days, n),
        "volume_mm3": vol.ravel(),
        "below_lloq": below.ravel(),
    })
    df.attrs["truth"] = {
        "r_control": r_control, "effect_A": effect_A, "effect_B": effect_B, "interaction": interaction,
        "r_arm": dict(zip(arms, r_arm.tolist())), "log_baseline_mean": log_baseline_mean,
        "sigma_baseline": sigma_baseline, "sigma_animal": sigma_animal, "sigma": sigma, "beta": beta,
        "r_animal": dict(zip(df["mouse"].unique(), r.tolist())),
    }
    return df
