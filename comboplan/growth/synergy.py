r"""In-vivo synergy on tumour growth rates (Bliss, HSA, response additivity), over time.

Growth rates :math:`r_X` (slope of log tumour size, 1/time) of every arm come from the
random-slope mixed model (:mod:`comboplan.growth.mixed`).  The *effect* of a treatment is
its reduction of the growth rate, :math:`E_X = r_0 - r_X` (1/time; positive = inhibition),
with :math:`r_0` the control arm.  For a combination arm with agent set :math:`G`:

* **Bliss independence (log-kill additivity)**: under exponential growth the size relative
  to control is :math:`V_X/V_0 = e^{(r_X - r_0)t}`; Bliss' multiplicative survival
  :math:`(V_G/V_0) = \prod_{g} (V_g/V_0)` gives :math:`E_G^{exp} = \sum_g E_g`, i.e. for two
  agents :math:`r_{AB} - r_A - r_B + r_0 = 0`.  Score
  :math:`S = E_G - \sum_g E_g = \sum_g r_g - (|G|-1) r_0 - r_G` -- time-independent.
* **HSA (highest single agent)**: :math:`E_G^{exp} = \max_g E_g`; score
  :math:`S = \min_g r_g - r_G`; its synergy p-value is the intersection-union test (the
  combination must beat every single agent).
* **Response additivity (RA)**: absolute reductions of the relative tumour volume add up on
  the linear scale at horizon :math:`t`: :math:`RTV_G^{exp}(t) = \sum_g RTV_g(t) - (|G|-1)
  RTV_0(t)` with :math:`RTV_X(t) = e^{r_X t}`; expressed as a rate,
  :math:`r_G^{RA}(t) = \log(RTV_G^{exp}(t))/t`, score :math:`S = r^{RA}_G(t) - r_G`
  (delta-method standard error).  Time-dependent.

Sign convention: **positive score = synergy** (the combination slows growth more than the
reference model predicts); negative = antagonism.  The combination index is
:math:`CI = E^{exp}_G / E_G` (< 1 synergy, > 1 antagonism), with a Fieller interval for
Bliss and HSA and a delta-method interval for RA.  Tests are two-sided t tests with the
between-animal degrees of freedom ``n_animals - n_arms``.

Time-resolved analysis refits the model with the data up to each measurement day and
adjusts the p-values across days (Holm by default).  Bootstrap alternatives resample
animals within arms and score T/C ratios of mean relative tumour volume and of its AUC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._params import Integral, Interval, Real, StrOptions, validate_params
from ..exceptions import DataError
from .._multitest import adjust_pvalues
from .._sign import sign_sentence
from ..results import ResultIO, check_kind, set_units
from .api import _dropout_cut, _lloq_text, _tq, padded_design
from .data import GrowthData, as_growth_data, batch_arrays
from .mixed import random_slope_fit, slope_stats

__all__ = ["invivo_synergy", "InVivoSynergy", "parse_design", "adjust_pvalues", "fieller_ratio",
           "rate_synergy_arrays", "invivo_synergy_batch"]

SIGN_CONVENTION = ("positive score = synergy (the combination slows tumour growth more than the "
                   "reference model predicts), negative = antagonism; combination index < 1 = synergy; "
                   "effects are reductions of the growth rate (inhibition), r_control - r_arm")
REFERENCES = ("bliss", "hsa", "ra", "bliss_interaction")
#: what ``synergy_score`` is (summary sentence)
SCORE_DEFINITION = ("score = expected - observed growth rate of the combination (growth-rate reduction beyond the "
                    "reference model; bootstrap table: expected - observed T/C)")
RAW_SIGN = "ci_index < 1 = synergy"
P_SIDEDNESS = ("p_value two-sided (t test of score = 0; bootstrap table: two-sided percentile), p_synergy "
               "one-sided (H0 score <= 0 against synergy; HSA: intersection-union over the single agents)")


# --------------------------------------------------------------------------- helpers
def parse_design(arms: Sequence, design: Mapping | None = None, control=None, sep: str = "+") -> dict:
    """Map every arm to its set of agents.

    Parameters
    ----------
    arms : sequence
        Arm labels of the data.
    design : mapping, optional
        ``{arm: [agents]}``; the control arm has no agents.  Arms not listed are ignored.
    control : label, optional
        Control arm, when ``design`` is not given: agents are then read from the other arm
        labels split on ``sep`` (``"CM+PTX"`` -> ``{"CM", "PTX"}``).
    sep : str
        Separator of agent names in arm labels.

    Returns
    -------
    dict
        ``{arm: frozenset(agents)}``.
    """
    arms = list(arms)
    if design is None:
        if control is None:
            raise DataError(
                "say which arm is the control and what each arm contains: pass control='<arm>' (agents are "
                f"then read from arm labels split on {sep!r}, e.g. 'A+B'), or design={{arm: [agents], ...}}."
            )
        if control not in arms:
            raise DataError(f"control arm {control!r} is not in the data; arms are {arms}.")
        design = {a: ([] if a == control else [p.strip() for p in str(a).split(sep)]) for a in arms}
    out = {}
    for a, ag in design.items():
        if a not in arms:
            raise DataError(f"design names arm {a!r}, which is not in the data; arms are {arms}.")
        ag = [ag] if isinstance(ag, str) else list(ag)
        out[a] = frozenset(str(x) for x in ag)
    sets = list(out.values())
    if sets.count(frozenset()) != 1:
        raise DataError("the design needs exactly one control arm (an arm with no agents).")
    if len(set(sets)) != len(sets):
        raise DataError("two arms of the design have the same agents; merge them or label doses as agents.")
    return out


def fieller_ratio(a, b, va, vb, cab, q):
    """Fieller confidence interval of ``a / b`` for jointly normal estimates.

    Returns ``(low, high)``; ``(-inf, inf)`` where the denominator is not significantly
    different from 0 at the chosen level (the interval is then unbounded).
    """
    a, b, va, vb, cab, q = np.broadcast_arrays(*(np.asarray(x, float) for x in (a, b, va, vb, cab, q)))
    A = b * b - q * q * vb
    B = a * b - q * q * cab
    C = a * a - q * q * va
    disc = B * B - A * C
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = np.sqrt(np.maximum(disc, 0.0))
        r1 = (B - sq) / A
        r2 = (B + sq) / A
    bounded = (A > 0) & (disc >= 0)
    lo = np.where(bounded, np.minimum(r1, r2), -np.inf)
    hi = np.where(bounded, np.maximum(r1, r2), np.inf)
    return lo, hi


# --------------------------------------------------------------------------- core (arrays)
def _combo_specs(design: dict, arms: list) -> list[dict]:
    """Combination arms with their singles, control and (for >= 3 agents) all sub-combinations."""
    by_set = {v: arms.index(a) for a, v in design.items()}
    ctrl = by_set[frozenset()]
    out = []
    for a, g in design.items():
        if len(g) < 2:
            continue
        singles = [by_set.get(frozenset([x])) for x in sorted(g)]
        if any(s is None for s in singles):
            continue  # cannot score without every single agent
        subsets = {}
        complete = True
        for k in range(0, len(g) + 1):
            for h in combinations(sorted(g), k):
                idx = by_set.get(frozenset(h))
                if idx is None:
                    complete = False
                subsets[frozenset(h)] = idx
        out.append({"arm": a, "index": arms.index(a), "agents": sorted(g), "singles": singles, "control": ctrl,
                    "subsets": subsets if complete else None})
    return out


def rate_synergy_arrays(beta, se, df, combo: dict, horizon, ci_level: float = 0.95) -> dict:
    """Synergy scores from arm growth rates, vectorised over leading dimensions.

    Parameters
    ----------
    beta, se : ndarray, shape (..., n_arms)
        Arm growth rates (1/time unit) and standard errors (independent arms).
    df : ndarray, shape (...)
        Degrees of freedom of the t reference distribution.
    combo : dict
        One entry of the design (``index``, ``singles``, ``control``, ``subsets``).
    horizon : ndarray, shape (...)
        Time since baseline at which response additivity is evaluated (time unit).
    ci_level : float
        Confidence level.

    Returns
    -------
    dict
        ``{reference: {score, synergy_score, stderr, ci_low, ci_high, t, p_value, p_synergy,
        expected_rate, ci_index, ci_index_low, ci_index_high}}`` arrays of shape (...);
        ``synergy_score`` is ``score`` (> 0 means synergy) under the package-wide name.
    """
    beta = np.asarray(beta, float)
    var = np.asarray(se, float) ** 2
    K = beta.shape[-1]
    q = _tq(ci_level, df)
    i_g, i_0, singles = combo["index"], combo["control"], combo["singles"]
    r0, rg = beta[..., i_0], beta[..., i_g]
    e_obs = r0 - rg
    out = {}

    def finish(score, sd, exp_rate, e_exp, var_num, var_den, cov_nd, linear=True, p_syn=None):
        with np.errstate(invalid="ignore", divide="ignore"):
            t = score / sd
        p = 2 * stats.t.sf(np.abs(t), np.maximum(df, 1e-9))
        if p_syn is None:
            p_syn = stats.t.sf(t, np.maximum(df, 1e-9))
        with np.errstate(invalid="ignore", divide="ignore"):
            cidx = e_exp / e_obs
        if linear:
            lo, hi = fieller_ratio(e_exp, e_obs, var_num, var_den, cov_nd, q)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                g = np.sqrt(var_num / e_obs**2 + e_exp**2 * var_den / e_obs**4 - 2 * e_exp * cov_nd / e_obs**3)
            lo, hi = cidx - q * g, cidx + q * g
        return {"score": score, "synergy_score": score, "stderr": sd, "ci_low": score - q * sd, "ci_high": score + q * sd, "t": t,
                "p_value": p, "p_synergy": p_syn, "expected_rate": exp_rate, "observed_rate": rg,
                "ci_index": cidx, "ci_index_low": lo, "ci_index_high": hi}

    # Bliss: contrast c: +1 singles, -(n-1) control, -1 combo
    n = len(singles)
    c = np.zeros(K)
    c[singles] += 1.0
    c[i_0] -= (n - 1)
    c[i_g] -= 1.0
    score = beta @ c
    sd = np.sqrt(var @ (c * c))
    exp_rate = beta[..., singles].sum(-1) - (n - 1) * r0
    # E_exp = sum(r0 - rs) = n r0 - sum rs ; E_obs = r0 - rg ; cov terms from independent arms
    ce = np.zeros(K)
    ce[i_0] += n
    ce[singles] -= 1.0
    co = np.zeros(K)
    co[i_0] += 1.0
    co[i_g] -= 1.0
    out["bliss"] = finish(score, sd, exp_rate, beta @ ce, var @ (ce * ce), var @ (co * co), var @ (ce * co))
    # HSA: best single agent (lowest rate) per batch element
    sb = np.asarray(singles)
    best = sb[np.argmin(beta[..., sb], axis=-1)]
    rb = np.take_along_axis(beta, best[..., None], -1)[..., 0]
    vb = np.take_along_axis(var, best[..., None], -1)[..., 0]
    score = rb - rg
    sd = np.sqrt(vb + var[..., i_g])
    # intersection-union: the combination must beat every single agent
    p_each = []
    for s in singles:
        with np.errstate(invalid="ignore", divide="ignore"):
            tt = (beta[..., s] - rg) / np.sqrt(var[..., s] + var[..., i_g])
        p_each.append(stats.t.sf(tt, np.maximum(df, 1e-9)))
    p_iut = np.max(np.stack(p_each, -1), axis=-1)
    e_exp = r0 - rb
    v0 = var[..., i_0]
    out["hsa"] = finish(score, sd, rb, e_exp, v0 + vb, v0 + var[..., i_g], v0, p_syn=p_iut)
    # response additivity at the horizon
    h = np.asarray(horizon, float)
    with np.errstate(over="ignore"):
        ex = np.exp(beta * h[..., None])
    M = ex[..., sb].sum(-1) - (n - 1) * ex[..., i_0]
    floor = 1e-3 * ex[..., i_0]
    Mc = np.maximum(M, floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_ra = np.log(Mc) / h
        grad = np.zeros(beta.shape)
        for s in singles:
            grad[..., s] = ex[..., s] / Mc
        grad[..., i_0] = -(n - 1) * ex[..., i_0] / Mc
    grad = np.where((M > floor)[..., None], grad, 0.0)
    score = r_ra - rg
    gs = grad.copy()
    gs[..., i_g] -= 1.0
    sd = np.sqrt((gs * gs * var).sum(-1))
    e_exp = r0 - r_ra
    ge = -grad.copy()
    ge[..., i_0] += 1.0
    go = np.zeros(beta.shape)
    go[..., i_0] = 1.0
    go[..., i_g] = -1.0
    out["ra"] = finish(score, sd, r_ra, e_exp, (ge * ge * var).sum(-1), (go * go * var).sum(-1),
                       (ge * go * var).sum(-1), linear=False)
    undefined = M <= floor
    if np.any(undefined):  # expected RTV <= 0: RA predicts complete regression; score undefined
        for k in ("score", "synergy_score", "stderr", "ci_low", "ci_high", "t", "p_value", "p_synergy",
                  "expected_rate", "ci_index", "ci_index_low", "ci_index_high"):
            out["ra"][k] = np.where(undefined, np.nan, out["ra"][k])
    out["ra"]["ra_floored"] = undefined
    # highest-order interaction (three or more agents with every sub-combination present)
    if combo.get("subsets") is not None and n >= 3:
        c = np.zeros(K)
        G = len(combo["agents"])
        for hset, idx in combo["subsets"].items():
            c[idx] -= (-1.0) ** (G - len(hset))
        score = beta @ c
        sd = np.sqrt(var @ (c * c))
        nan = np.full(score.shape, np.nan)
        res = finish(score, sd, rg + score, e_obs + score, nan, nan, nan)
        res["ci_index"] = res["ci_index_low"] = res["ci_index_high"] = nan
        out["bliss_interaction"] = res
    return out


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class InVivoSynergy(ResultIO):
    """In-vivo combination analysis on growth rates, with a time course and bootstrap alternatives.

    Attributes
    ----------
    scores : pandas.DataFrame
        Final analysis (data up to ``day``): one row per combination arm and reference model:
        ``combination, reference, day, score, synergy_score`` (= ``score``, > 0 means synergy:
        the package-wide column), ``stderr, ci_low, ci_high, df, t, p_value,
        p_synergy, expected_rate, observed_rate, ci_index, ci_index_low, ci_index_high,
        unit, sign, ra_floored, reason`` (``reason`` says why a score is NaN, e.g. response
        additivity predicting an expected relative volume <= 0 at late days).
    over_time : pandas.DataFrame
        Same columns for every cut-off day, plus ``p_adjusted`` (across days, per
        combination and reference, method ``adjust``).
    rates : pandas.DataFrame
        Arm growth rates per cut-off day (``day, arm, rate, stderr, n_animals``).
    bootstrap : pandas.DataFrame
        Bootstrap alternatives (empty unless ``n_boot > 0``): ``metric`` (``"tc_rtv"``: T/C of
        mean relative tumour volume; ``"tc_auc"``: T/C of the mean AUC of relative volume),
        ``combination, reference, day, observed_tc, expected_tc, score, synergy_score, ci_low,
        ci_high, p_value, n_boot, reason``; score = synergy_score = expected T/C - observed T/C
        (positive = synergy).  The
        response-additivity expectation ``sum T/C_single - (n - 1)`` is bounded at 0: when the
        point estimate is <= 0 the score, interval and p-value are NaN with the reason; resamples
        below 0 are set to 0 and counted in ``reason``.
    design : dict
        ``{arm: agents}``.
    sign : str
        The sign convention.
    dropout, below_lloq, adjust, backend, method : str
        How dropout, undetectable tumours and multiplicity were handled.
    seed : int or None
        Entropy of the bootstrap alternatives (``seed=result.seed`` reproduces them); None
        without bootstrap.  Sidedness of the p-values: :data:`P_SIDEDNESS` (in ``summary()``).
    """

    scores: pd.DataFrame
    over_time: pd.DataFrame
    rates: pd.DataFrame
    bootstrap: pd.DataFrame
    design: dict
    control: str
    sign: str
    dropout: str
    below_lloq: str
    adjust: str
    backend: str
    method: str
    units: dict
    ci_level: float = 0.95
    data: GrowthData | None = field(default=None, repr=False)
    seed: int | None = None

    def summary(self) -> str:
        """Plain-text summary."""
        cols = ["combination", "reference", "day", "synergy_score", "ci_low", "ci_high", "p_value", "ci_index"]
        cols = [c if c in self.scores.columns else "score" for c in cols]     # files written before synergy_score
        lines = [
            f"In-vivo synergy on growth rates (mixed model, {self.method.upper()}, backend={self.backend}); "
            f"control arm: {self.control!r}",
            sign_sentence(SCORE_DEFINITION, RAW_SIGN),
            f"Reading: {self.sign}.",
            f"Scores in {self.units['rate']}; response = growth-rate reduction (inhibition).",
            f"Dropout: {self.dropout}",
            f"Undetectable sizes: {self.below_lloq}",
            f"p-values: {P_SIDEDNESS}" + (f"; bootstrap seed {self.seed}" if self.seed is not None else "") + ".",
            "",
            self.scores[cols].to_string(index=False),
            "",
            f"Over time (p adjusted across days: {self.adjust}):",
            self.over_time[cols[:4] + ["p_value", "p_adjusted"]].to_string(index=False),
        ]
        if "reason" in self.over_time:
            notes = self.over_time[self.over_time["reason"] != ""]
            if len(notes):
                lines += ["", "Undefined scores:"]
                for (cb, ref, why), g in notes.groupby(["combination", "reference", "reason"], sort=False):
                    lines.append(f"  {cb} / {ref}, day(s) {', '.join(f'{d:g}' for d in g['day'])}: {why}")
        if len(self.bootstrap):
            lines += ["", "Bootstrap alternatives (score = expected T/C - observed T/C):",
                      self.bootstrap.to_string(index=False)]
        return "\n".join(lines)

    def to_xarray(self):
        """Scores over time as an xarray Dataset with dims (combination, reference, time); ``time``
        is the cut-off day (column ``day`` of the tables), ``synergy_score`` (> 0 synergy) = ``score``."""
        ot = self.over_time.rename(columns={"day": "time"}).set_index(["combination", "reference", "time"])
        num = [c for c in ("score", "synergy_score", "stderr", "ci_low", "ci_high", "p_value", "p_adjusted",
                           "ci_index") if c in ot.columns]
        ds = ot[num].to_xarray()
        set_units(ds, {v: self.units["rate"] for v in ("score", "synergy_score", "stderr", "ci_low", "ci_high")
                       if v in ds}, default="1")
        ds["time"].attrs["units"] = str(self.units.get("time", ""))
        ds.attrs.update({"sign": self.sign, "sign_convention": sign_sentence(SCORE_DEFINITION, RAW_SIGN),
                         "units": str(self.units), "dropout": self.dropout,
                         "adjust": self.adjust, "sidedness": P_SIDEDNESS,
                         "seed": "none" if self.seed is None else int(self.seed)})
        return ds

    def plot(self, ax=None, reference: str = "bliss", *, kind: str = "over_time", **kwargs):
        """Synergy score over time with its confidence band (``kind="over_time"``, the only kind);
        returns the Axes."""
        from ..plot.growth import plot_synergy_over_time

        check_kind(kind, ("over_time",), "InVivoSynergy")
        return plot_synergy_over_time(self, ax=ax, reference=reference, **kwargs)


# --------------------------------------------------------------------------- bootstrap
BOOT_COLUMNS = ["metric", "combination", "reference", "day", "observed_tc", "expected_tc", "score", "synergy_score",
                "ci_low", "ci_high", "p_value", "n_boot", "reason"]


def _bootstrap(gd: GrowthData, combos, n_boot, rng, ci_level, day):
    rel = gd.relative_size()
    S = gd.n_subjects
    sel = gd.time <= day + 1e-12
    # per animal: relative volume at `day` and AUC of relative volume from baseline to `day`
    at_day = np.full(S, np.nan)
    m = np.isclose(gd.time, day)
    at_day[gd.subject_idx[m]] = rel[m]
    auc = np.zeros(S)
    tt, rr, ss = gd.time[sel], rel[sel], gd.subject_idx[sel]
    same = ss[1:] == ss[:-1]
    seg = 0.5 * (rr[1:] + rr[:-1]) * (tt[1:] - tt[:-1])
    np.add.at(auc, ss[1:][same], seg[same])
    metrics = {"tc_rtv": at_day, "tc_auc": auc}
    alpha = 1 - ci_level
    rows = []
    arm_members = [gd.by_label(np.flatnonzero((gd.subject_arm == k) & np.isfinite(at_day))) for k in range(gd.n_arms)]
    boot_idx = [None] * gd.n_arms
    for k in gd.arms_by_label():   # draws in a canonical order of arms and animals
        mm = arm_members[k]
        boot_idx[k] = rng.integers(0, len(mm), size=(n_boot, len(mm))) if len(mm) else None
    for name, v in metrics.items():
        means = np.array([v[mm].mean() if len(mm) else np.nan for mm in arm_members])
        bmeans = np.stack([v[mm][bi].mean(axis=1) if len(mm) else np.full(n_boot, np.nan)
                           for mm, bi in zip(arm_members, boot_idx)], axis=-1)  # (B, K)
        for cb in combos:
            for ref in ("bliss", "hsa", "ra"):
                def score(mu):
                    tc = mu / mu[..., [cb["control"]]]
                    ts = tc[..., cb["singles"]]
                    if ref == "bliss":
                        e = np.prod(ts, axis=-1)
                    elif ref == "hsa":
                        e = np.min(ts, axis=-1)
                    else:
                        e = np.sum(ts, axis=-1) - (len(cb["singles"]) - 1)
                    return e, tc[..., cb["index"]]
                e_obs, tc_obs = score(means)
                eb, tb = score(bmeans)
                reason = ""
                if ref == "ra" and not e_obs > 0:
                    # RA predicts T/C <= 0 (complete regression or less than nothing): no score, say why
                    reason = (f"response additivity predicts T/C = {float(e_obs):.3g} <= 0 (sum of single-agent T/C - "
                              f"{len(cb['singles']) - 1}): a tumour size cannot be negative; score undefined")
                    rows.append((name, cb["arm"], ref, float(day), float(tc_obs), max(float(e_obs), 0.0), np.nan,
                                 np.nan, np.nan, np.nan, np.nan, int(n_boot), reason))
                    continue
                if ref == "ra":
                    n_neg = int(np.sum(eb <= 0))
                    eb = np.maximum(eb, 0.0)  # bounded: a size ratio is >= 0
                    if n_neg:
                        reason = (f"expected T/C bounded at 0 in {n_neg} of {eb.size} bootstrap resamples "
                                  "(response additivity predicted T/C < 0)")
                sc = eb - tb
                point = e_obs - tc_obs
                lo, hi = np.nanquantile(sc, [alpha / 2, 1 - alpha / 2])
                p = min(1.0, 2 * min(np.mean(sc <= 0), np.mean(sc >= 0)))
                rows.append((name, cb["arm"], ref, float(day), float(tc_obs), float(e_obs), float(point), float(point),
                             float(lo), float(hi), float(p), int(n_boot), reason))
    return pd.DataFrame(rows, columns=BOOT_COLUMNS)


# --------------------------------------------------------------------------- main entry
@validate_params({
    "n_boot": [Interval(Integral, 0, None)],
    "seed": ["seed"],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "definition": [StrOptions({"synergylmm", "invivosyn", "combpdx"})],
    "tool_options": [dict, None],
})
def invivo_synergy(
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
    adjust: str = "holm",
    dropout: str = "likelihood",
    below_lloq: str = "lloq",
    method: str = "reml",
    backend: str = "gls",
    n_boot: int = 0,
    seed=None,
    ci_level: float = 0.95,
    definition: str = "synergylmm",
    tool_options: Mapping | None = None,
    **validate_kwargs,
) -> InVivoSynergy:
    """Synergy of a combination in vivo from tumour growth rates, over time.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names (see :func:`validate_growth`).
    control : label, optional
        The control (vehicle) arm; agents are read from the other arm labels split on
        ``"+"`` unless ``design`` is given.
    design : mapping, optional
        ``{arm: [agents]}``, e.g. ``{"vehicle": [], "CM": ["CM"], "PTX": ["PTX"],
        "CM+PTX": ["CM", "PTX"]}``.  Three-agent designs (singles, optionally pairs, triple)
        are supported; every combination arm whose single agents are present is scored.
    references : sequence of {"bliss", "hsa", "ra", "bliss_interaction"}
        Reference models (``bliss_interaction`` = highest-order interaction contrast, for
        combinations of >= 3 agents with every sub-combination present; added automatically
        when available).
    days : "all", sequence of float or None
        Cut-off days of the time-resolved analysis (data up to each day are refitted);
        ``"all"``: every measurement time after baseline; ``None``: final analysis only.
    adjust : {"holm", "bonferroni", "fdr_bh", "none"}
        Multiple-testing adjustment across days (per combination and reference).
    dropout : {"likelihood", "last-common-day"}
        Dropout handling (stated in the result): all observed data in the mixed model
        (missing at random), or truncation at the last day with every animal present.
    below_lloq : {"lloq", "half-lloq", "drop"}
        Treatment of undetectable sizes.
    method : {"reml", "ml"}
        Variance-component estimation.
    backend : {"gls", "statsmodels"}
        Closed-form vectorised REML (default, fast) or statsmodels MixedLM per day (slow
        reference; same estimates).
    n_boot : int
        Bootstrap resamples (animals within arms) for the T/C-of-RTV and T/C-of-AUC
        alternatives at the last common day; 0 skips them.
    seed : int or numpy.random.Generator, optional
        Seed of the bootstrap (the entropy used is recorded in ``result.seed``).
    ci_level : float
        Confidence level.
    definition : {"synergylmm", "invivosyn", "combpdx"}
        Whose synergy definition: growth rates of the mixed model (SynergyLMM; default, this
        function), invivoSyn's normalised-AUC survival or CombPDX's log index of mean RTV with its
        global index (:mod:`comboplan.growth.synergy_tools`; they return a ``ToolSynergy`` and use
        ``references`` among bliss/hsa/ra, ``days``, ``dropout``, ``below_lloq``, ``n_boot``
        (>= 1 for invivoSyn), ``seed``, ``ci_level``; ``method``, ``backend`` and ``adjust`` apply
        to "synergylmm" only).
    tool_options : dict, optional
        Further options of :func:`~comboplan.growth.synergy_tools.invivosyn_synergy`
        (``horizon``, ``log_offset``) for ``definition="invivosyn"``.
    **validate_kwargs
        Passed to :func:`validate_growth` (``kind``, ``lloq``, ``dropout_column``...).

    Returns
    -------
    InVivoSynergy
        (``ToolSynergy`` for ``definition="invivosyn"`` or ``"combpdx"``).
    """
    if definition != "synergylmm":
        from .synergy_tools import hook_options, tool_synergy

        opts = hook_options(definition, tool_options, method=method, backend=backend, adjust=adjust, n_boot=n_boot)
        return tool_synergy(data, subject, arm, time, size, definition=definition, control=control, design=design,
                            references=references, days=days, dropout=dropout, below_lloq=below_lloq, seed=seed,
                            ci_level=ci_level, **opts, **validate_kwargs)
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    arms = list(gd.arms)
    dz = parse_design(arms, design, control)
    ctrl = [a for a, v in dz.items() if not v][0]
    combos = _combo_specs(dz, arms)
    if not combos:
        raise DataError(
            "no combination arm can be scored: each combination arm needs the control and every one of its "
            f"single agents as arms. Design read: { {a: sorted(v) for a, v in dz.items()} }."
        )
    for r in references:
        if r not in REFERENCES:
            raise DataError(f"unknown reference {r!r}; choose from {REFERENCES}.")
    gd_used, drop_txt = _dropout_cut(gd, dropout)
    d = padded_design(gd_used, below_lloq)
    t, y, mask, armi, abs_t = d["t"], d["logrel"], d["mask"], d["arm"], d["abs_t"]
    t_base = float(np.min(gd_used.baseline_time()))
    final_day = float(np.nanmax(np.where(mask, abs_t, np.nan)))
    if days is None:
        cut = np.array([final_day])
    elif isinstance(days, str):
        if days != "all":
            raise DataError(f"days must be 'all', a list of days or None, got {days!r}.")
        cut = np.unique(abs_t[mask & (t > 0)])
    else:
        cut = np.asarray(sorted(float(x) for x in days))
    if cut.size == 0:
        raise DataError("no measurement after baseline: growth rates cannot be estimated.")
    mask_d = mask[None, :, :] & (abs_t[None, :, :] <= cut[:, None, None] + 1e-12)
    st = slope_stats(np.broadcast_to(t, mask_d.shape), np.broadcast_to(y, mask_d.shape), mask_d)
    K = gd.n_arms
    fit = random_slope_fit(st, armi, K, method=method)
    beta, se, df = fit.beta, fit.se, fit.df
    if backend == "statsmodels":
        from .api import _statsmodels_fit

        beta, se = beta.copy(), se.copy()
        for i in range(cut.size):
            g0 = float(fit.tau2[i] / fit.sigma2[i]) if fit.sigma2[i] > 0 else 0.0
            b, cov, *_ = _statsmodels_fit(t, y, mask_d[i], armi, K, method, start=(fit.beta[i], g0))
            beta[i], se[i] = b, np.sqrt(np.diag(cov))
    elif backend != "gls":
        raise DataError(f"backend must be 'gls' or 'statsmodels', got {backend!r}.")
    horizon = cut - t_base
    rows = []
    for cb in combos:
        res = rate_synergy_arrays(beta, se, df, cb, horizon, ci_level)
        for ref, vals in res.items():
            if ref not in references and ref != "bliss_interaction":
                continue
            frame = pd.DataFrame({k: np.asarray(v) for k, v in vals.items() if k != "ra_floored"})
            frame.insert(0, "day", cut)
            frame.insert(0, "reference", ref)
            frame.insert(0, "combination", cb["arm"])
            frame["df"] = df
            frame["n_animals"] = fit.n_animals.sum(-1).astype(int)
            floored = np.asarray(vals.get("ra_floored", np.zeros(cut.size, bool)))
            frame["ra_floored"] = floored
            frame["reason"] = np.where(
                floored, "response additivity predicts an expected relative tumour volume <= 0 at this day (sum of "
                "single-agent RTVs - (n-1) x control RTV, from the fitted rates): the RA rate and score are undefined",
                np.where(np.isfinite(frame["score"].to_numpy(float)), "", "not estimable (see the rates table)"))
            rows.append(frame)
    ot = pd.concat(rows, ignore_index=True)
    ot["unit"] = gd.units["rate"]
    ot["sign"] = "positive = synergy"
    ot["p_adjusted"] = np.nan
    for _, idx in ot.groupby(["combination", "reference"], sort=False).groups.items():
        ot.loc[idx, "p_adjusted"] = adjust_pvalues(ot.loc[idx, "p_value"].to_numpy(), adjust)
    # final analysis: last cut-off
    scores = ot[np.isclose(ot["day"], cut[-1])].drop(columns="p_adjusted").reset_index(drop=True)
    rates = pd.DataFrame({
        "day": np.repeat(cut, K), "arm": np.tile(gd.arms, cut.size), "rate": beta.ravel(), "stderr": se.ravel(),
        "n_animals": fit.n_animals.ravel().astype(int), "unit": gd.units["rate"],
    })
    if n_boot and n_boot > 0:
        from .synergy_tools import _entropy

        used_seed = _entropy(seed)   # the same stream as default_rng(seed) for an integer seed; recorded
        rng = np.random.default_rng(used_seed)
        day_b = gd.last_common_time()
        boot = _bootstrap(gd.until(day_b), combos, int(n_boot), rng, ci_level, day_b)
    else:
        boot = pd.DataFrame(columns=BOOT_COLUMNS)
    return InVivoSynergy(
        scores=scores, over_time=ot, rates=rates, bootstrap=boot, design={a: sorted(v) for a, v in dz.items()},
        control=ctrl, sign=SIGN_CONVENTION, dropout=drop_txt, below_lloq=_lloq_text(below_lloq, gd),
        adjust=adjust, backend=backend, method=method, units=gd.units, ci_level=ci_level, data=gd,
        seed=used_seed if n_boot and n_boot > 0 else None,
    )


def invivo_synergy_batch(
    sizes: np.ndarray,
    time: np.ndarray,
    subject_arm: np.ndarray,
    arms: Sequence,
    *,
    control=None,
    design: Mapping | None = None,
    days: Sequence[float] | str | None = "all",
    observed: np.ndarray | None = None,
    method: str = "reml",
    adjust: str = "holm",
    ci_level: float = 0.95,
) -> dict:
    """Growth-rate synergy for many simulated studies at once (the power-analysis path).

    Same model and definitions as :func:`invivo_synergy` (REML random-slope model,
    ``dropout="likelihood"``), without tables: every study in the batch shares the design.

    Parameters
    ----------
    sizes : ndarray, shape (n_studies, n_subjects, n_times)
        Tumour sizes (> 0, any unit) at the times of ``time``; NaN = not measured (dropout).
    time : ndarray, shape (n_times,)
        Measurement times (time unit); ``time[0]`` is the baseline of every animal.
    subject_arm : ndarray of int, shape (n_subjects,)
        Arm index of each animal (into ``arms``).
    arms : sequence
        Arm labels.
    control, design
        As in :func:`invivo_synergy`.
    days : "all", sequence or None
        Cut-off days (default every time after baseline; None: the last one).
    observed : ndarray of bool, optional
        Which sizes were measured (default: finite ``sizes``).
    method, adjust, ci_level
        As in :func:`invivo_synergy`.

    Returns
    -------
    dict
        ``days`` (n_days,), ``rates``/``rate_se`` (n_studies, n_days, n_arms), and for every
        combination arm ``scores[combination][reference]`` a dict of arrays
        (n_studies, n_days): ``score, synergy_score, stderr, ci_low, ci_high, p_value,
        p_adjusted, p_synergy, ci_index``.  Positive score = synergy (``synergy_score`` is
        ``score`` under the package-wide name).
    """
    sizes, time, obs = batch_arrays(sizes, time, observed)
    B, S, T = sizes.shape
    if not obs[:, :, 0].all():
        raise DataError("every animal needs its baseline size at time[0].")
    arms = list(arms)
    dz = parse_design(arms, design, control)
    combos = _combo_specs(dz, arms)
    if not combos:
        raise DataError("no combination arm can be scored with this design.")
    with np.errstate(divide="ignore", invalid="ignore"):
        logrel = np.log(sizes) - np.log(sizes[:, :, :1])
    tsb = time - time[0]
    if days is None:
        cut = time[-1:]
    elif isinstance(days, str):
        cut = time[1:]
    else:
        cut = np.asarray(sorted(float(x) for x in days))
    D = cut.size
    mask = obs[:, None, :, :] & (time[None, None, None, :] <= cut[None, :, None, None] + 1e-12)
    tt = np.broadcast_to(tsb, mask.shape)
    st = slope_stats(tt, np.broadcast_to(logrel[:, None], mask.shape), mask)
    fit = random_slope_fit(st, np.asarray(subject_arm), len(arms), method=method)
    out = {"days": cut, "rates": fit.beta, "rate_se": fit.se, "df": fit.df, "scores": {}}
    horizon = np.broadcast_to(cut - time[0], (B, D))
    for cb in combos:
        res = rate_synergy_arrays(fit.beta, fit.se, fit.df, cb, horizon, ci_level)
        out["scores"][cb["arm"]] = res
        for ref in res:
            res[ref]["p_adjusted"] = adjust_pvalues(res[ref]["p_value"], adjust, axis=-1) if D > 1 else res[ref]["p_value"]
    return out
