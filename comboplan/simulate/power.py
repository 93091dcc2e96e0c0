"""Power and sample size by simulating whole studies and analysing each one.

Each simulated study has ``n_per_arm`` new animals per arm (independent between arms),
measured on ``days`` with the readout noise and dropout of the scenario.  It is then
analysed with exactly the functions a user runs on real data (their batch paths, which give
per study what the single-study functions return, tested):

* ``"bliss"`` / ``"hsa"``: :func:`comboplan.growth.synergy.invivo_synergy_batch`, the
  random-slope mixed model on ``log(V/V0)`` (REML, all observed data) followed by the
  growth-rate synergy scores of :func:`comboplan.growth.invivo_synergy` at the last day;
  synergy (positive score) is declared when its one-sided ``p_synergy`` is below ``alpha``
  (Bliss: t test of the rate contrast; HSA: intersection-union test against both single
  agents);
* ``"noninferiority"``: :func:`comboplan.growth.endpoints.compare_arms_batch` (as
  :func:`~comboplan.growth.endpoints.compare_arms`): candidate vs reference on
  ``log(V(day)/V(0))``, one-sided pooled t test of ``mu_cand - mu_ref < log(1 + margin)``;
* ``"ttest"``: the same function's two-sided pooled t test.

A non-positive readout counts as not measured.  Power is the rejection rate with its
Monte-Carlo standard error ``sqrt(p (1 - p) / n)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import DataError
from .cohort import Arm, Dropout, ParameterDraws, PKPDModel, Readout, Variability, simulate_arms

__all__ = ["simulate_study", "study_power", "sample_size", "power_grid", "PowerResult", "ttest_power", "ANALYSES"]

ANALYSES = ("bliss", "hsa", "noninferiority", "ttest")


@dataclass(frozen=True)
class PowerResult:
    """Power of a design (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design: n_per_arm, duration, interval, power, mc_se, ci_low, ci_high,
        n_studies, mean_estimate.
    settings : dict
    estimates : dict
        Per design: effect estimate and p-value of every simulated study.
    """

    table: pd.DataFrame
    settings: dict = field(default_factory=dict)
    estimates: dict = field(default_factory=dict)

    @property
    def power(self) -> float:
        """Power of the first (or only) design."""
        return float(self.table["power"].iloc[0])

    @property
    def mc_se(self) -> float:
        """Monte-Carlo standard error of :attr:`power`."""
        return float(self.table["mc_se"].iloc[0])

    def summary(self) -> str:
        """Text table with the analysis and its sign convention."""
        s = self.settings
        head = (f"Power by simulation: analysis {s['analysis']} ({s['convention']}), alpha {s['alpha']:g}, "
                f"{s['n_studies']} studies per design, seed {s['seed']}.")
        cols = [c for c in ("n_per_arm", "duration", "interval", "power", "mc_se", "mean_estimate") if c in self.table]
        return head + "\n" + self.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}")

    def plot(self, ax=None, x: str = "n_per_arm", **kwargs):
        """Power curve with Monte-Carlo error bars (see :func:`comboplan.plot.simulate.plot_power`)."""
        from ..plot.simulate import plot_power

        return plot_power(self, ax=ax, x=x, **kwargs)


def ttest_power(effect_size: float, n_per_arm: int, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Closed-form power of the pooled two-sample t-test (noncentral t).

    Parameters
    ----------
    effect_size : float
        Standardised difference ``(mu_1 - mu_2) / sigma`` (Cohen's d).
    n_per_arm : int
    alpha : float
    alternative : {"two-sided", "less", "greater"}

    Returns
    -------
    float
    """
    df = 2 * n_per_arm - 2
    nc = effect_size * np.sqrt(n_per_arm / 2.0)
    if alternative == "two-sided":
        tc = stats.t.ppf(1 - alpha / 2, df)
        return float(stats.nct.sf(tc, df, nc) + stats.nct.cdf(-tc, df, nc))
    tc = stats.t.ppf(1 - alpha, df)
    if alternative == "greater":
        return float(stats.nct.sf(tc, df, nc))
    return float(stats.nct.cdf(-tc, df, nc))


def simulate_study(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int, days, *, n_studies: int = 1,
                   variability: Variability | None = None, readout: Readout | None = None,
                   dropout: Dropout | None = None, draws: ParameterDraws | None = None, seed=None,
                   max_step: float = 0.2, as_frame: bool = True):
    """Simulate complete studies.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        Tidy table (study, animal, arm, day, size) with dropped-out measurements removed, or
        the observed array (n_arms, n_studies, n_per_arm, n_days) with NaN after dropout
        (``as_frame=False``).
    """
    arms = list(arms)
    days = np.asarray(days, dtype=float)
    if int(n_per_arm) < 2:
        raise DataError("n_per_arm must be >= 2.")
    if days.size < 2 or days[0] != 0 or np.any(np.diff(days) <= 0):
        raise DataError("days must start at 0 (baseline image) and increase.")
    readout = readout or Readout()
    dropout = dropout or Dropout()
    ss = np.random.SeedSequence(seed if not isinstance(seed, np.random.Generator) else int(seed.integers(2 ** 63)))
    s_sim, s_draw, s_noise = ss.spawn(3)
    dr = None
    if draws is not None:  # one population draw per simulated study (assurance)
        idx = np.random.default_rng(s_draw).integers(0, draws.n_draws, size=int(n_studies))
        dr = ParameterDraws({k: v[idx] for k, v in draws.values.items()}, source=draws.source)
        size = simulate_arms(model, arms, days, int(n_per_arm), variability=variability, draws=dr,
                             seed=int(s_sim.generate_state(1)[0]), common_animals=False, max_step=max_step)
    else:
        size = simulate_arms(model, arms, days, int(n_per_arm) * int(n_studies), variability=variability,
                             seed=int(s_sim.generate_state(1)[0]), common_animals=False, max_step=max_step)
        size = size.reshape(len(arms), int(n_studies), int(n_per_arm), days.size)
    rng = np.random.default_rng(s_noise)
    obs = readout.measure(size, rng)
    drop = dropout.draw_days(size.shape[:3], rng)
    if dropout.size_limit is not None:
        over = size > dropout.size_limit
        first = np.where(over.any(-1), np.argmax(over, -1), -1)
        drop = np.minimum(drop, np.where(first >= 0, days[np.maximum(first, 0)] + 1e-9, np.inf))
    obs = np.where(days > drop[..., None], np.nan, obs)
    if not as_frame:
        return obs
    a, s, i, d = np.meshgrid(np.arange(len(arms)), np.arange(int(n_studies)), np.arange(int(n_per_arm)),
                             np.arange(days.size), indexing="ij")
    df = pd.DataFrame({"study": s.ravel(), "arm": np.asarray([x.name for x in arms])[a.ravel()],
                       "animal": [f"{arms[x].name}-{y}" for x, y in zip(a.ravel(), i.ravel())],
                       "day": days[d.ravel()], "size": obs.ravel()})
    return df[np.isfinite(df["size"].to_numpy())].reset_index(drop=True)


def _analysis_input(obs):
    """(n_arms, n_studies, n_per_arm, n_days) observations -> (n_studies, n_animals, n_days) sizes and
    the arm index of every animal, as the batch analysis functions take them.

    A non-positive readout (volume readout clipped at 0) counts as not measured; an animal
    whose baseline readout is not positive carries no information on relative size and is
    left out (kept with its baseline only)."""
    A, S, N, D = obs.shape
    sizes = np.moveaxis(obs, 0, 1).reshape(S, A * N, D)
    sizes = np.where(sizes > 0, sizes, np.nan)
    bad = ~np.isfinite(sizes[:, :, 0])
    if bad.any():
        sizes = sizes.copy()
        sizes[bad] = np.nan
        sizes[bad, 0] = 1.0
    return sizes, np.repeat(np.arange(A), N)


def _analyse(obs, days, analysis, idx, names, margin, endpoint_idx, method="reml"):
    """Analyse every simulated study with the same functions a user runs on real data.

    obs: (n_arms, n_studies, n_per_arm, n_days).  Returns (estimate, p-value) per study.
    """
    sizes, subject_arm = _analysis_input(obs)
    if analysis in ("bliss", "hsa"):
        from ..growth.synergy import invivo_synergy_batch

        design = {names[idx["control"]]: [], names[idx["a"]]: ["A"], names[idx["b"]]: ["B"],
                  names[idx["combo"]]: ["A", "B"]}
        res = invivo_synergy_batch(sizes, days, subject_arm, names, design=design, days=None, method=method)
        sc = res["scores"][names[idx["combo"]]][analysis]
        return sc["score"][:, 0], sc["p_synergy"][:, 0]
    from ..growth.endpoints import compare_arms_batch

    res = compare_arms_batch(sizes, days, subject_arm, names, reference=names[idx["reference"]],
                             candidate=names[idx["candidate"]], at=days[endpoint_idx], test=analysis, margin=margin)
    return res["estimate"], res["p_value"]


def _arm_index(arms, analysis, roles):
    names = [a.name for a in arms]
    need = {"bliss": ("control", "a", "b", "combo"), "hsa": ("control", "a", "b", "combo"),
            "noninferiority": ("reference", "candidate"), "ttest": ("reference", "candidate")}[analysis]
    roles = dict(roles or {})
    if not roles:
        if analysis in ("bliss", "hsa") and len(names) == 4:
            roles = dict(zip(("control", "a", "b", "combo"), names))
        elif len(names) == 2:
            roles = dict(zip(("reference", "candidate"), names))
    missing = [r for r in need if r not in roles]
    if missing:
        raise DataError(f"analysis {analysis!r} needs arm roles {need}; give roles={{{', '.join(repr(m) + ': <arm name>' for m in missing)}}}.")
    idx = {}
    for r in need:
        if roles[r] not in names:
            raise DataError(f"role {r!r} refers to arm {roles[r]!r}, which is not among the arms {names}.")
        idx[r] = names.index(roles[r])
    return idx


def study_power(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int, days, *, analysis: str = "bliss",
          roles: Mapping[str, str] | None = None, n_studies: int = 1000, alpha: float = 0.05,
          margin: float = 0.2, endpoint_day: float | None = None, variability: Variability | None = None,
          readout: Readout | None = None, dropout: Dropout | None = None, draws: ParameterDraws | None = None,
          seed=None, max_step: float = 0.2) -> PowerResult:
    """Power of a design by simulating ``n_studies`` studies and analysing each.

    Parameters
    ----------
    model : PKPDModel
    arms : sequence of Arm
    n_per_arm : int
    days : array_like
        Imaging days, starting at 0 (baseline).
    analysis : {"bliss", "hsa", "noninferiority", "ttest"}
    roles : mapping, optional
        Arm names per role: ``control, a, b, combo`` (synergy) or ``reference, candidate``.
        Default: the arms in that order.
    n_studies : int
    alpha : float
        One-sided for synergy and non-inferiority, two-sided for ``"ttest"``.
    margin : float
        Non-inferiority margin on the relative-size scale (0.2 = candidate may be 20 % larger).
    endpoint_day : float, optional
        Day of the endpoint for t-tests (default: last day).
    variability, readout, dropout, draws, seed, max_step
        As in :func:`comboplan.simulate.simulate_cohort`; ``draws`` gives assurance (power
        averaged over parameter uncertainty).

    Returns
    -------
    PowerResult
    """
    if analysis not in ANALYSES:
        raise DataError(f"analysis must be one of {ANALYSES}; got {analysis!r}.")
    if not 0 < alpha < 1:
        raise DataError("alpha must be in (0, 1).")
    if int(n_studies) < 1:
        raise DataError("n_studies must be >= 1.")
    arms = list(arms)
    days = np.asarray(days, dtype=float)
    idx = _arm_index(arms, analysis, roles)
    obs = simulate_study(model, arms, n_per_arm, days, n_studies=n_studies, variability=variability,
                         readout=readout, dropout=dropout, draws=draws, seed=seed, max_step=max_step, as_frame=False)
    e_idx = days.size - 1 if endpoint_day is None else int(np.searchsorted(days, endpoint_day))
    if e_idx >= days.size or days[e_idx] != (days[-1] if endpoint_day is None else endpoint_day):
        raise DataError(f"endpoint_day {endpoint_day!r} is not an imaging day ({days.tolist()}).")
    est, p = _analyse(obs, days, analysis, idx, [a.name for a in arms], margin, e_idx)
    ok = np.isfinite(p)
    rej = (p < alpha) & ok
    pw = float(rej.mean())
    n = int(n_studies)
    mc = float(np.sqrt(pw * (1 - pw) / n))
    lo, hi = stats.beta.ppf([0.025, 0.975], [rej.sum(), rej.sum() + 1], [n - rej.sum() + 1, n - rej.sum()])
    table = pd.DataFrame([{"n_per_arm": int(n_per_arm), "duration": float(days[-1]),
                           "interval": float(np.median(np.diff(days))), "power": pw, "mc_se": mc,
                           "ci_low": float(np.nan_to_num(lo, nan=0.0)), "ci_high": float(np.nan_to_num(hi, nan=1.0)),
                           "n_studies": n, "failed": int((~ok).sum()), "mean_estimate": float(np.nanmean(est))}])
    conv = {"bliss": "estimate = -(Bliss contrast on log growth rates), positive = synergy",
            "hsa": "estimate = best single-agent rate - combination rate, positive = synergy (IUT p-value)",
            "noninferiority": f"estimate = log relative size candidate - reference, H0: >= log(1 + {margin:g})",
            "ttest": "estimate = log relative size candidate - reference, two-sided"}[analysis]
    settings = {"analysis": analysis, "alpha": alpha, "n_studies": n, "seed": seed, "convention": conv,
                "roles": {k: arms[v].name for k, v in idx.items()}, "margin": margin,
                "readout": (readout or Readout()).kind}
    return PowerResult(table=table, settings=settings, estimates={(int(n_per_arm), float(days[-1])): (est, p)})


def sample_size(model: PKPDModel, arms: Sequence[Arm], days, *, target_power: float = 0.8,
                n_values: Sequence[int] = (4, 5, 6, 7, 8, 10, 12, 15, 20), seed=None, **kwargs) -> PowerResult:
    """Power at each n per arm; ``settings["n_required"]`` is the smallest n reaching ``target_power``.

    Uses the same seed for every n (common random numbers), so the curve is smooth.
    """
    if not 0 < target_power < 1:
        raise DataError("target_power must be in (0, 1).")
    res = [study_power(model, arms, int(n), days, seed=seed, **kwargs) for n in sorted(n_values)]
    table = pd.concat([r.table for r in res], ignore_index=True)
    hit = table.index[table["power"] >= target_power]
    n_req = int(table.loc[hit[0], "n_per_arm"]) if len(hit) else None
    settings = dict(res[0].settings)
    settings.update({"target_power": target_power, "n_required": n_req})
    est = {}
    for r in res:
        est.update(r.estimates)
    return PowerResult(table=table, settings=settings, estimates=est)


def power_grid(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int | Sequence[int], *,
               durations: Sequence[float] = (14.0, 21.0), intervals: Sequence[float] = (7.0,), seed=None,
               **kwargs) -> PowerResult:
    """Power over study durations x imaging intervals (x n per arm): days = 0, interval, ..., duration."""
    ns = [int(n_per_arm)] if np.ndim(n_per_arm) == 0 else [int(x) for x in n_per_arm]
    res = []
    for n in ns:
        for dur in durations:
            for iv in intervals:
                if not (iv > 0 and dur >= iv):
                    raise DataError(f"interval {iv!r} must be > 0 and <= duration {dur!r} (days).")
                days = np.arange(0.0, dur + 1e-9, iv)
                if days[-1] < dur - 1e-9:
                    days = np.append(days, dur)
                r = study_power(model, arms, n, days, seed=seed, **kwargs)
                res.append(r)
    table = pd.concat([r.table for r in res], ignore_index=True)
    est = {}
    for r in res:
        est.update(r.estimates)
    return PowerResult(table=table, settings=res[0].settings, estimates=est)
