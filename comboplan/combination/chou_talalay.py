"""Chou-Talalay median-effect analysis of combinations: combination index (CI) and dose-reduction
index (DRI) from single-agent and mixture-ray median-effect fits (:func:`chou_talalay`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sst

from .._params import Interval, Real, StrOptions, renamed_params, validate_params
from .._sign import sign_sentence
from ..exceptions import DataError
from ..results import ResultIO
from .design import SIGN_CI, prepare
from .scoring import _block_name as _blk

__all__ = ["chou_talalay", "ChouTalalayResult", "CT_SCORE_DEFINITION"]

CT_SCORE_DEFINITION = "-log10(CI)"


# ====================================================================== Chou-Talalay
@dataclass(frozen=True)
class ChouTalalayResult(ResultIO):
    """Median-effect analysis (Chou-Talalay) of single agents and mixture rays.

    Attributes
    ----------
    params : pandas.DataFrame
        One row per agent and per mixture ray (constant dose ratio): ``entity``,
        ``kind`` ("agent" or "mixture"), ``ratio`` (dose proportions of the ray), ``m``,
        ``m_se``, ``Dm`` (dose unit; total dose for rays) with delta-method CI, ``r``
        (linear correlation of the median-effect plot), ``n`` points used.
    points : pandas.DataFrame
        CI and DRI at every observed combination cell (fa = mean fraction affected),
        with delta-method CIs (Lee & Kong 2009).  ``CI`` keeps Chou-Talalay's sign (< 1
        synergy); ``synergy_score = -log10(CI)`` (> 0 means synergy, the package-wide
        column) with ``synergy_score_ci_low``/``synergy_score_ci_high``.
    levels : pandas.DataFrame
        CI and DRI per ray at the requested fa levels, with CIs; ``synergy_score`` as in
        ``points``.
    isobologram : pandas.DataFrame
        Per ray and fa level: each agent's ``Dx`` (axis intercepts of the additive
        isobole) and the combination doses ``D`` producing that fa.
    settings : dict
    """

    params: pd.DataFrame
    points: pd.DataFrame
    levels: pd.DataFrame
    isobologram: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read CI and DRI."""
        return SIGN_CI + "; DRI > 1 = dose reduction possible"

    def summary(self) -> str:
        """Plain-text summary."""
        lines = [f"Chou-Talalay median-effect analysis ({'mutually exclusive' if self.settings['mutually_exclusive'] else 'mutually non-exclusive'}); {SIGN_CI}.",
                 sign_sentence(CT_SCORE_DEFINITION, "CI < 1 = synergy"),
                 self.params[[c for c in [*self.settings["by"], "entity", "m", "Dm", "Dm_ci_low", "Dm_ci_high", "r", "n",
                                          "status"] if c in self.params.columns]].to_string(index=False)]
        if len(self.levels):
            cols = ["ray", "fa", "CI", "CI_ci_low", "CI_ci_high", "synergy_score"]
            lines.append(self.levels[[c for c in cols if c in self.levels.columns]].to_string(index=False))
        return "\n".join(lines)

    def to_xarray(self):
        """CI (and ``synergy_score = -log10(CI)``) at fa levels as an :class:`xarray.Dataset` (dims ray, fa)."""
        cols = [c for c in ("CI", "CI_ci_low", "CI_ci_high", "synergy_score", "synergy_score_ci_low",
                            "synergy_score_ci_high") if c in self.levels.columns]
        ds = self.levels.set_index(["ray", "fa"])[cols].to_xarray()
        for v in ds.data_vars:
            ds[v].attrs["units"] = "1"
        ds.attrs["sign_convention"] = SIGN_CI
        ds.attrs["sign"] = sign_sentence(CT_SCORE_DEFINITION, "CI < 1 = synergy")
        return ds

    def plot(self, kind: str = "fa_ci", ax=None, **kwargs):
        """Plot ``kind`` = "fa_ci", "isobologram" or "median_effect"; returns the Axes."""
        from ..plot import synergy as ps

        fn = {"fa_ci": ps.ct_fa_ci, "isobologram": ps.ct_isobologram, "median_effect": ps.ct_median_effect}
        if kind not in fn:
            raise DataError(f"kind must be one of {sorted(fn)}; got {kind!r}.")
        return fn[kind](self, ax=ax, **kwargs)


@renamed_params(ci="ci_level")
@validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither")], "mutually_exclusive": ["boolean"],
                  "errors": [StrOptions({"warn", "raise"})]})
def chou_talalay(data, doses, response, *, by=None, response_kind="inhibition", scale="percent",
                 fa_levels=(0.5, 0.75, 0.9, 0.95), mutually_exclusive=True, ci_level=0.95, replicate=None,
                 dose_units=None, errors="warn") -> ChouTalalayResult:
    """Chou-Talalay median-effect analysis: Dm, m, r, CI at points and fa levels, DRI.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    doses : list of str
        One dose column per agent (2 or more agents).
    response : str
        Response column; converted to the fraction affected ``fa`` (inhibition / top).
        Points with fa <= 0 or fa >= 1 cannot enter the median-effect plot and are
        excluded (counted in ``params['n_excluded']``).
    by : str or list, optional
        Block columns (analysed independently).
    response_kind, scale : str
        As in :func:`synergy`.
    fa_levels : sequence of float
        Effect levels for CI/DRI (default 0.5, 0.75, 0.9, 0.95 as in CompuSyn).
    mutually_exclusive : bool
        CI form; ``False`` adds the interaction terms (Chou & Talalay 1984).
    ci_level : float
        Confidence level for the delta-method intervals.  (``ci=`` is a deprecated alias.)
    replicate : str, optional
        Replicate column (needed when cells repeat).  Replicates enter the
        median-effect regressions individually.
    dose_units : dict, optional
        Recorded units.
    errors : {"warn", "raise"}
        A block that cannot be analysed -- no combination cells (no mixture), or an
        agent with fewer than 2 dose levels with 0 < fa < 1 -- becomes one ``params``
        row per agent with NaN estimates, ``status="not_scored"`` and a ``message``
        naming the block and the cause, with a warning (``"warn"``, default); the other
        blocks are analysed as usual.  ``"raise"``: :class:`DataError` instead.

    Returns
    -------
    ChouTalalayResult
        ``params`` has ``status`` (``"ok"`` / ``"not_scored"``) and ``message``.

    Raises
    ------
    DataError
        Malformed input; with ``errors="raise"``, a block that cannot be analysed.

    Notes
    -----
    Screens with more than :data:`CT_BLOCK_CHUNK` (500) blocks are analysed in chunks of
    consecutive blocks: each chunk's rows become tables before the next chunk is read, so peak
    memory grows with the result (about 9 KB per 6x6 block), not with the per-row records
    (110 KB per block in one pass).  The tables equal those of one pass exactly (tested).
    """
    ci = ci_level
    if by is not None and isinstance(data, pd.DataFrame) and len(data) > CT_BLOCK_CHUNK:
        from .api import _block_chunks

        chunks = _block_chunks(data, by, CT_BLOCK_CHUNK)
        if len(chunks) > 1:
            return _ct_by_chunks(data, chunks, doses, response, by, response_kind, scale, fa_levels,
                                 mutually_exclusive, ci, replicate, dose_units, errors)
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    fa_levels = _check_fa_levels(fa_levels)
    per_block = _ct_blocks(design, fa_levels, mutually_exclusive, ci, dose_units, errors)
    return _ct_result(per_block, list(design.doses), list(design.by), response, response_kind, scale, fa_levels,
                      mutually_exclusive, ci, dose_units)


#: Screens with more blocks than this are analysed in chunks of this many consecutive blocks
#: (:func:`_ct_by_chunks`): each chunk's per-row records become tables before the next chunk,
#: so memory grows with the result only, and each block's analysis looks through its chunk's
#: rows, not the whole screen's.
CT_BLOCK_CHUNK = 500


def _ct_by_chunks(data, chunks, doses, response, by, response_kind, scale, fa_levels, mutually_exclusive, ci,
                  replicate, dose_units, errors) -> "ChouTalalayResult":
    """:func:`chou_talalay` chunk by chunk of blocks, merged into the tables of one call.

    Blocks are analysed independently, and the chunks hold consecutive blocks in the call's
    (sorted) block order, so the rows are those of one call in its order; each chunk's rows
    become tables at once, and the tables are concatenated with one call's columns and dtypes
    (:func:`_concat_records`).
    """
    fa_levels = _check_fa_levels(fa_levels)
    tables: dict = {"params": [], "points": [], "levels": [], "isobologram": []}
    skipped: list = []
    design_doses = design_by = None
    for rows in chunks:
        design = prepare(data.iloc[rows], doses, response, by=by, replicate=replicate, response_kind=response_kind,
                         scale=scale)
        design_doses, design_by = list(design.doses), list(design.by)
        per_block = _ct_blocks(design, fa_levels, mutually_exclusive, ci, dose_units, errors)
        del design
        for k, name in enumerate(tables, start=1):
            recs = [r for blk in per_block for r in blk[k]]
            if name == "params":
                skipped.extend(r["message"] for r in recs if r["status"] != "ok")
            tables[name].append(pd.DataFrame(recs))
            del recs
        del per_block
    out = {name: _concat_records(tables.pop(name)) for name in list(tables)}
    _warn_skipped(skipped)
    return ChouTalalayResult(**out, settings=_ct_settings(design_doses, design_by, response, response_kind, scale,
                                                          fa_levels, mutually_exclusive, ci, dose_units))


def _concat_records(frames: list) -> pd.DataFrame:
    """The frame that ``pandas.DataFrame(records)`` gives on the records of all ``frames``
    (each built from its own records), without holding the records: columns in order of first
    appearance, rows in order; a column whose pieces disagree in dtype (e.g. strings in one
    piece, absent or all-missing in another) is inferred again from its values, as the
    one-call constructor infers it."""
    cols = list(dict.fromkeys(c for f in frames for c in f.columns))
    pieces = [f for f in frames if len(f.columns)]
    if not pieces:
        return pd.DataFrame([])
    if len(pieces) == 1:
        out = pieces[0]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)     # (empty or all-NA pieces: reinferred below)
            out = pd.concat(pieces, ignore_index=True, sort=False)
    frames.clear()
    if list(out.columns) != cols:
        out = out.reindex(columns=cols)
    for c in cols:
        if out[c].dtype == object:
            out[c] = _reinfer(out[c])
    return out


def _reinfer(col: pd.Series) -> pd.Series:
    """``col`` (object dtype) with the dtype the records constructor infers for its values."""
    redone = pd.DataFrame({"v": col.to_numpy(dtype=object)}).infer_objects()["v"]
    redone.name = col.name
    return redone


def _check_fa_levels(fa_levels) -> np.ndarray:
    fa_levels = np.asarray(fa_levels, dtype=float)
    if np.any((fa_levels <= 0) | (fa_levels >= 1)):
        raise DataError(f"fa_levels must lie strictly between 0 and 1; got {fa_levels.tolist()}.")
    return fa_levels


def _ct_blocks(design, fa_levels, mutually_exclusive, ci, dose_units, errors) -> list:
    """The rows of every block of a prepared design: a list, in block order, of
    ``(block labels, params rows, points rows, levels rows, isobologram rows)`` (lists of dicts).
    Blocks are analysed independently (the distributed path relies on it)."""
    from ..models.combination import chou_talalay as ct

    obs = design.obs
    cells = design.cells
    doses = list(design.doses)
    N = len(doses)
    dmat = obs[doses].to_numpy()
    fa_all = obs["_effect"].to_numpy() / design.top
    role = cells["role"].to_numpy()[obs["_cell"].to_numpy()]
    out = []
    for b in range(len(design.blocks)):
        P, PT, LV, ISO = [], [], [], []
        bname = {c: design.blocks.iloc[b][c] for c in design.by}
        out.append((bname, P, PT, LV, ISO))
        inb = obs["_block"].to_numpy() == b
        # ---- agents
        curves, labels = [], []
        for k, a in enumerate(doses):
            sel = inb & (role == "mono") & (dmat[:, k] > 0)
            curves.append((dmat[sel, k], fa_all[sel]))
            labels.append((a, "agent", tuple(float(k2 == k) for k2 in range(N))))
        # ---- rays: combination observations grouped by dose proportions
        csel = inb & (role == "combo")
        if not csel.any():
            _ct_skip(P, bname, doses, errors, "chou_talalay needs combination cells (two or more agents with dose > 0)"
                     + _blk(design, b) + ": no mixture ray to analyse")
            continue
        tot = dmat[csel].sum(axis=1)
        prop = np.round(dmat[csel] / tot[:, None], 6)
        rays, rinv = np.unique(prop, axis=0, return_inverse=True)
        rinv = np.asarray(rinv).ravel()
        rays = np.array([(dmat[csel][rinv == j] / tot[rinv == j, None]).mean(axis=0) for j in range(len(rays))])
        for j, pr in enumerate(rays):
            s = rinv == j
            curves.append((tot[s], fa_all[csel][s]))
            labels.append((_ray_name(doses, pr), "mixture", tuple(pr)))
        L = max(len(c[0]) for c in curves)
        X = np.full((len(curves), L), np.nan)
        Y = np.full((len(curves), L), np.nan)
        for i, (x, y) in enumerate(curves):
            X[i, :len(x)] = x
            Y[i, :len(y)] = y
        fit = ct.median_effect_fit(X, Y, np.isfinite(X))
        nlev = [len(np.unique(x[(y > 0) & (y < 1)])) for x, y in curves]
        few = [k for k in range(N) if nlev[k] < 2]
        if few:
            k = few[0]
            x, y = curves[k]
            _ct_skip(P, bname, doses, errors,
                     f"agent {doses[k]!r}{_blk(design, b)} has {nlev[k]} dose level(s) with 0 < fa < 1 "
                     f"(doses tested alone: {sorted(set(np.round(x, 12).tolist()))}); the median-effect fit needs >= 2 "
                     "(>= 3 for confidence intervals). Add single-agent doses, or use synergy(methods=('bliss','hsa'))")
            continue
        vlogDm = ct.log10_dose_for_effect_var(0.5, fit["b0"], fit["b1"], fit["cov"])
        for i, (nm, kind, pr) in enumerate(labels):
            x, y = curves[i]
            se = np.sqrt(vlogDm[i])
            zq = sst.t.ppf(0.5 + ci / 2, fit["n"][i] - 2) if fit["n"][i] > 2 else np.nan
            P.append({**bname, "entity": nm, "kind": kind, "ratio": ":".join(f"{v:g}" for v in pr),
                      "m": fit["m"][i], "m_se": np.sqrt(fit["cov"][i, 1, 1]), "Dm": fit["Dm"][i],
                      "Dm_ci_low": fit["Dm"][i] * 10 ** (-zq * se), "Dm_ci_high": fit["Dm"][i] * 10 ** (zq * se),
                      "r": fit["r"][i], "n": int(fit["n"][i]), "n_excluded": int(len(x) - fit["n"][i]),
                      "dose_unit": "total dose of the mixture" if kind == "mixture" else
                      (dose_units or {}).get(nm, "dose unit of " + nm), "status": "ok", "message": ""})
        b0, b1, cov = fit["b0"][:N], fit["b1"][:N], fit["cov"][:N]
        # residual variance of the median-effect plot pooled over the single agents (Lee & Kong 2009,
        # section 3.1): the observed fa of a combination cell is itself a noisy response
        df_a = np.clip(fit["n"][:N] - 2, 0, None)
        df_pool = int(df_a.sum())
        s2_pool = (float(np.nansum(df_a * fit["sigma"][:N] ** 2)) / df_pool) if df_pool > 0 else np.nan
        tq_obs = sst.t.ppf(0.5 + ci / 2, df_pool) if df_pool > 0 else np.nan
        # ---- CI at observed combination cells (cell-mean fa)
        cb = cells[(cells["_block"] == b) & (cells["role"] == "combo")]
        fa_c = cb["mean"].to_numpy() / design.top
        D = cb[doses].to_numpy()
        n_c = cb["n"].to_numpy().astype(float)
        with np.errstate(all="ignore"):
            L10 = ct.log10_dose_for_effect(fa_c[:, None], b0, b1)
            V10 = ct.log10_dose_for_effect_var(fa_c[:, None], b0, b1, cov)
            t = np.where(D > 0, D / 10 ** L10, 0.0)
            CI = t.sum(axis=1) if mutually_exclusive else np.prod(1 + t, axis=1) - 1
            covt = np.einsum("ni,ij->nij", np.where(D > 0, V10, 0.0), np.eye(N))
            vCI = ct.combination_index_var(t, covt, mutually_exclusive)
            g = np.ones_like(t) if mutually_exclusive else np.prod(1 + t, axis=1, keepdims=True) / (1 + t)
            dlogCI_dy = -np.log(10) * (g * t / b1).sum(axis=1) / CI   # y = log10(fa/fu) of the cell mean
            v_resp = s2_pool / n_c
            seL = np.sqrt(vCI / CI**2 + dlogCI_dy**2 * v_resp)
        okfa = (fa_c > 0) & (fa_c < 1)
        for r_ in range(len(cb)):
            row = {**bname, **{d: D[r_, k] for k, d in enumerate(doses)}, "n": int(cb["n"].iloc[r_]),
                   "fa": fa_c[r_], "CI": CI[r_] if okfa[r_] else np.nan,
                   "CI_ci_low": CI[r_] * np.exp(-tq_obs * seL[r_]) if okfa[r_] else np.nan,
                   "CI_ci_high": CI[r_] * np.exp(tq_obs * seL[r_]) if okfa[r_] else np.nan,
                   "note": "" if okfa[r_] else "fa outside (0, 1): CI undefined"}
            _ct_score(row)
            for k, d in enumerate(doses):
                if D[r_, k] > 0 and okfa[r_]:
                    dri = 10 ** L10[r_, k] / D[r_, k]
                    se = np.log(10) * np.sqrt(V10[r_, k] + v_resp[r_] / b1[k] ** 2)
                    row.update({f"DRI_{d}": dri, f"DRI_{d}_ci_low": dri * np.exp(-tq_obs * se),
                                f"DRI_{d}_ci_high": dri * np.exp(tq_obs * se)})
            row["sign_convention"] = SIGN_CI
            PT.append(row)
        # ---- fa levels per ray
        for j, pr in enumerate(rays):
            i = N + j
            if nlev[i] < 2:
                continue
            with np.errstate(all="ignore"):
                Lm = ct.log10_dose_for_effect(fa_levels, fit["b0"][i], fit["b1"][i])
                Vm = ct.log10_dose_for_effect_var(fa_levels, fit["b0"][i], fit["b1"][i], fit["cov"][i])
                La = ct.log10_dose_for_effect(fa_levels[:, None], b0, b1)
                Va = ct.log10_dose_for_effect_var(fa_levels[:, None], b0, b1, cov)
                Dcomb = pr[None, :] * 10 ** Lm[:, None]
                t = np.where(pr[None, :] > 0, Dcomb / 10 ** La, 0.0)
                CIv = t.sum(axis=1) if mutually_exclusive else np.prod(1 + t, axis=1) - 1
                active = pr > 0
                covt = (np.einsum("ni,ij->nij", np.where(active, Va, 0.0), np.eye(N))
                        + Vm[:, None, None] * np.outer(active, active)[None])
                vCI = ct.combination_index_var(t, covt, mutually_exclusive)
                seL = np.sqrt(vCI) / CIv
            df_ray = int(np.clip(fit["n"][np.r_[np.flatnonzero(active), i]] - 2, 0, None).sum())
            tq = sst.t.ppf(0.5 + ci / 2, df_ray) if df_ray > 0 else np.nan
            for q, fa in enumerate(fa_levels):
                row = {**bname, "ray": _ray_name(doses, pr), "fa": fa, "CI": CIv[q],
                       "CI_ci_low": CIv[q] * np.exp(-tq * seL[q]), "CI_ci_high": CIv[q] * np.exp(tq * seL[q])}
                _ct_score(row)
                row["sign_convention"] = SIGN_CI
                for k, d in enumerate(doses):
                    if active[k]:
                        dri = 10 ** La[q, k] / Dcomb[q, k]
                        se = np.sqrt(Va[q, k] + Vm[q]) * np.log(10)
                        row.update({f"DRI_{d}": dri, f"DRI_{d}_ci_low": dri * np.exp(-tq * se),
                                    f"DRI_{d}_ci_high": dri * np.exp(tq * se)})
                LV.append(row)
                for k, d in enumerate(doses):
                    ISO.append({**bname, "ray": _ray_name(doses, pr), "fa": fa, "agent": d,
                                "Dx": 10 ** La[q, k], "D": Dcomb[q, k]})
    return out


def _ct_result(per_block, doses, by, response, response_kind, scale, fa_levels, mutually_exclusive, ci,
               dose_units) -> "ChouTalalayResult":
    """Assemble the result from the per-block rows of :func:`_ct_blocks` (in block order)."""
    P = [r for blk in per_block for r in blk[1]]
    PT = [r for blk in per_block for r in blk[2]]
    LV = [r for blk in per_block for r in blk[3]]
    ISO = [r for blk in per_block for r in blk[4]]
    _warn_skipped([r["message"] for r in P if r["status"] != "ok"])
    settings = _ct_settings(doses, by, response, response_kind, scale, fa_levels, mutually_exclusive, ci, dose_units)
    return ChouTalalayResult(params=pd.DataFrame(P), points=pd.DataFrame(PT), levels=pd.DataFrame(LV),
                             isobologram=pd.DataFrame(ISO), settings=settings)


def _warn_skipped(messages: list) -> None:
    """One warning for the params rows of blocks that could not be analysed (their messages)."""
    if messages:
        from ..exceptions import ComboplanWarning

        warnings.warn(f"chou_talalay: {len(set(messages))} block(s) could not be analysed "
                      f"(e.g. {messages[0]}); the other blocks are unaffected, see "
                      "result.params[['status', 'message']].", ComboplanWarning, stacklevel=3)


def _ct_settings(doses, by, response, response_kind, scale, fa_levels, mutually_exclusive, ci, dose_units) -> dict:
    return {"doses": doses, "by": list(by), "response": response, "response_kind": response_kind,
            "scale": scale, "fa_levels": fa_levels.tolist(), "mutually_exclusive": mutually_exclusive,
            "ci": ci, "ci_level": ci, "sign_convention": SIGN_CI, "dose_units": dict(dose_units or {}),
            "reference": "Chou & Talalay (1984) Adv Enzyme Regul 22:27; Chou (2006) Pharmacol Rev 58:621; "
                         "CIs: Lee & Kong (2009) Stat Biopharm Res 1:4"}




def _ct_score(row):
    """Add ``synergy_score = -log10(CI)`` (> 0 synergy) and its interval (from CI's) to a row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        row["synergy_score"] = -np.log10(row["CI"])
        row["synergy_score_ci_low"] = -np.log10(row["CI_ci_high"])
        row["synergy_score_ci_high"] = -np.log10(row["CI_ci_low"])


def _ct_skip(P, bname, doses, errors, message):
    """A block chou_talalay cannot analyse: raise, or one NaN ``params`` row per agent with the reason."""
    if errors == "raise":
        raise DataError(message + ".")
    for d in doses:
        P.append({**bname, "entity": d, "kind": "agent", "ratio": "", "m": np.nan, "m_se": np.nan, "Dm": np.nan,
                  "Dm_ci_low": np.nan, "Dm_ci_high": np.nan, "r": np.nan, "n": 0, "n_excluded": 0,
                  "dose_unit": "", "status": "not_scored", "message": message})


def _ray_name(doses, pr):
    act = [(d, p) for d, p in zip(doses, pr) if p > 0]
    mn = min(p for _, p in act)
    return "+".join(d for d, _ in act) + " (" + ":".join(f"{p / mn:.4g}" for _, p in act) + ")"
