"""Power, assurance and sample size by simulating whole studies and analysing each one.

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

A non-positive readout counts as not measured.

**Conditional power** is the rejection rate at the model's typical values (the point
estimate), with Monte-Carlo SE ``sqrt(p (1 - p) / n)`` and an exact binomial interval.
**Assurance** (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187) is the power averaged over
parameter uncertainty: for each of ``D`` parameter draws ``S`` studies are simulated and
analysed; the per-draw conditional power is ``p_d = k_d / S`` and the assurance
``A = mean_d p_d``.  Because the draws are independent and identically distributed, the
``p_d`` are too, and the Monte-Carlo SE of ``A`` is ``sd(p_d) / sqrt(D)`` (between-draw and
within-draw binomial variation together; with one draw, ``sqrt(A (1 - A) / S)``).  When every
(or no) simulated study succeeds, the summary prints an exact one-sided bound from the ``D``
independent draws (one Bernoulli(A) study per draw) instead of 1 or 0.

Random streams: parameter draw ``d`` uses :func:`comboplan.simulate.seeds.draw_seeds`
``(seed, D)[d]`` exactly as a single-model study with that seed would, so the assurance equals
the mean of :func:`study_power` at each draw's values with those seeds (tested), and results
do not depend on the number of draws, the order of designs or how the draws are batched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._params import Integral, Interval, Real, StrOptions, validate_params
from ..exceptions import DataError
from ..results import ResultIO, check_kind, set_units
from .cohort import (Arm, Dropout, ParameterDraws, PKPDModel, Readout, Variability, _animal_normals, _check_names,
                     _population, _simulate_from_normals, _varying, simulate_arms)
from .mcerror import format_probability, mc_interval, mc_se
from .seeds import as_generator, as_seed_sequence, draw_seeds

__all__ = ["simulate_study", "study_power", "sample_size", "power_grid", "assurance", "PowerResult", "ttest_power",
           "ANALYSES", "format_power", "format_assurance"]

ANALYSES = ("bliss", "hsa", "noninferiority", "ttest")

#: animals simulated per block of parameter draws (memory bound of the assurance engine)
_BLOCK_ANIMALS = 1 << 19


# ---------------------------------------------------------------------------
# printing probabilities with their Monte-Carlo error
# ---------------------------------------------------------------------------

def _digits(p: float, digits: int = 2) -> int:
    """Decimals needed so that a probability strictly inside (0, 1) does not print as 0 or 1."""
    while digits < 8 and round(p, digits) in (0.0, 1.0):
        digits += 1
    return digits


def _quantile_text(p: float, n: int) -> str:
    """A quantile of per-draw powers (each a fraction of ``n`` studies); 0 and 1 as ``k/n``."""
    if 0.0 < p < 1.0:
        return f"{p:.{_digits(p)}f}"
    return f"{int(round(p * n))}/{n}"


def format_power(k: int, n: int, level: float = 0.95) -> str:
    """A simulated power ``k / n`` with its Monte-Carlo SE; never printed as exactly 0 or 1.

    Parameters
    ----------
    k : int
        Simulated studies that rejected the null.
    n : int
        Simulated studies.
    level : float
        Level of the exact bound printed when ``k`` is 0 or ``n``.

    Returns
    -------
    str
        ``"0.73 ± 0.014 (MC SE, 1000 sims)"``, or an exact bound such as
        ``"> 0.996 (1000/1000 sims)"``.
    """
    k, n = int(k), int(n)
    if n < 1:
        raise DataError("the number of simulated studies n must be >= 1.")
    if k <= 0 or k >= n:
        return format_probability(k / n, n, level=level)
    p = k / n
    d = _digits(p)
    se = mc_se(p, n)
    return f"{p:.{d}f} ± {se:.2g} (MC SE, {n} sims)"


def format_assurance(value: float, se: float, n_draws: int, studies_per_draw: int, level: float = 0.95) -> str:
    """Assurance with its Monte-Carlo SE; never printed as exactly 0 or 1.

    Parameters
    ----------
    value : float
        Assurance (mean over draws of the per-draw conditional power, 0-1).
    se : float
        Its Monte-Carlo SE (probability units).
    n_draws, studies_per_draw : int
        Parameter draws and simulated studies per draw.
    level : float
        Level of the exact one-sided bound printed when every (or no) study succeeded: from the
        ``n_draws`` independent draws (one Bernoulli(assurance) study per draw), which is valid
        whatever the correlation of the studies within a draw.

    Returns
    -------
    str
    """
    D, S = int(n_draws), int(studies_per_draw)
    if not np.isfinite(value):
        return "n/a"
    total = D * S
    if value >= 1.0 or value <= 0.0:
        low, high = mc_interval(D if value >= 1 else 0, D, level)
        if value >= 1.0:
            return f"> {math.floor(low * 1000) / 1000:.3f} (all {total} simulated studies over {D} draws)"
        return f"< {math.ceil(high * 1000) / 1000:.3f} (none of {total} simulated studies over {D} draws)"
    d = _digits(value)
    return f"{value:.{d}f} ± {se:.2g} (MC SE; {D} draws x {S} studies)"


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PowerResult(ResultIO):
    """Power (and assurance) of one or more designs (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design: ``n_per_arm``, ``duration`` (day), ``interval`` (day), ``power``
        (conditional power at the typical values), ``mc_se``, ``ci_low``, ``ci_high`` (exact
        95 % binomial interval), ``n_studies``, ``failed`` (studies whose analysis gave no
        p-value), ``mean_estimate``; with parameter draws also ``assurance``,
        ``assurance_se``, ``assurance_low``, ``assurance_high`` (95 %: normal interval, or the
        exact bound from the draws when every / no study succeeded), ``n_draws``,
        ``studies_per_draw``, ``cp_q10``, ``cp_median``, ``cp_q90`` (quantiles over draws of
        the per-draw conditional power).  Probabilities are fractions (0-1).
    settings : dict
    estimates : dict
        Per design ``(n_per_arm, duration)``: effect estimate and p-value of every simulated
        study at the typical values.
    per_draw : dict
        Per design: the conditional power of every parameter draw, array (n_draws,).
    """

    table: pd.DataFrame
    settings: dict = field(default_factory=dict)
    estimates: dict = field(default_factory=dict)
    per_draw: dict = field(default_factory=dict)

    @property
    def power(self) -> float:
        """Conditional power of the first (or only) design (0-1)."""
        return float(self.table["power"].iloc[0])

    @property
    def mc_se(self) -> float:
        """Monte-Carlo standard error of :attr:`power`."""
        return float(self.table["mc_se"].iloc[0])

    @property
    def assurance(self) -> float:
        """Assurance of the first design (0-1); NaN without parameter draws."""
        return float(self.table["assurance"].iloc[0]) if "assurance" in self.table else float("nan")

    @property
    def assurance_se(self) -> float:
        """Monte-Carlo standard error of :attr:`assurance`."""
        return float(self.table["assurance_se"].iloc[0]) if "assurance_se" in self.table else float("nan")

    def summary(self) -> str:
        """One line per design: conditional power and (with draws) assurance, each with its
        Monte-Carlo error; a probability is never printed as exactly 0 or 1."""
        s = self.settings
        head = (f"Power by simulation: analysis {s['analysis']} ({s['convention']}), alpha {s['alpha']:g}, "
                f"{s['n_studies']} studies per design at the typical values, seed {s['seed']}.")
        lines = [head]
        if "assurance" in self.table:
            lines.append(f"Assurance: power averaged over {s.get('n_draws')} parameter draws "
                         f"({s.get('uncertainty', 'parameter draws')}), {s.get('studies_per_draw')} studies per draw.")
        else:
            lines.append("Conditional power only: no parameter uncertainty was given (draws=None), so the power "
                         "assumes the typical values are the truth.")
        for _, r in self.table.iterrows():
            design = f"n {int(r['n_per_arm'])}/arm, {r['duration']:g} days, every {r['interval']:g} days"
            k = int(round(r["power"] * r["n_studies"]))
            txt = f"  {design}: conditional power {format_power(k, int(r['n_studies']))}"
            if "assurance" in self.table:
                txt += (f"; assurance {format_assurance(r['assurance'], r['assurance_se'], int(r['n_draws']), int(r['studies_per_draw']))}"
                        "; per-draw power 10/50/90 % quantiles "
                        + " / ".join(_quantile_text(r[c], int(r["studies_per_draw"])) for c in ("cp_q10", "cp_median", "cp_q90")))
            txt += f"; mean estimate {r['mean_estimate']:.4g}"
            if r.get("failed", 0):
                txt += f"; {int(r['failed'])} studies not analysable"
            lines.append(txt)
        if "target_power" in s and "assurance" in self.table:
            lines.append(f"n per arm for {s['target_power']:.0%} assurance: "
                         f"{s.get('n_required_assurance') or 'not reached'} (for {s['target_power']:.0%} conditional "
                         f"power: {s.get('n_required') or 'not reached'})")
        return "\n".join(lines)

    def to_xarray(self):
        """The designs as an :class:`xarray.Dataset` (dim ``design``; one variable per column of
        :attr:`table`, a ``units`` attribute on each; probabilities are fractions)."""
        import xarray as xr

        t = self.table.reset_index(drop=True)
        ds = xr.Dataset({c: (("design",), t[c].to_numpy() if t[c].dtype.kind in "iufb" else t[c].astype(str).to_numpy())
                         for c in t.columns}, coords={"design": np.arange(len(t))})
        conv = str(self.settings.get("convention", ""))
        set_units(ds, {"duration": "day", "interval": "day", "mean_estimate": f"effect scale ({conv})"}, default="1")
        ds.attrs.update({k: v for k, v in self.settings.items() if isinstance(v, (str, int, float))
                         and not isinstance(v, bool)})
        return ds

    def plot(self, ax=None, x: str = "n_per_arm", *, kind: str = "power", **kwargs):
        """Power (and assurance) curve with Monte-Carlo intervals (``kind="power"``, the only kind; see
        :func:`comboplan.plot.simulate.plot_power`)."""
        from ..plot.simulate import plot_power

        check_kind(kind, ("power",), type(self).__name__)
        return plot_power(self, ax=ax, x=x, **kwargs)


@validate_params({
    "effect_size": [Interval(Real)],
    "n_per_arm": [Interval(Integral, 2, None)],
    "alpha": [Interval(Real, 0, 1, closed="neither")],
    "alternative": [StrOptions({"two-sided", "less", "greater"})],
}, fixes={"effect_size": "e.g. 0.8", "n_per_arm": "e.g. 10"})
def ttest_power(effect_size: float, n_per_arm: int, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Closed-form power of the pooled two-sample t-test (noncentral t).

    Parameters
    ----------
    effect_size : float
        Standardised difference ``(mu_1 - mu_2) / sigma`` (Cohen's d, dimensionless).
    n_per_arm : int
        Animals per arm.
    alpha : float
        Significance level, in (0, 1).
    alternative : {"two-sided", "less", "greater"}
        ``"greater"``: the test of ``mu_1 > mu_2`` (power rises with a positive effect size).

    Returns
    -------
    float
        Power (0-1).

    Raises
    ------
    InvalidParameterError
        ``alpha`` outside (0, 1) (e.g. ``ttest_power(0.8, 10, 2.0)``, which returned 2.0),
        an unknown ``alternative`` (``"bigger"`` was read as ``"less"``), ``n_per_arm < 2``.
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


# ---------------------------------------------------------------------------
# simulating studies
# ---------------------------------------------------------------------------

class _Streams(NamedTuple):
    sim: np.random.SeedSequence    # virtual animals (normals), per arm
    draw: np.random.SeedSequence   # study -> parameter draw assignment (simulate_study(draws=...))
    noise: np.random.SeedSequence  # readout noise and dropout


def _study_streams(seed) -> _Streams:
    """The three streams of a simulated set of studies under ``seed``."""
    s_sim, s_draw, s_noise = as_seed_sequence(seed).spawn(3)
    return _Streams(np.random.SeedSequence(int(s_sim.generate_state(1)[0])), s_draw, s_noise)


def _observe(size, days, readout: Readout, dropout: Dropout, rng) -> np.ndarray:
    """Readout with noise and NaN after dropout: size (n_arms, n_studies, n_per_arm, n_days)."""
    obs = readout.measure(size, rng)
    drop = dropout.draw_days(size.shape[:3], rng)
    if dropout.size_limit is not None:
        over = size > dropout.size_limit
        first = np.where(over.any(-1), np.argmax(over, -1), -1)
        drop = np.minimum(drop, np.where(first >= 0, days[np.maximum(first, 0)] + 1e-9, np.inf))
    return np.where(days > drop[..., None], np.nan, obs)


def _check_design(n_per_arm, days):
    days = np.asarray(days, dtype=float).ravel()
    if int(n_per_arm) < 2:
        raise DataError(f"n_per_arm must be >= 2 (animals per arm); got {n_per_arm!r}.")
    if days.size < 2 or days[0] != 0 or np.any(np.diff(days) <= 0):
        raise DataError(f"days must start at 0 (baseline image) and increase; got {days.tolist()}.")
    return days


def simulate_study(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int, days, *, n_studies: int = 1,
                   variability: Variability | None = None, readout: Readout | None = None,
                   dropout: Dropout | None = None, draws: ParameterDraws | None = None, seed=None,
                   max_step: float = 0.2, as_frame: bool = True):
    """Simulate complete studies.

    Parameters
    ----------
    model : PKPDModel
    arms : sequence of Arm
    n_per_arm : int
        Animals per arm (>= 2).
    days : array_like
        Imaging days, starting at 0.
    n_studies : int
        Number of studies.
    variability, readout, dropout, max_step
        As in :func:`comboplan.simulate.simulate_cohort`.
    draws : ParameterDraws, optional
        Each study gets one population draw picked at random (a prior-predictive study);
        without it every study is at the typical values.
    seed : None, int, SeedSequence or Generator
    as_frame : bool
        Tidy table or array.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        Tidy table (study, animal, arm, day, size) with dropped-out measurements removed, or
        the observed array (n_arms, n_studies, n_per_arm, n_days) with NaN after dropout
        (``as_frame=False``); sizes in the readout's unit.
    """
    arms = list(arms)
    days = _check_design(n_per_arm, days)
    if int(n_studies) < 1:
        raise DataError(f"n_studies must be >= 1; got {n_studies!r}.")
    readout = readout or Readout()
    dropout = dropout or Dropout()
    st = _study_streams(seed)
    if draws is not None:  # one population draw per simulated study
        idx = np.random.default_rng(st.draw).integers(0, draws.n_draws, size=int(n_studies))
        dr = ParameterDraws({k: v[idx] for k, v in draws.values.items()}, source=draws.source)
        size = simulate_arms(model, arms, days, int(n_per_arm), variability=variability, draws=dr,
                             seed=st.sim, common_animals=False, max_step=max_step)
    else:
        size = simulate_arms(model, arms, days, int(n_per_arm) * int(n_studies), variability=variability,
                             seed=st.sim, common_animals=False, max_step=max_step)
        size = size.reshape(len(arms), int(n_studies), int(n_per_arm), days.size)
    obs = _observe(size, days, readout, dropout, as_generator(st.noise))
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


_CONVENTIONS = {"bliss": "estimate = -(Bliss contrast on log growth rates), positive = synergy",
                "hsa": "estimate = best single-agent rate - combination rate, positive = synergy (IUT p-value)",
                "noninferiority": "estimate = log relative size candidate - reference, H0: >= log(1 + margin)",
                "ttest": "estimate = log relative size candidate - reference, two-sided"}


class _Setup(NamedTuple):
    arms: list
    days: np.ndarray
    idx: dict
    e_idx: int
    analyse: object


def _setup(arms, n_per_arm, days, analysis, roles, alpha, margin, endpoint_day, n_studies, name="n_studies") -> _Setup:
    if analysis not in ANALYSES:
        raise DataError(f"analysis must be one of {ANALYSES}; got {analysis!r}.")
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be in (0, 1); got {alpha!r}.")
    if int(n_studies) < 1:
        raise DataError(f"{name} must be >= 1; got {n_studies!r}.")
    if not np.isfinite(margin) or margin < 0:
        raise DataError(f"margin must be >= 0 (a fraction, 0.2 = 20 %); got {margin!r}.")
    arms = list(arms)
    days = _check_design(n_per_arm, days)
    idx = _arm_index(arms, analysis, roles)
    e_idx = days.size - 1 if endpoint_day is None else int(np.searchsorted(days, endpoint_day))
    if e_idx >= days.size or days[e_idx] != (days[-1] if endpoint_day is None else endpoint_day):
        raise DataError(f"endpoint_day {endpoint_day!r} is not an imaging day ({days.tolist()}).")
    names = [a.name for a in arms]

    def analyse(obs):
        return _analyse(obs, days, analysis, idx, names, margin, e_idx)

    return _Setup(arms, days, idx, e_idx, analyse)


def _rejections(p, alpha):
    ok = np.isfinite(p)
    return (p < alpha) & ok, int((~ok).sum())


def _conditional(model, setup: _Setup, n_per_arm, n_studies, alpha, seed, variability, readout, dropout, max_step):
    """Conditional power at the model's typical values: (row dict, (estimates, p-values))."""
    obs = simulate_study(model, setup.arms, n_per_arm, setup.days, n_studies=n_studies, variability=variability,
                         readout=readout, dropout=dropout, seed=seed, max_step=max_step, as_frame=False)
    est, p = setup.analyse(obs)
    rej, failed = _rejections(p, alpha)
    n = int(n_studies)
    k = int(rej.sum())
    pw = k / n
    lo, hi = mc_interval(k, n, 0.95)
    days = setup.days
    row = {"n_per_arm": int(n_per_arm), "duration": float(days[-1]), "interval": float(np.median(np.diff(days))),
           "power": pw, "mc_se": math.sqrt(pw * (1 - pw) / n), "ci_low": lo, "ci_high": hi, "n_studies": n,
           "failed": failed, "mean_estimate": float(np.nanmean(est)) if np.any(np.isfinite(est)) else float("nan")}
    return row, (est, p)


def _per_draw_power(model, setup: _Setup, n_per_arm, draws: ParameterDraws, studies_per_draw, alpha, seed,
                    variability, readout, dropout, max_step, draw_rows=None):
    """Conditional power of every parameter draw (vectorised over draws): (powers, failed).

    ``draw_rows`` (indices) restricts the work to those draws (powers in that order): each
    draw's power depends on its own stream only, so any split of the draws gives the same
    numbers (used by :mod:`comboplan.distributed_plan`)."""
    var = variability or Variability()
    readout = readout or Readout()
    dropout = dropout or Dropout()
    typ, names = _check_names(model, var, draws)
    names = _varying(names, var, draws)
    A, N, S, T = len(setup.arms), int(n_per_arm), int(studies_per_draw), setup.days.size
    D = draws.n_draws
    seeds = draw_seeds(seed, D)
    sel = np.arange(D) if draw_rows is None else np.asarray(draw_rows, dtype=int)
    per_block = max(1, _BLOCK_ANIMALS // (A * N * S))
    powers = np.empty(sel.size)
    failed = 0
    for lo in range(0, sel.size, per_block):
        rows = sel[lo:lo + per_block]
        streams = [_study_streams(seeds[d]) for d in rows]
        parts = [_animal_normals(names, A, (1, N * S), st.sim, False) for st in streams]
        z = [{k: np.concatenate([pt[i][k] for pt in parts], axis=0) for k in names} for i in range(A)]
        pop = _population(typ, draws, N * S, rows)
        size = _simulate_from_normals(model, setup.arms, setup.days, var, pop, z, max_step)
        size = size.reshape(A, rows.size, S, N, T)
        obs = np.empty_like(size)
        for j, st in enumerate(streams):
            obs[:, j] = _observe(size[:, j], setup.days, readout, dropout, as_generator(st.noise))
        _, p = setup.analyse(obs.reshape(A, rows.size * S, N, T))
        rej, f = _rejections(p, alpha)
        failed += f
        powers[lo:lo + rows.size] = rej.reshape(rows.size, S).sum(axis=1) / S
    return powers, failed


def _assurance_row(powers, studies_per_draw, failed):
    D = powers.size
    a = float(powers.mean())
    if D > 1:
        se = float(powers.std(ddof=1) / math.sqrt(D))
    else:
        se = math.sqrt(a * (1 - a) / int(studies_per_draw))
    if a >= 1.0 or a <= 0.0:  # exact one-sided bound from the D independent draws
        low, high = mc_interval(D if a >= 1 else 0, D, 0.95)
    else:
        low, high = max(0.0, a - 1.96 * se), min(1.0, a + 1.96 * se)
    q10, q50, q90 = np.quantile(powers, [0.1, 0.5, 0.9])
    return {"assurance": a, "assurance_se": se, "assurance_low": float(low), "assurance_high": float(high),
            "n_draws": D, "studies_per_draw": int(studies_per_draw), "assurance_failed": int(failed),
            "cp_q10": float(q10), "cp_median": float(q50), "cp_q90": float(q90)}


def _power_result(rows, settings, estimates, per_draw):
    return PowerResult(table=pd.DataFrame(rows), settings=settings, estimates=estimates, per_draw=per_draw)


def _settings(analysis, alpha, n_studies, seed, margin, setup: _Setup, readout) -> dict:
    """``PowerResult.settings`` of one design (also built by :mod:`comboplan.distributed_plan`)."""
    return {"analysis": analysis, "alpha": alpha, "n_studies": int(n_studies), "seed": seed,
            "convention": _CONVENTIONS[analysis].replace("margin", f"{margin:g}"),
            "roles": {k: setup.arms[v].name for k, v in setup.idx.items()}, "margin": margin,
            "readout": (readout or Readout()).kind}


def _studies_per_draw(draws, n_studies, studies_per_draw) -> int:
    if not isinstance(draws, ParameterDraws):
        raise DataError(f"draws must be ParameterDraws (e.g. from draws_from_covariance); got {type(draws).__name__}.")
    spd = math.ceil(int(n_studies) / draws.n_draws) if studies_per_draw is None else int(studies_per_draw)
    if spd < 1:
        raise DataError(f"studies_per_draw must be >= 1; got {studies_per_draw!r}.")
    return spd


def _dask_client(client):
    """The Dask client a planning function runs on: ``client``, else the active one (looked up only
    when ``distributed`` is already imported), else ``None`` (the in-memory path)."""
    from ..distributed_plan import active_client

    return active_client(client)


def study_power(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int, days, *, analysis: str = "bliss",
                roles: Mapping[str, str] | None = None, n_studies: int = 1000, alpha: float = 0.05,
                margin: float = 0.2, endpoint_day: float | None = None, variability: Variability | None = None,
                readout: Readout | None = None, dropout: Dropout | None = None, draws: ParameterDraws | None = None,
                studies_per_draw: int | None = None, seed=None, max_step: float = 0.2, client=None) -> PowerResult:
    """Power of a design by simulating ``n_studies`` studies and analysing each; with parameter
    draws, the assurance beside it.

    Parameters
    ----------
    model : PKPDModel
        The model at its typical values (the point estimate).
    arms : sequence of Arm
    n_per_arm : int
        Animals per arm (>= 2).
    days : array_like
        Imaging days, starting at 0 (baseline).
    analysis : {"bliss", "hsa", "noninferiority", "ttest"}
    roles : mapping, optional
        Arm names per role: ``control, a, b, combo`` (synergy) or ``reference, candidate``.
        Default: the arms in that order.
    n_studies : int
        Studies simulated at the typical values (conditional power).
    alpha : float
        One-sided for synergy and non-inferiority, two-sided for ``"ttest"``.
    margin : float
        Non-inferiority margin on the relative-size scale (0.2 = candidate may be 20 % larger).
    endpoint_day : float, optional
        Day of the endpoint for t-tests (default: last day).
    variability, readout, dropout, seed, max_step
        As in :func:`comboplan.simulate.simulate_cohort`.
    draws : ParameterDraws, optional
        Parameter uncertainty: adds the assurance (see :func:`assurance`) next to the
        conditional power.
    studies_per_draw : int, optional
        Studies per parameter draw for the assurance; default ``ceil(n_studies / n_draws)``
        (as many studies as for the conditional power).
    client : dask.distributed.Client, optional
        Run on Dask (:func:`comboplan.distributed_plan.study_power`; needs
        ``comboplan[dask]``): the conditional power and blocks of draws are separate tasks,
        with the same numbers as here.  Default: the active client if there is one, else
        in memory.

    Returns
    -------
    PowerResult
        ``table`` columns as documented in :class:`PowerResult` (probabilities 0-1).
    """
    if _dask_client(client) is not None:
        from ..distributed_plan import study_power as _on_dask

        return _on_dask(model, arms, n_per_arm, days, analysis=analysis, roles=roles, n_studies=n_studies,
                        alpha=alpha, margin=margin, endpoint_day=endpoint_day, variability=variability,
                        readout=readout, dropout=dropout, draws=draws, studies_per_draw=studies_per_draw,
                        seed=seed, max_step=max_step, client=client)
    from .cohort import resolve_model
    model, draws, variability, _source = resolve_model(model, draws, variability, seed=seed)
    root = as_seed_sequence(seed)
    setup = _setup(arms, n_per_arm, days, analysis, roles, alpha, margin, endpoint_day, n_studies)
    row, ep = _conditional(model, setup, n_per_arm, n_studies, alpha, root, variability, readout, dropout, max_step)
    key = (int(n_per_arm), float(setup.days[-1]))
    per_draw = {}
    settings = _settings(analysis, alpha, n_studies, seed, margin, setup, readout)
    if draws is not None:
        spd = _studies_per_draw(draws, n_studies, studies_per_draw)
        powers, failed = _per_draw_power(model, setup, n_per_arm, draws, spd, alpha, root, variability, readout,
                                         dropout, max_step)
        row.update(_assurance_row(powers, spd, failed))
        per_draw[key] = powers
        settings.update({"n_draws": draws.n_draws, "studies_per_draw": spd, "uncertainty": draws.source or "draws"})
    return _power_result([row], settings, {key: ep}, per_draw)


def assurance(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int, days, *, draws: ParameterDraws,
              analysis: str = "bliss", roles: Mapping[str, str] | None = None, studies_per_draw: int = 100,
              n_studies: int = 1000, alpha: float = 0.05, margin: float = 0.2, endpoint_day: float | None = None,
              variability: Variability | None = None, readout: Readout | None = None,
              dropout: Dropout | None = None, seed=None, max_step: float = 0.2, client=None) -> PowerResult:
    """Assurance: the power of a design averaged over parameter uncertainty.

    For each of the ``D`` parameter draws, ``studies_per_draw`` studies are simulated with the
    draw's population values and analysed (:func:`study_power`'s analyses); the draw's
    conditional power is the fraction of them that reject.  The assurance is the mean over
    draws, with Monte-Carlo SE ``sd(p_d) / sqrt(D)``; the conditional power at the typical
    values (``n_studies`` studies) is reported beside it.  All draws are simulated as one
    vectorised batch (blocks of about 5e5 animals); draw ``d`` uses the random stream
    :func:`comboplan.simulate.seeds.draw_seeds` ``(seed, D)[d]``, so its conditional power equals
    ``study_power(model.with_values(draws.row(d)), ..., n_studies=studies_per_draw,
    seed=draw_seeds(seed, D)[d]).power`` (exactly, unless PK parameters are drawn: then to
    rounding).

    Parameters
    ----------
    model : PKPDModel
        Model at its typical values (the point estimate).
    arms : sequence of Arm
    n_per_arm : int
        Animals per arm (>= 2).
    days : array_like
        Imaging days, starting at 0 (baseline).
    draws : ParameterDraws
        Parameter uncertainty (least-squares covariance or posterior draws).
    analysis, roles, alpha, margin, endpoint_day
        As in :func:`study_power`.
    studies_per_draw : int
        Simulated studies per draw (``S``).
    n_studies : int
        Simulated studies at the typical values (conditional power).
    variability, readout, dropout, seed, max_step
        As in :func:`comboplan.simulate.simulate_cohort`.
    client : dask.distributed.Client, optional
        Run on Dask, as in :func:`study_power` (same numbers).

    Returns
    -------
    PowerResult
        ``table`` with ``power`` (conditional at the typical values) and ``assurance`` (each
        with its MC SE, 0-1), ``per_draw[(n_per_arm, duration)]`` the per-draw conditional
        powers.
    """
    model, draws, variability = _assurance_inputs(model, draws, variability, seed, studies_per_draw)
    return study_power(model, arms, n_per_arm, days, analysis=analysis, roles=roles, n_studies=n_studies,
                       alpha=alpha, margin=margin, endpoint_day=endpoint_day, variability=variability,
                       readout=readout, dropout=dropout, draws=draws, studies_per_draw=int(studies_per_draw),
                       seed=seed, max_step=max_step, client=client)


def _assurance_inputs(model, draws, variability, seed, studies_per_draw):
    """Resolve and check the inputs of an assurance run (in memory or on Dask).

    Parameters
    ----------
    model : PKPDModel or a fit result
        Resolved as in :func:`comboplan.simulate.cohort.resolve_model` (a fit's draws use ``seed`` first).
    draws : ParameterDraws
        Parameter uncertainty; required.
    variability : Variability, optional
        Between-animal CVs (fractions).
    seed : None, int, SeedSequence or Generator
        The run's seed.
    studies_per_draw : int
        Simulated studies per draw (>= 1).

    Returns
    -------
    (model, draws, variability)
        The resolved model, draws and variability.

    Raises
    ------
    DataError
        No draws, or ``studies_per_draw < 1``.
    """
    from .cohort import resolve_model

    model, draws, variability, _source = resolve_model(model, draws, variability, seed=seed)
    if draws is None or not isinstance(draws, ParameterDraws):
        raise DataError("assurance needs draws=ParameterDraws (e.g. draws_from_covariance(...) or "
                        "draws_from_posterior(...)); for the power at fixed values use study_power.")
    if int(studies_per_draw) < 1:
        raise DataError(f"studies_per_draw must be >= 1; got {studies_per_draw!r}.")
    return model, draws, variability


def _merge(res: list[PowerResult], settings=None) -> PowerResult:
    table = pd.concat([r.table for r in res], ignore_index=True)
    est, per = {}, {}
    for r in res:
        est.update(r.estimates)
        per.update(r.per_draw)
    return PowerResult(table=table, settings=dict(settings or res[0].settings), estimates=est, per_draw=per)


def sample_size(model: PKPDModel, arms: Sequence[Arm], days, *, target_power: float = 0.8,
                n_values: Sequence[int] = (4, 5, 6, 7, 8, 10, 12, 15, 20), seed=None, client=None,
                **kwargs) -> PowerResult:
    """Power (and, with ``draws=``, assurance) at each n per arm.

    Parameters
    ----------
    model, arms, days
        As in :func:`study_power`.
    target_power : float
        Required power (0-1).
    n_values : sequence of int
        Animals per arm to evaluate.
    seed : None, int, SeedSequence or Generator
        The same seed for every n (common random numbers), so the curve is smooth and each
        design's result does not depend on which other designs are evaluated.
    client : dask.distributed.Client, optional
        Run every n (and blocks of draws) as tasks on Dask
        (:func:`comboplan.distributed_plan.sample_size`; same numbers).  Default: the active
        client if there is one, else in memory.
    **kwargs
        Passed to :func:`study_power` (``analysis``, ``n_studies``, ``draws``,
        ``studies_per_draw``, ...).

    Returns
    -------
    PowerResult
        ``settings["n_required"]``: smallest n whose conditional power reaches
        ``target_power``; with draws also ``settings["n_required_assurance"]``.
    """
    if _dask_client(client) is not None:
        from ..distributed_plan import sample_size as _on_dask

        return _on_dask(model, arms, days, target_power=target_power, n_values=n_values, seed=seed, client=client,
                        **kwargs)
    from .cohort import resolve_model
    model, _d, _v, _source = resolve_model(model, kwargs.pop("draws", None), kwargs.pop("variability", None), seed=seed)
    kwargs["draws"], kwargs["variability"] = _d, _v
    if not 0 < target_power < 1:
        raise DataError(f"target_power must be in (0, 1); got {target_power!r}.")
    if not len(n_values):
        raise DataError("n_values must hold at least one group size (animals per arm).")
    root = as_seed_sequence(seed)
    res = [study_power(model, arms, int(n), days, seed=root, **kwargs) for n in sorted(n_values)]
    return _sample_size_result(_merge(res), target_power, seed)


def _sample_size_result(out: PowerResult, target_power, seed) -> PowerResult:
    """The merged designs of :func:`sample_size` with ``n_required`` (and ``n_required_assurance``)."""
    table = out.table
    hit = table.index[table["power"] >= target_power]
    settings = dict(out.settings)
    settings.update({"target_power": target_power, "seed": seed,
                     "n_required": int(table.loc[hit[0], "n_per_arm"]) if len(hit) else None})
    if "assurance" in table:
        hit_a = table.index[table["assurance"] >= target_power]
        settings["n_required_assurance"] = int(table.loc[hit_a[0], "n_per_arm"]) if len(hit_a) else None
    return PowerResult(table=table, settings=settings, estimates=out.estimates, per_draw=out.per_draw)


def power_grid(model: PKPDModel, arms: Sequence[Arm], n_per_arm: int | Sequence[int], *,
               durations: Sequence[float] = (14.0, 21.0), intervals: Sequence[float] = (7.0,), seed=None,
               **kwargs) -> PowerResult:
    """Power (and, with ``draws=``, assurance) over study durations x imaging intervals x n per arm.

    Parameters
    ----------
    model, arms
        As in :func:`study_power`.
    n_per_arm : int or sequence of int
        Animals per arm.
    durations : sequence of float
        Study lengths (days); imaging days are ``0, interval, 2 interval, ...`` plus the
        last day.
    intervals : sequence of float
        Days between images.
    seed : None, int, SeedSequence or Generator
        The same seed for every design (results do not depend on the grid's order).
    **kwargs
        Passed to :func:`study_power`.

    Returns
    -------
    PowerResult
    """
    from .cohort import resolve_model
    model, _d, _v, _source = resolve_model(model, kwargs.pop("draws", None), kwargs.pop("variability", None), seed=seed)
    kwargs["draws"], kwargs["variability"] = _d, _v
    ns = [int(n_per_arm)] if np.ndim(n_per_arm) == 0 else [int(x) for x in n_per_arm]
    root = as_seed_sequence(seed)
    res = []
    for n in ns:
        for dur in durations:
            for iv in intervals:
                if not (iv > 0 and dur >= iv):
                    raise DataError(f"interval {iv!r} must be > 0 and <= duration {dur!r} (days).")
                days = np.arange(0.0, dur + 1e-9, iv)
                if days[-1] < dur - 1e-9:
                    days = np.append(days, dur)
                res.append(study_power(model, arms, n, days, seed=root, **kwargs))
    out = _merge(res)
    settings = dict(out.settings)
    settings["seed"] = seed
    return PowerResult(table=out.table, settings=settings, estimates=out.estimates, per_draw=out.per_draw)
