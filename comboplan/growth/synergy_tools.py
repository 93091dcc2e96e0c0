r"""The in-vivo synergy definitions of the reference tools invivoSyn and CombPDX.

:func:`~comboplan.growth.synergy.invivo_synergy` scores growth rates from the random-slope
mixed model, the definition of SynergyLMM (``definition="synergylmm"``, the default).  This
module gives the two other published definitions, selectable with
``invivo_synergy(..., definition="invivosyn" | "combpdx")`` or called directly:

* **invivoSyn** (:func:`invivosyn_synergy`; Mao & Guo, Cancer Res Commun 2023;3:2146).  Every
  animal's *effective growth rate* is its normalised area under the log-size curve,

  .. math:: k_i = \frac{2}{(t_{i,m} - t_{i,1})^2}\int_{t_{i,1}}^{t_{i,m}} \big(\log V_i(t) - \log V_i(t_{i,1})\big)\,dt

  (trapezoid rule over the animal's own measurements up to the cut-off; ``k_i`` is the growth
  rate when growth is exponential).  With arm means :math:`\bar k_X`, the tumour-cell survival
  relative to control at horizon :math:`t` is :math:`S_X = \exp((\bar k_X - \bar k_0)\,t)`
  (growth scale: 1 = as control, < 1 = inhibited).  Expected survival of the combination:
  Bliss :math:`\prod_g S_g`, HSA :math:`\min_g S_g`, response additivity
  :math:`\sum_g S_g - (n-1)`.  Score :math:`100\,(S^{exp} - S^{obs})` (percentage points;
  **positive = synergy**), index :math:`CI = S^{obs}/S^{exp}` (< 1 = synergy).  Intervals and
  p-values come from the bootstrap (animals resampled within arms).
* **CombPDX** (:func:`combpdx_synergy`; Huang et al., Sci Rep 2022;12:12984).  At every
  measurement day the arm means :math:`m_X` of the relative tumour volume RTV = V(t)/V(0) give a
  log-scale combination index, **positive = synergy**: Bliss
  :math:`\sum_g \log m_g - (n-1)\log m_0 - \log m_G`, HSA :math:`\log\min_g m_g - \log m_G`,
  response additivity :math:`\log\sum_g m_g - \log((n-1)m_0 + m_G)`; delta-method standard
  error from the arms' sample variances, one-sided z test of "no synergy" (index <= 0).  The
  *global* index is the mean of the daily indices over the days; its interval and p-values come
  from the bootstrap (animals resampled within arms, whole growth curves kept together).

Every result states the sign convention, the scale, the sidedness of each p-value and the seed.
Bootstrap resamples are drawn per arm from a stream derived from the seed and the arm's label,
over the arm's animals in the sorted order of their labels, so results do not depend on the
order of the input rows.  See ``docs/models/growth.md`` for the equations, sources and the
places where the reading of the papers is uncertain.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._params import ArrayLike, Integral, Interval, Real, StrOptions, invalid, validate_params
from ..data.validate import _fmt_label
from ..exceptions import DataError
from .._sign import sign_sentence
from ..results import ResultIO, check_kind, set_units
from .api import _dropout_cut, _lloq_text
from .data import GrowthData, as_growth_data
from .synergy import _combo_specs, parse_design

__all__ = ["ToolSynergy", "invivosyn_synergy", "combpdx_synergy", "tool_synergy", "hook_options", "DEFINITIONS",
           "egr_from_auc", "combpdx_index", "invivosyn_expected"]

#: the in-vivo synergy definitions (``invivo_synergy(..., definition=...)``)
DEFINITIONS = ("synergylmm", "invivosyn", "combpdx")
TOOL_REFERENCES = ("bliss", "hsa", "ra")

CITATIONS = {
    "invivosyn": ("Mao B, Guo S. Statistical assessment of drug synergy from in vivo combination studies using "
                  "mouse tumor models. Cancer Res Commun 2023;3:2146-2157 (invivoSyn); normalised AUC as in "
                  "Guo S et al., BMC Cancer 2019;19:718"),
    "combpdx": ("Huang L, Wang J, Fang B, Meric-Bernstam F, Roth JA, Ha MJ. CombPDX: a unified statistical "
                "framework for evaluating drug synergism in patient-derived xenografts. Sci Rep 2022;12:12984"),
}
SIGN = {
    "invivosyn": ("synergy_score = 100 x (S_expected - S_observed) > 0 means synergy (the combination leaves fewer "
                  "tumour cells than the reference model predicts), < 0 antagonism; index = S_observed / "
                  "S_expected < 1 means synergy"),
    "combpdx": ("synergy_score = index = log-scale combination index > 0 means synergy (the combination's mean "
                "relative tumour volume is smaller than the reference model predicts), < 0 antagonism"),
}
#: the one sign sentence of each definition: (what synergy_score is, the raw quantity's sign)
SCORE_SENTENCE = {
    "invivosyn": ("100 x (S_expected - S_observed), S = tumour-cell survival relative to control",
                  "index = S_observed / S_expected < 1 = synergy"),
    "combpdx": ("index = log-scale combination index of the mean relative tumour volumes", None),
}
SCALE = {
    "invivosyn": ("growth scale: S_X = exp((mean eGR_X - mean eGR_control) t) is the tumour-cell survival relative "
                  "to control at horizon t (1 = as control, < 1 = inhibited), eGR = normalised AUC of log size "
                  "(1/time); the score is in percentage points of S (equivalently of inhibition 1 - S)"),
    "combpdx": ("growth scale: arm means of the relative tumour volume RTV = V(t)/V(baseline) at each day "
                "(smaller = more inhibition); the index is a natural-log ratio (dimensionless)"),
}
SIDEDNESS = {
    "p_synergy": "one-sided: H0 no synergy (score <= 0) against H1 synergy (score > 0)",
    "p_antagonism": "one-sided: H0 no antagonism (score >= 0) against H1 antagonism (score < 0)",
    "p_value": "two-sided: H0 score = 0 (additivity under the reference model)",
}
_EMPTY_REASON = ""


# --------------------------------------------------------------------------- pure formulas
def egr_from_auc(time, log_size) -> float:
    """Effective growth rate of one animal: the normalised AUC of its log-size curve (invivoSyn).

    Parameters
    ----------
    time : array_like, shape (m,)
        Increasing measurement times (time unit); the first is the animal's baseline.
    log_size : array_like, shape (m,)
        Natural log of the size at those times (any size unit: only differences matter).

    Returns
    -------
    float
        ``2 * int_{t_1}^{t_m} (log V(t) - log V(t_1)) dt / (t_m - t_1)^2`` by the trapezoid rule
        (1/time unit); equal to ``r`` for exponential growth ``V = V_1 exp(r (t - t_1))``; NaN
        with fewer than two measurements.
    """
    t = np.asarray(time, float)
    y = np.asarray(log_size, float)
    if t.size < 2:
        return float("nan")
    y = y - y[0]
    span = t[-1] - t[0]
    return float(2.0 * np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t)) / span**2)


def invivosyn_expected(survival_singles, reference: str):
    """Expected survival of a combination under a reference model (invivoSyn's rules).

    Parameters
    ----------
    survival_singles : array_like, shape (..., n_agents)
        Survival of the single-agent arms relative to control, ``S_g`` (1 = as control).
    reference : {"bliss", "hsa", "ra"}
        Bliss independence (product), highest single agent (minimum), response additivity
        (``sum S_g - (n - 1)``: the inhibitions ``1 - S_g`` add).

    Returns
    -------
    ndarray, shape (...)
        Expected survival (may be <= 0 for response additivity: then undefined).
    """
    s = np.asarray(survival_singles, float)
    if reference == "bliss":
        return np.prod(s, axis=-1)
    if reference == "hsa":
        return np.min(s, axis=-1)
    if reference == "ra":
        return np.sum(s, axis=-1) - (s.shape[-1] - 1)
    raise ValueError(f"unknown reference {reference!r}")


def combpdx_index(means, variances, counts, control: int, singles: Sequence[int], combo: int, reference: str):
    """CombPDX's log-scale combination index and its delta-method variance from arm means of RTV.

    Parameters
    ----------
    means, variances, counts : array_like, shape (..., n_arms)
        Arm means of the relative tumour volume, their sample variances (ddof 1) and the
        numbers of animals; the variance of a mean is ``variance / count``.
    control, singles, combo : int and sequence of int
        Arm positions of the control, the single agents and the combination.
    reference : {"bliss", "hsa", "ra"}
        Bliss: ``sum_g log m_g - (n-1) log m_0 - log m_G``; HSA: ``log min_g m_g - log m_G``;
        response additivity: ``log sum_g m_g - log((n-1) m_0 + m_G)``.

    Returns
    -------
    index, variance : ndarray, shape (...)
        The index (positive = synergy; natural-log scale) and its delta-method variance (NaN
        where a needed arm has fewer than two animals or a non-positive mean).
    """
    m = np.asarray(means, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vm = np.asarray(variances, float) / np.asarray(counts, float)   # variance of each mean
        rel = vm / m**2                                                   # variance of log(mean)
        logm = np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), np.nan)
    sb = np.asarray(singles)
    n = sb.size
    if reference == "bliss":
        idx = logm[..., sb].sum(-1) - (n - 1) * logm[..., control] - logm[..., combo]
        var = rel[..., sb].sum(-1) + (n - 1) ** 2 * rel[..., control] + rel[..., combo]
    elif reference == "hsa":
        best = sb[np.argmin(np.where(np.isfinite(m[..., sb]), m[..., sb], np.inf), axis=-1)]
        lb = np.take_along_axis(logm, best[..., None], -1)[..., 0]
        rb = np.take_along_axis(rel, best[..., None], -1)[..., 0]
        idx = lb - logm[..., combo]
        var = rb + rel[..., combo]
    elif reference == "ra":
        num = m[..., sb].sum(-1)
        den = (n - 1) * m[..., control] + m[..., combo]
        with np.errstate(divide="ignore", invalid="ignore"):
            idx = np.where((num > 0) & (den > 0), np.log(np.abs(num)) - np.log(np.abs(den)), np.nan)
            var = vm[..., sb].sum(-1) / num**2 + ((n - 1) ** 2 * vm[..., control] + vm[..., combo]) / den**2
    else:
        raise ValueError(f"unknown reference {reference!r}")
    return idx, var


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class ToolSynergy(ResultIO):
    """In-vivo synergy under a reference tool's definition (invivoSyn or CombPDX).

    Attributes
    ----------
    definition : {"invivosyn", "combpdx"}
        Which tool's definition.
    scores : pandas.DataFrame
        One row per combination arm, reference model and day (cut-off day for invivoSyn,
        measurement day for CombPDX) plus, for CombPDX, one ``window="global"`` row per
        combination and reference (``day`` NaN).  Columns: ``combination, reference, window,
        day, horizon, observed, expected, synergy_score, stderr, ci_low, ci_high, index,
        index_ci_low, index_ci_high, p_synergy, p_antagonism, p_value, inference, n_boot,
        n_boot_used, reason`` (+ ``boot_ci_low, boot_ci_high, p_synergy_boot`` for CombPDX's
        daily rows when bootstrapped).  ``synergy_score`` > 0 means synergy in both tools;
        ``reason`` says why a value is NaN.
    arm_stats : pandas.DataFrame
        Per day and arm: invivoSyn ``day, arm, n_animals, egr_mean, egr_se, horizon,
        survival``; CombPDX ``day, arm, n_animals, mean_rtv, var_rtv``.
    animals : pandas.DataFrame
        Per animal (sorted by arm and label): ``subject, arm, baseline_time, n_measurements``
        and, for invivoSyn, ``egr`` at the last cut-off (NaN with fewer than two measurements).
    design : dict
        ``{arm: agents}``.
    control : str
        Control arm.
    sign, scale : str
        Sign convention and scale of the scores.
    sidedness : dict
        ``{p-value column: what it tests}`` (one- or two-sided).
    seed : int
        Entropy of the bootstrap streams (pass ``seed=result.seed`` to reproduce).
    n_boot : int
        Bootstrap resamples.
    citation : str
        The publication whose definition is used.
    settings : dict
        Options used (horizon, log offset, days, dropout, undetectable sizes...).
    units : dict
        Units of time, size, growth rate and of the scores.
    ci_level : float
        Confidence level.
    """

    definition: str
    scores: pd.DataFrame
    arm_stats: pd.DataFrame
    animals: pd.DataFrame
    design: dict
    control: str
    sign: str
    scale: str
    sidedness: dict
    seed: int
    n_boot: int
    citation: str
    settings: dict
    units: dict
    ci_level: float = 0.95
    data: GrowthData | None = field(default=None, repr=False)

    def summary(self) -> str:
        """Plain-text summary: definition and source, sign, scale, sidedness, seed, scores."""
        cols = ["combination", "reference", "window", "day", "synergy_score", "ci_low", "ci_high", "index",
                "p_synergy", "p_value"]
        lines = [
            f"In-vivo synergy, {self.definition} definition ({self.citation}); control arm {self.control!r}",
            sign_sentence(*SCORE_SENTENCE[self.definition]),
            f"Reading: {self.sign}.",
            f"Scale: {self.scale}.",
            "p-values: " + "; ".join(f"{k}: {v}" for k, v in self.sidedness.items()) + ".",
            f"Bootstrap: {self.n_boot} resamples of animals within arms, seed {self.seed}; "
            f"confidence level {self.ci_level:g}.",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            self.scores[cols].to_string(index=False),
        ]
        notes = self.scores[self.scores["reason"] != ""]
        if len(notes):
            lines += ["", "Notes:"]
            for (cb, ref, why), g in notes.groupby(["combination", "reference", "reason"], sort=False):
                days = ", ".join("global" if not np.isfinite(d) else f"{d:g}" for d in g["day"])
                lines.append(f"  {cb} / {ref} ({days}): {why}")
        return "\n".join(lines)

    def to_xarray(self):
        """Daily scores as a Dataset with dims (combination, reference, time) (``time``: the day of the
        ``day`` column); the CombPDX global index as ``global_*`` variables with dims
        (combination, reference)."""
        num = ["observed", "expected", "synergy_score", "stderr", "ci_low", "ci_high", "index", "p_synergy",
               "p_antagonism", "p_value"]
        daily = (self.scores[self.scores["window"] == "day"].rename(columns={"day": "time"})
                 .set_index(["combination", "reference", "time"]))
        ds = daily[num].astype(float).to_xarray()
        glob = self.scores[self.scores["window"] == "global"]
        if len(glob):
            g = glob.set_index(["combination", "reference"])[num].astype(float).to_xarray()
            for v in num:
                ds[f"global_{v}"] = g[v]
        u = self.units["score"]
        set_units(ds, {v: u for v in ds.data_vars if v.replace("global_", "") in
                       ("synergy_score", "stderr", "ci_low", "ci_high")}, default="1")
        ds["time"].attrs["units"] = self.units["time"]
        ds.attrs.update({"definition": self.definition, "sign": self.sign,
                         "sign_convention": sign_sentence(*SCORE_SENTENCE[self.definition]), "scale": self.scale,
                         "sidedness": "; ".join(f"{k}: {v}" for k, v in self.sidedness.items()),
                         "seed": int(self.seed), "n_boot": int(self.n_boot), "citation": self.citation})
        return ds

    def plot(self, ax=None, reference: str = "bliss", *, kind: str = "over_time", **kwargs):
        """Synergy score by day with its interval (``kind="over_time"``; CombPDX's global index
        drawn at the right); returns the Axes."""
        from ..plot.growth_tools import plot_tool_synergy

        check_kind(kind, ("over_time",), "ToolSynergy")
        return plot_tool_synergy(self, ax=ax, reference=reference, **kwargs)


# --------------------------------------------------------------------------- shared preparation
def _entropy(seed) -> int:
    """An integer entropy from ``seed`` (None: fresh entropy, recorded in the result)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if seed is None:
        return int(np.random.SeedSequence().generate_state(2, np.uint32).view(np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, np.random.SeedSequence) or isinstance(seed, (list, tuple)):
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(list(seed))
        return int(ss.generate_state(2, np.uint32).view(np.uint64)[0] >> np.uint64(1))
    return int(seed)


def _arm_rng(entropy: int, tool: str, arm) -> np.random.Generator:
    """The stream of one arm: a function of the seed, the tool and the arm's label only."""
    key = f"{tool}\x1f{type(arm).__name__}:{arm!r}".encode()
    h = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(h,)))


def _label_key(v) -> tuple:
    return (type(v).__name__, str(v))


@dataclass
class _Prep:
    gd: GrowthData
    arms: list
    design: dict
    control: str
    combos: list
    members: list          # per arm: animal indices in label order
    values: np.ndarray     # substituted sizes per observation (NaN: excluded)
    drop_txt: str
    lloq_txt: str


def _prepare(func, data, subject, arm, time, size, control, design, references, dropout, below_lloq,
             validate_kwargs) -> _Prep:
    refs = list(references) if not isinstance(references, str) else [references]
    bad = [r for r in refs if r not in TOOL_REFERENCES]
    if bad or not refs:
        raise invalid(func, "references", f"a non-empty list of {TOOL_REFERENCES} (the tools define no "
                      "highest-order interaction)", references, "e.g. ['bliss', 'hsa']")
    gd0 = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    arms = list(gd0.arms)
    dz = parse_design(arms, design, control)
    ctrl = [a for a, v in dz.items() if not v][0]
    combos = _combo_specs(dz, arms)
    if not combos:
        raise DataError(
            "no combination arm can be scored: each combination arm needs the control and every one of its "
            f"single agents as arms. Design read: { {a: sorted(v) for a, v in dz.items()} }."
        )
    gd, drop_txt = _dropout_cut(gd0, dropout)
    vals = gd.size.astype(float).copy()
    c = gd.censored
    if below_lloq == "drop":
        vals[c] = np.nan
    else:
        fac = 1.0 if below_lloq == "lloq" else 0.5
        has = c & np.isfinite(gd.lloq)
        vals[has] = fac * gd.lloq[has]
    members = []
    for k in range(gd.n_arms):
        idx = np.flatnonzero(gd.subject_arm == k)
        order = sorted(range(idx.size), key=lambda i: _label_key(gd.subjects[idx[i]]))
        members.append(idx[order])
    return _Prep(gd, arms, dz, ctrl, combos, members, vals, drop_txt, _lloq_text(below_lloq, gd))


def _cut_days(func, gd: GrowthData, days, t_base: float, need_measured: bool) -> np.ndarray:
    t_obs = np.unique(gd.time)
    if days is None:
        cut = t_obs[-1:]
    elif isinstance(days, str):
        cut = t_obs[t_obs > t_base + 1e-12]
    else:
        cut = np.unique(np.asarray(days, float))
        if np.any(cut <= t_base + 1e-12):
            raise invalid(func, "days", f"days after the baseline ({t_base:g} {gd.time_unit})", days,
                          "e.g. days='all'")
        if need_measured:
            miss = [d for d in cut if not np.any(np.isclose(t_obs, d))]
            if miss:
                raise invalid(func, "days", "measurement days (CombPDX compares arms on the days they were "
                              f"measured: {', '.join(f'{t:g}' for t in t_obs)})", days, "e.g. days='all'")
    if cut.size == 0:
        raise DataError("no measurement after baseline: the tools' synergy needs at least one later day.")
    return cut


def _boot_summary(draws, point, alpha):
    """Percentile interval, SD, one-sided and two-sided p-values of bootstrap draws (..., B)."""
    ok = np.isfinite(draws)
    nv = ok.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN slices: NaN, said in `reason`
        d = np.where(ok, draws, np.nan)
        lo = np.nanquantile(d, alpha / 2, axis=-1) if d.size else np.nan
        hi = np.nanquantile(d, 1 - alpha / 2, axis=-1) if d.size else np.nan
        sd = np.nanstd(d, axis=-1, ddof=1)
        # (count + 1) / (B + 1): a bootstrap p-value is never 0 (Davison & Hinkley 1997, eq. 4.11)
        p_syn = np.where(nv > 0, (np.sum(ok & (draws <= 0), -1) + 1) / (nv + 1), np.nan)
        p_ant = np.where(nv > 0, (np.sum(ok & (draws >= 0), -1) + 1) / (nv + 1), np.nan)
    p2 = np.minimum(1.0, 2 * np.minimum(p_syn, p_ant))
    return lo, hi, sd, p_syn, p_ant, p2, nv


# --------------------------------------------------------------------------- invivoSyn
def _egr_matrix(gd: GrowthData, logv: np.ndarray, use: np.ndarray, cut: np.ndarray):
    """eGR (n_cut, n_subjects) and number of measurements used, from each animal's data <= cut."""
    S = gd.n_subjects
    egr = np.full((cut.size, S), np.nan)
    n_used = np.zeros((cut.size, S), int)
    base_t = np.full(S, np.nan)
    for s in range(S):
        m = (gd.subject_idx == s) & use
        tt, yy = gd.time[m], logv[m]
        if tt.size == 0:
            continue
        base_t[s] = tt[0]
        yy = yy - yy[0]
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (yy[1:] + yy[:-1]) * np.diff(tt))])
        j = np.searchsorted(tt, cut + 1e-9, side="right") - 1
        n_used[:, s] = np.maximum(j + 1, 0)
        ok = j >= 1
        span = tt[np.maximum(j, 0)] - tt[0]
        egr[ok, s] = 2.0 * cum[j[ok]] / span[ok] ** 2
    return egr, n_used, base_t


@validate_params({
    "days": [StrOptions({"all"}), None, ArrayLike(nonempty=True, finite=True)],
    "horizon": [Interval(Real, 0, None, closed="neither"), None],
    "log_offset": [Interval(Real, 0, None)],
    "dropout": [StrOptions({"likelihood", "last-common-day"})],
    "below_lloq": [StrOptions({"lloq", "half-lloq", "drop"})],
    "n_boot": [Interval(Integral, 1, None)],
    "seed": ["seed"],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
})
def invivosyn_synergy(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    control=None,
    design: Mapping | None = None,
    references: Sequence[str] = ("bliss", "hsa", "ra"),
    days: Sequence[float] | str | None = None,
    horizon: float | None = None,
    log_offset: float = 0.0,
    dropout: str = "likelihood",
    below_lloq: str = "lloq",
    n_boot: int = 1000,
    seed=None,
    ci_level: float = 0.95,
    **validate_kwargs,
) -> ToolSynergy:
    """In-vivo synergy as invivoSyn defines it: normalised-AUC growth rates and Bliss/HSA/RA on survival.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names (see :func:`~comboplan.growth.data.validate_growth`).
    control, design
        The control arm and the agents of each arm, as in
        :func:`~comboplan.growth.synergy.invivo_synergy`.
    references : sequence of {"bliss", "hsa", "ra"}
        Reference models.
    days : None, "all" or sequence of float
        Cut-off days: each animal's eGR uses its measurements up to the day.  ``None`` (default):
        the last measurement day only; ``"all"``: every measurement day after baseline.
    horizon : float, optional
        Time since baseline at which survival ``S = exp((k_X - k_0) t)`` is evaluated (the tool's
        ``t``, 21 days by default there).  Default: each cut-off's time since the first baseline.
    log_offset : float
        Added to sizes before the log.  0 (default) logs the sizes; invivoSyn logs ``V + 1``
        (pass ``log_offset=1`` to reproduce its numbers; the offset depends on the size unit).
    dropout : {"likelihood", "last-common-day"}
        All measurements of every animal (its eGR uses its own follow-up), or truncation at the
        last day every animal was present.
    below_lloq : {"lloq", "half-lloq", "drop"}
        Undetectable sizes: replaced by the LLOQ, by LLOQ/2, or excluded.
    n_boot : int
        Bootstrap resamples of animals within arms (>= 1; invivoSyn uses 1000).
    seed : None, int, SeedSequence or Generator
        Seed of the bootstrap; the entropy used is recorded in ``result.seed``.
    ci_level : float
        Level of the percentile intervals.
    **validate_kwargs
        Passed to :func:`~comboplan.growth.data.validate_growth`.

    Returns
    -------
    ToolSynergy
        ``scores``: ``observed``/``expected`` survival of the combination relative to control,
        ``synergy_score = 100 (expected - observed)`` (percentage points, > 0 = synergy),
        ``index = observed / expected`` (< 1 = synergy), bootstrap SD, percentile intervals,
        ``p_synergy`` (one-sided, fraction of resampled scores <= 0), ``p_antagonism``
        (one-sided, >= 0) and ``p_value`` (two-sided, twice the smaller).

    Raises
    ------
    DataError
        A size that cannot be logged, an arm with fewer than two animals with an eGR, a design
        without a scorable combination.
    InvalidParameterError
        Bad options.
    """
    func = "invivosyn_synergy"
    p = _prepare(func, data, subject, arm, time, size, control, design, references, dropout, below_lloq,
                 validate_kwargs)
    gd = p.gd
    use = np.isfinite(p.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.log(p.values + log_offset)
    bad = use & ~np.isfinite(logv)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = gd.row_labels[pos] if gd.row_labels is not None else pos
        raise DataError(
            f"column {gd.columns.get('size', 'size')!r}: size {gd.size[pos]:g} at row {_fmt_label(row)} (animal "
            f"{_fmt_label(gd.subjects[gd.subject_idx[pos]])}, {gd.columns.get('time', 'time')} {gd.time[pos]:g}) "
            "cannot be logged. Declare undetectable tumours with lloq=<detection limit> (replaced by the LLOQ), "
            "or pass log_offset=1 as invivoSyn does (log(V + 1))."
        )
    t_base = float(np.min(gd.baseline_time()))
    cut = _cut_days(func, gd, days, t_base, need_measured=False)
    egr, n_used, base_t = _egr_matrix(gd, logv, use, cut)
    h = (cut - t_base) if horizon is None else np.full(cut.size, float(horizon))
    K = gd.n_arms
    entropy = _entropy(seed)
    alpha = 1 - ci_level
    B = int(n_boot)
    # per cut-off: eligible animals (>= 2 measurements) of each arm, in label order
    means = np.full((cut.size, K), np.nan)
    ses = np.full((cut.size, K), np.nan)
    counts = np.zeros((cut.size, K), int)
    bmeans = np.full((cut.size, B, K), np.nan)
    for k in range(K):
        mem = p.members[k]
        u = _arm_rng(entropy, "invivosyn", p.arms[k]).random((B, mem.size))
        for i in range(cut.size):
            e = egr[i, mem]
            e = e[np.isfinite(e)]
            counts[i, k] = e.size
            if e.size == 0:
                continue
            means[i, k] = e.mean()
            ses[i, k] = e.std(ddof=1) / np.sqrt(e.size) if e.size > 1 else np.nan
            draw = np.floor(u[:, : e.size] * e.size).astype(int)
            bmeans[i, :, k] = e[draw].mean(-1)
    involved = sorted({x for cb in p.combos for x in [cb["control"], cb["index"], *cb["singles"]]})
    short = [(p.arms[k], int(counts[-1, k])) for k in involved if counts[-1, k] < 2]
    if short:
        a, n = short[0]
        raise DataError(
            f"arm {a!r} has {n} animal(s) with at least two measurements up to day {cut[-1]:g}: the eGR "
            "(normalised AUC) needs two measurements per animal and the bootstrap two animals per arm. "
            "Check the time column, or use a later cut-off (days=...)."
        )
    rows = []
    for cb in p.combos:
        i0, ig, sg = cb["control"], cb["index"], cb["singles"]
        for ref in references:
            surv = np.exp((means - means[:, [i0]]) * h[:, None])            # (n_cut, K)
            bsurv = np.exp((bmeans - bmeans[:, :, [i0]]) * h[:, None, None])  # (n_cut, B, K)
            exp_ = invivosyn_expected(surv[:, sg], ref)
            bexp = invivosyn_expected(bsurv[:, :, sg], ref)
            obs, bobs = surv[:, ig], bsurv[:, :, ig]
            reasons = np.full(cut.size, _EMPTY_REASON, dtype=object)
            if ref == "ra":
                nneg = np.sum(bexp <= 0, axis=-1)
                bexp = np.maximum(bexp, 0.0)
                for i in range(cut.size):
                    if not exp_[i] > 0:
                        reasons[i] = (f"response additivity predicts survival {exp_[i]:.3g} <= 0 (sum of single-agent "
                                      f"S - {len(sg) - 1}): the expectation is undefined")
                    elif nneg[i]:
                        reasons[i] = (f"expected survival bounded at 0 in {int(nneg[i])} of {B} resamples "
                                      "(response additivity predicted S < 0)")
            score = 100.0 * (exp_ - obs)
            bscore = 100.0 * (bexp - bobs)
            with np.errstate(divide="ignore", invalid="ignore"):
                index = obs / exp_
                bindex = bobs / bexp
            lo, hi, sd, ps, pa, p2, nv = _boot_summary(bscore, score, alpha)
            ilo, ihi, *_ = _boot_summary(bindex, index, alpha)
            undefined = ~(exp_ > 0) if ref == "ra" else np.zeros(cut.size, bool)
            for i in range(cut.size):
                vals = [float(obs[i]), float(exp_[i]), float(score[i]), float(sd[i]), float(lo[i]), float(hi[i]),
                        float(index[i]), float(ilo[i]), float(ihi[i]), float(ps[i]), float(pa[i]), float(p2[i])]
                if undefined[i]:
                    vals = vals[:2] + [np.nan] * 10
                rows.append([cb["arm"], ref, "day", float(cut[i]), float(h[i]), *vals,
                             "bootstrap percentile", B, int(nv[i]), reasons[i]])
    scores = _canonical(pd.DataFrame(rows, columns=_SCORE_COLUMNS), references)
    arm_stats = _canonical(pd.DataFrame({
        "day": np.repeat(cut, K), "arm": np.tile(np.asarray(p.arms, dtype=object), cut.size),
        "n_animals": counts.ravel(), "egr_mean": means.ravel(), "egr_se": ses.ravel(),
        "horizon": np.repeat(h, K), "survival": np.exp((means - means[:, [p.arms.index(p.control)]]) * h[:, None]).ravel(),
    }))
    animals = _animals_table(p, base_t, n_used[-1])
    animals["egr"] = egr[-1][animals.pop("_s").to_numpy()]
    units = dict(gd.units)
    units.update({"score": "percentage points of survival relative to control", "egr": units["rate"]})
    settings = {"days": "final" if days is None else _days_text(days), "horizon": "time since baseline of each cut-off"
                if horizon is None else float(horizon), "log_offset": float(log_offset),
                "dropout": p.drop_txt, "below_lloq": p.lloq_txt}
    return ToolSynergy(
        definition="invivosyn", scores=scores, arm_stats=arm_stats, animals=animals, design=_design_dict(p),
        control=str(p.control), sign=SIGN["invivosyn"], scale=SCALE["invivosyn"], sidedness=dict(SIDEDNESS),
        seed=entropy, n_boot=B, citation=CITATIONS["invivosyn"], settings=settings, units=units,
        ci_level=float(ci_level), data=gd,
    )


_SCORE_COLUMNS = ["combination", "reference", "window", "day", "horizon", "observed", "expected", "synergy_score",
                  "stderr", "ci_low", "ci_high", "index", "index_ci_low", "index_ci_high", "p_synergy",
                  "p_antagonism", "p_value", "inference", "n_boot", "n_boot_used", "reason"]


def _canonical(df: pd.DataFrame, references=None) -> pd.DataFrame:
    """Rows in an order that does not depend on the input's row order (labels sorted)."""
    keys = pd.DataFrame(index=df.index)
    for col in ("combination", "arm", "subject"):
        if col in df:
            keys[col] = [_label_key(v) for v in df[col]]
    if "reference" in df:
        keys["reference"] = [list(references).index(r) for r in df["reference"]]
    if "window" in df:
        keys["window"] = (df["window"] == "global").astype(int)
    if "day" in df:
        keys["day"] = df["day"].fillna(np.inf)
    by = [c for c in ("day", "combination", "reference", "window", "arm", "subject") if c in keys]
    if "combination" in keys:
        by = ["combination", "reference", "window", "day"]
    order = keys.sort_values(by, kind="mergesort").index
    return df.loc[order].reset_index(drop=True)


def _days_text(days) -> str:
    return days if isinstance(days, str) else ", ".join(f"{float(d):g}" for d in days)


def _design_dict(p: _Prep) -> dict:
    return {str(a): sorted(v) for a, v in p.design.items()}


def _animals_table(p: _Prep, base_t, n_meas) -> pd.DataFrame:
    arm_order = sorted(range(len(p.arms)), key=lambda k: _label_key(p.arms[k]))
    order = np.concatenate([p.members[k] for k in arm_order])
    gd = p.gd
    return pd.DataFrame({
        "subject": gd.subjects[order], "arm": gd.arms[gd.subject_arm[order]], "baseline_time": base_t[order],
        "n_measurements": np.asarray(n_meas)[order], "_s": order,
    })


# --------------------------------------------------------------------------- CombPDX
@validate_params({
    "days": [StrOptions({"all"}), None, ArrayLike(nonempty=True, finite=True)],
    "dropout": [StrOptions({"likelihood", "last-common-day"})],
    "below_lloq": [StrOptions({"lloq", "half-lloq", "drop"})],
    "n_boot": [Interval(Integral, 0, None)],
    "seed": ["seed"],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
})
def combpdx_synergy(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    control=None,
    design: Mapping | None = None,
    references: Sequence[str] = ("bliss", "hsa", "ra"),
    days: Sequence[float] | str | None = "all",
    dropout: str = "likelihood",
    below_lloq: str = "lloq",
    n_boot: int = 1000,
    seed=None,
    ci_level: float = 0.95,
    **validate_kwargs,
) -> ToolSynergy:
    """In-vivo synergy as CombPDX defines it: daily log combination index of mean RTV, and a global index.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names (see :func:`~comboplan.growth.data.validate_growth`).
    control, design
        The control arm and the agents of each arm, as in
        :func:`~comboplan.growth.synergy.invivo_synergy`.
    references : sequence of {"bliss", "hsa", "ra"}
        Reference models.
    days : "all", None or sequence of float
        Measurement days scored (default every day after baseline; ``None``: the last one).
        The global index averages the daily indices over these days.
    dropout : {"likelihood", "last-common-day"}
        Each day uses the animals measured that day, or the analysis is truncated at the last
        day every animal was present.
    below_lloq : {"lloq", "half-lloq", "drop"}
        Undetectable sizes: replaced by the LLOQ (a size recorded as 0 without an LLOQ stays 0),
        by LLOQ/2, or excluded.
    n_boot : int
        Bootstrap resamples of animals within arms for the global index (and bootstrap columns
        of the daily rows); 0 skips them (the global index then has no interval or p-value).
    seed : None, int, SeedSequence or Generator
        Seed of the bootstrap; the entropy used is recorded in ``result.seed``.
    ci_level : float
        Confidence level (two-sided; z quantile for the daily delta-method intervals, percentile
        intervals for the bootstrap).
    **validate_kwargs
        Passed to :func:`~comboplan.growth.data.validate_growth`.

    Returns
    -------
    ToolSynergy
        Daily rows (``window="day"``): ``observed`` = mean RTV of the combination, ``expected``
        = its expectation under the reference, ``synergy_score = index`` (> 0 = synergy),
        delta-method ``stderr``, z interval, ``p_synergy`` = 1 - Phi(index / SE) (one-sided, as
        CombPDX), ``p_antagonism`` (one-sided), ``p_value`` (two-sided).  Global rows
        (``window="global"``): mean of the daily indices with bootstrap SD, percentile interval
        and bootstrap p-values (fraction of resampled global indices <= 0: one-sided synergy).

    Raises
    ------
    DataError
        An animal whose baseline size is 0, a design without a scorable combination.
    InvalidParameterError
        Bad options (e.g. a day that was not a measurement day).
    """
    func = "combpdx_synergy"
    p = _prepare(func, data, subject, arm, time, size, control, design, references, dropout, below_lloq,
                 validate_kwargs)
    gd = p.gd
    use = np.isfinite(p.values)
    S = gd.n_subjects
    base_v = np.full(S, np.nan)
    base_t = np.full(S, np.nan)
    n_meas = np.zeros(S, int)
    for s in range(S):
        m = np.flatnonzero((gd.subject_idx == s) & use)
        n_meas[s] = m.size
        if m.size:
            base_v[s], base_t[s] = p.values[m[0]], gd.time[m[0]]
    zero = np.isfinite(base_v) & ~(base_v > 0)
    if zero.any():
        s = int(np.flatnonzero(zero)[0])
        raise DataError(
            f"animal {_fmt_label(gd.subjects[s])} (column {gd.columns.get('subject', 'subject')!r}): its baseline "
            f"size at {gd.columns.get('time', 'time')} {base_t[s]:g} is {base_v[s]:g}, so its relative tumour "
            "volume is undefined. Remove the animal, or declare lloq=<detection limit> so that the baseline is "
            "replaced by it."
        )
    t_base = float(np.nanmin(base_t))
    cut = _cut_days(func, gd, days, t_base, need_measured=True)
    # wide RTV: (n_subjects, n_days), NaN where not measured / excluded
    R = np.full((S, cut.size), np.nan)
    for pos in np.flatnonzero(use):
        j = np.flatnonzero(np.isclose(cut, gd.time[pos]))
        s = gd.subject_idx[pos]
        if j.size and gd.time[pos] > base_t[s] + 1e-12:
            R[s, j[0]] = p.values[pos] / base_v[s]
    K = gd.n_arms
    entropy = _entropy(seed)
    alpha = 1 - ci_level
    B = int(n_boot)
    means = np.full((cut.size, K), np.nan)
    var = np.full((cut.size, K), np.nan)
    cnt = np.zeros((cut.size, K), int)
    bmeans = np.full((B, cut.size, K), np.nan)
    for k in range(K):
        mem = p.members[k]
        Rk = R[mem]                                   # (n_k, n_days)
        ok = np.isfinite(Rk)
        cnt[:, k] = ok.sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[:, k] = np.where(cnt[:, k] > 0, np.nansum(Rk, 0) / np.maximum(cnt[:, k], 1), np.nan)
            dev = np.where(ok, Rk - means[:, k], 0.0)
            var[:, k] = np.where(cnt[:, k] > 1, (dev**2).sum(0) / np.maximum(cnt[:, k] - 1, 1), np.nan)
        if B and mem.size:
            u = _arm_rng(entropy, "combpdx", p.arms[k]).random((B, mem.size))
            draw = np.floor(u * mem.size).astype(int)
            Rb = Rk[draw]                             # (B, n_k, n_days)
            okb = np.isfinite(Rb)
            nb = okb.sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                bmeans[:, :, k] = np.where(nb > 0, np.where(okb, Rb, 0.0).sum(1) / np.maximum(nb, 1), np.nan)
    zq = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for cb in p.combos:
        i0, ig, sg = cb["control"], cb["index"], cb["singles"]
        arms_cb = [i0, *sg, ig]
        for ref in references:
            idx, v = combpdx_index(means, var, cnt, i0, sg, ig, ref)
            se = np.sqrt(v)
            exp_ = _combpdx_expected(means, i0, sg, ref)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = idx / se
            p_syn = stats.norm.sf(z)
            p_ant = stats.norm.cdf(z)
            p2 = 2 * stats.norm.sf(np.abs(z))
            few = (cnt[:, arms_cb] < 2).any(-1)
            nonpos = (means[:, arms_cb] <= 0).any(-1)
            reasons = np.full(cut.size, _EMPTY_REASON, dtype=object)
            for i in range(cut.size):
                if few[i]:
                    short = [p.arms[k] for k in arms_cb if cnt[i, k] < 2]
                    reasons[i] = f"fewer than two animals measured this day in arm(s) {short}: no variance"
                elif nonpos[i] or not np.isfinite(idx[i]):
                    reasons[i] = "a mean relative tumour volume (or the RA sum) is <= 0: the log index is undefined"
            defined = np.isfinite(idx) & ~few
            idx = np.where(defined, idx, np.nan)
            if B:
                bidx, _ = combpdx_index(bmeans, np.ones_like(bmeans), np.ones_like(bmeans), i0, sg, ig, ref)  # (B, D)
                blo, bhi, bsd, bps, bpa, bp2, bnv = _boot_summary(bidx.T, idx, alpha)
            else:
                blo = bhi = bps = np.full(cut.size, np.nan)
            for i in range(cut.size):
                if defined[i]:
                    vals = [idx[i], se[i], idx[i] - zq * se[i], idx[i] + zq * se[i], idx[i], idx[i] - zq * se[i],
                            idx[i] + zq * se[i], p_syn[i], p_ant[i], p2[i]]
                else:
                    vals = [np.nan] * 10
                rows.append([cb["arm"], ref, "day", float(cut[i]), float(cut[i] - t_base), float(means[i, ig]),
                             float(exp_[i]), *map(float, vals), "delta-method z", B, 0, reasons[i],
                             float(blo[i]) if defined[i] else np.nan, float(bhi[i]) if defined[i] else np.nan,
                             float(bps[i]) if defined[i] else np.nan])
            # global index: mean of the daily indices over the defined days
            D = np.flatnonzero(defined)
            g = float(np.mean(idx[D])) if D.size else np.nan
            reason = "" if D.size == cut.size else (
                f"averaged over {D.size} of {cut.size} days (days without an index left out)" if D.size else
                "no day with a defined index")
            if B and D.size:
                gb = bidx[:, D].mean(-1)
                glo, ghi, gsd, gps, gpa, gp2, gnv = (float(x) for x in _boot_summary(gb, g, alpha))
                ndrop = B - int(gnv)
                if ndrop:
                    reason = "; ".join(x for x in (reason, f"{ndrop} of {B} resamples without an index on some "
                                                   "day left out") if x)
            else:
                glo = ghi = gsd = gps = gpa = gp2 = np.nan
                gnv = 0
                if not B:
                    reason = "; ".join(x for x in (reason, "n_boot=0: the global index has bootstrap inference only")
                                       if x)
            rows.append([cb["arm"], ref, "global", np.nan, np.nan, np.nan, np.nan, g, gsd, glo, ghi, g, glo, ghi,
                         gps, gpa, gp2, "bootstrap percentile", B, int(gnv), reason, np.nan, np.nan, np.nan])
    scores = _canonical(pd.DataFrame(rows, columns=_SCORE_COLUMNS + ["boot_ci_low", "boot_ci_high", "p_synergy_boot"]),
                        references)
    arm_stats = _canonical(pd.DataFrame({
        "day": np.repeat(cut, K), "arm": np.tile(np.asarray(p.arms, dtype=object), cut.size),
        "n_animals": cnt.ravel(), "mean_rtv": means.ravel(), "var_rtv": var.ravel(),
    }))
    animals = _animals_table(p, base_t, n_meas)
    animals.pop("_s")
    units = dict(gd.units)
    units.update({"score": "1 (natural-log ratio)"})
    settings = {"days": "final" if days is None else _days_text(days), "dropout": p.drop_txt, "below_lloq": p.lloq_txt,
                "global_index": "mean of the daily indices over the scored days"}
    return ToolSynergy(
        definition="combpdx", scores=scores, arm_stats=arm_stats, animals=animals, design=_design_dict(p),
        control=str(p.control), sign=SIGN["combpdx"], scale=SCALE["combpdx"], sidedness=dict(SIDEDNESS),
        seed=entropy, n_boot=B, citation=CITATIONS["combpdx"], settings=settings, units=units,
        ci_level=float(ci_level), data=gd,
    )


def _combpdx_expected(means, i0, sg, ref):
    """Expected mean RTV of the combination (Bliss product, HSA minimum, RA sum - (n-1) control)."""
    m = np.asarray(means, float)
    n = len(sg)
    if ref == "bliss":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.prod(m[..., sg], -1) / m[..., i0] ** (n - 1)
    if ref == "hsa":
        return np.min(m[..., sg], -1)
    return m[..., sg].sum(-1) - (n - 1) * m[..., i0]


# --------------------------------------------------------------------------- dispatcher
def tool_synergy(data, subject=None, arm=None, time=None, size=None, *, definition: str, **options) -> ToolSynergy:
    """Dispatch to :func:`invivosyn_synergy` or :func:`combpdx_synergy` (the hook of
    ``invivo_synergy(..., definition=...)``).

    Parameters
    ----------
    data, subject, arm, time, size
        As in :func:`~comboplan.growth.synergy.invivo_synergy`.
    definition : {"invivosyn", "combpdx"}
        The reference tool's definition.
    **options
        Options of the chosen function.

    Returns
    -------
    ToolSynergy
    """
    if definition == "invivosyn":
        return invivosyn_synergy(data, subject, arm, time, size, **options)
    if definition == "combpdx":
        return combpdx_synergy(data, subject, arm, time, size, **options)
    raise invalid("tool_synergy", "definition", "one of 'invivosyn', 'combpdx'", definition)


def hook_options(definition: str, tool_options, *, method: str, backend: str, adjust: str, n_boot: int) -> dict:
    """Options of ``invivo_synergy(..., definition=...)`` for the chosen tool, checked.

    Parameters
    ----------
    definition : {"invivosyn", "combpdx"}
        The reference tool's definition.
    tool_options : dict or None
        Tool-specific options (invivoSyn: ``horizon``, ``log_offset``).
    method, backend, adjust : str
        ``invivo_synergy``'s options of the mixed model; they must keep their defaults here.
    n_boot : int
        Bootstrap resamples (invivoSyn's intervals and p-values are bootstrap ones: >= 1).

    Returns
    -------
    dict
        Keyword arguments for :func:`tool_synergy` besides those ``invivo_synergy`` passes itself.

    Raises
    ------
    InvalidParameterError
        An option of the mixed model changed, ``n_boot=0`` for invivoSyn, or an unknown tool option.
    """
    for name, value, default in (("method", method, "reml"), ("backend", backend, "gls"), ("adjust", adjust, "holm")):
        if value != default:
            raise invalid("invivo_synergy", name, f"left at its default ({default!r}) with definition={definition!r} "
                          "(it applies to the mixed model, definition='synergylmm')", value)
    opts = dict(tool_options or {})
    allowed = {"invivosyn": {"horizon", "log_offset"}, "combpdx": set()}[definition]
    extra = sorted(set(opts) - allowed)
    if extra:
        raise invalid("invivo_synergy", "tool_options", f"a dict with keys among {sorted(allowed)} for "
                      f"definition={definition!r}", tool_options)
    if definition == "invivosyn" and n_boot < 1:
        raise invalid("invivo_synergy", "n_boot", ">= 1 with definition='invivosyn' (its intervals and p-values "
                      "are bootstrap ones)", n_boot, "e.g. n_boot=1000")
    opts["n_boot"] = n_boot
    return opts
