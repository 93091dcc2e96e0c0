"""Public API for in-vitro combination analysis: synergy, chou_talalay, fit_musyc, equivalent_dose."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats as sst

from .._params import Integral, Interval, Real, StrOptions, invalid, renamed_params, validate_params
from .._sign import sign_sentence
from ..exceptions import ConvergenceWarning, DataError
from ..results import ResultIO
from .design import SIGN_CI, SIGN_EXCESS, Design, prepare
from .scoring import Layout, resample_obs, score_sets
from .scoring import _block_name as _blk
from .stats import as_rng, bh_fdr, boot_pvalue, dense_rank_within, percentile_ci

__all__ = ["synergy", "SynergyResult", "chou_talalay", "ChouTalalayResult", "fit_musyc", "MuSyCResult",
           "equivalent_dose"]

METHODS = ("bliss", "hsa", "loewe", "zip")
_MUSYC_STARTS = 3   # MuSyC starts refined by the engine after the RSS screen of 50 candidates
_MUSYC_FALLBACK_GTOL = 1e-4   # MINPACK-equivalent stop, used only when no start meets FIT_GTOL
_REFERENCES = {
    "bliss": "Bliss (1939) Ann Appl Biol 26:585",
    "hsa": "Berenbaum (1989) Pharmacol Rev 41:93",
    "loewe": "Loewe (1953) Arzneimittelforschung 3:285; solved from single-agent Hill fits",
    "zip": "Yadav et al. (2015) Comput Struct Biotechnol J 13:504 (SynergyFinder form)",
}
#: ZIP variants: which SynergyFinder each reproduces (see ``synergy(zip_version=...)``)
ZIP_VERSIONS = {
    "3": "ZIP as SynergyFinder >= 3.0 computes it (Ianevski et al. 2022 Nucleic Acids Res 50:W739; Zheng et al. "
         "2022 Genomics Proteomics Bioinformatics 20:587): slices fixed at the observed dose-0 response, free top",
    "2": "ZIP as SynergyFinder 1-2 computes it (Yadav et al. 2015 Comput Struct Biotechnol J 13:504; Ianevski et al. "
         "2017): slices fixed at the fitted single-agent effect at dose 0, top fixed at 100 % inhibition",
}
#: ``status`` values of the cells/blocks tables
STATUSES = ("ok", "partial", "not_scored", "no_interval")
#: what ``synergy_score`` is in each table (summary sentence, docs)
SYNERGY_SCORE_DEFINITION = ("observed - reference effect on the inhibition scale (the cells' score; a block's "
                            "mean over its combination cells)")
CT_SCORE_DEFINITION = "-log10(CI)"
MUSYC_SCORE_DEFINITION = ("log10(alpha12), log10(alpha21), log10(gamma12), log10(gamma21) and beta on their rows "
                          "of params (NaN on the other parameters)")
MUSYC_RAW_SIGN = "alpha, gamma > 1 and beta > 0 = synergy"


def _reference(method, zip_version, loewe_method="classic"):
    if method == "loewe":
        from .loewe_equivalence import LOEWE_REFERENCES

        return LOEWE_REFERENCES[loewe_method]
    return ZIP_VERSIONS[zip_version] if method == "zip" else _REFERENCES[method]


def _reference_model(method, zip_version, loewe_method="classic"):
    if method == "loewe":
        from .loewe_equivalence import loewe_reference_model

        return loewe_reference_model(loewe_method)
    return f"zip (SynergyFinder {'>= 3.0' if zip_version == '3' else '1-2'})" if method == "zip" else method


# ====================================================================== synergy
@dataclass(frozen=True)
class SynergyResult(ResultIO):
    """Excess-over-reference synergy scores of a combination experiment.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per combination cell and method: the ``by`` columns, the dose columns,
        ``method``, ``n`` (replicates), ``observed`` (mean effect, inhibition units),
        ``reference`` (expected effect), ``score`` (= observed - reference; positive =
        synergy), ``synergy_score`` (= ``score``: > 0 means synergy, the package-wide
        column), ``ci_low``/``ci_high``, ``p_value`` (H0: score = 0), ``q_value``
        (Benjamini-Hochberg across all cells of the method), ``inference``,
        ``sign_convention``; ``loewe_ci`` (Loewe interaction index at the observed
        effect, < 1 synergy) for Loewe rows; ``status`` (``"ok"``, ``"not_scored"``: NaN
        score, ``"no_interval"``: score without a defined interval) and ``message``
        (naming the block and the cause); ``reference_model`` (for ZIP, the SynergyFinder
        version reproduced).
    blocks : pandas.DataFrame
        One row per block and method: ``mean`` score over combination cells and
        ``synergy_score`` (= ``mean``, > 0 means synergy) with CI, p-value and BH q-value across blocks, ``max``/``min`` cell scores and
        ``most_synergistic_area`` (largest mean over 3x3 windows of the combination
        grid, two-agent full grids only, as SynergyFinder reports it); ``n_scored``
        (cells the mean is over), ``status`` (``"ok"``, ``"partial"``, ``"not_scored"``,
        ``"no_interval"``), ``message``, ``reference_model``.
    monotherapy : pandas.DataFrame
        Single-agent Hill fits used (``e0, einf, ec50, h`` on the inhibition scale, with
        bootstrap CIs), empty when none were needed.
    settings : dict
        Arguments, scale, units and the sign convention.
    """

    cells: pd.DataFrame
    blocks: pd.DataFrame
    monotherapy: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read the scores."""
        return SIGN_EXCESS

    def summary(self) -> str:
        """Plain-text summary of the block-level scores."""
        s = self.settings
        raw = "loewe_ci < 1 = synergy" if "loewe" in s["methods"] else None
        lines = [f"Synergy scores ({', '.join(s['methods'])}); response: {s['response']} "
                 f"({s['response_kind']}, {s['scale']}); {SIGN_EXCESS}.",
                 sign_sentence(SYNERGY_SCORE_DEFINITION, raw),
                 "Inference (per method, as in the cells table): " + "; ".join(
                     f"{m}: {v}" for m, v in self.cells.groupby("method", observed=True, sort=False)["inference"]
                     .first().items())]
        if "zip" in s["methods"]:
            lines.append("ZIP: " + s["references"]["zip"] + ".")
        if "loewe" in s["methods"] and s.get("loewe_method", "classic") != "classic":
            lines.append("Loewe: " + s["references"]["loewe"] + "; column beyond_single_max flags the cells above "
                         "an agent's maximal effect, where classic Loewe is undefined.")
        cols = [*s["by"], "method", "n_cells", "synergy_score", "ci_low", "ci_high", "p_value", "q_value",
                "most_synergistic_area", "status"]
        lines.append(self.blocks[[c for c in cols if c in self.blocks.columns]].to_string(index=False))
        if "status" in self.blocks.columns:
            bad = self.blocks[self.blocks["status"] != "ok"]
            for msg in list(dict.fromkeys(bad["message"].astype(str)))[:5]:
                lines.append(f"  note: {msg}")
        return "\n".join(lines)

    def to_xarray(self):
        """Scores as an :class:`xarray.Dataset` with one dimension per dose column.

        Variables ``<method>``, ``<method>_ci_low``, ``<method>_ci_high``,
        ``<method>_p_value``, ``<method>_q_value``; the ``by`` columns become extra
        dimensions.  Unobserved dose combinations are NaN (sparse designs).
        """
        import xarray as xr

        s = self.settings
        idx = [*s["by"], *s["doses"]]
        parts = []
        for m, g in self.cells.groupby("method", sort=False):
            t = g.set_index(idx)[["score", "ci_low", "ci_high", "p_value", "q_value"]]
            t.columns = [m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_p_value", f"{m}_q_value"]
            parts.append(t)
        ds = xr.Dataset.from_dataframe(pd.concat(parts, axis=1))
        score_unit = f"{'percentage points' if s['scale'] == 'percent' else 'fraction'} of inhibition"
        for v in ds.data_vars:
            ds[v].attrs["units"] = "1" if v.endswith(("_p_value", "_q_value")) else score_unit
        ds.attrs.update({"sign_convention": SIGN_EXCESS, "sign": sign_sentence(
                             f"<method> = {SYNERGY_SCORE_DEFINITION}"), "response": s["response"],
                         "response_kind": s["response_kind"], "scale": s["scale"],
                         "units": f"{'percentage points' if s['scale'] == 'percent' else 'fraction'} of inhibition",
                         "dose_units": str(s.get("dose_units") or {}),
                         "zip_version": str(s.get("zip_version", "")),
                         "zip_reference": str(s.get("references", {}).get("zip", "")),
                         "loewe_method": str(s.get("loewe_method", "classic"))})
        return ds

    def plot(self, method: str = "bliss", kind: str = "heatmap", block=0, ax=None, **kwargs):
        """Plot one method's scores.

        Parameters
        ----------
        method : str
            One of the computed methods.
        kind : {"heatmap", "surface", "isobologram", "fa_ci"}
            ``isobologram`` and ``fa_ci`` use the Loewe fits (requires 'loewe').
        block : int
            Block number (row of :attr:`blocks` per method) to plot.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot import synergy as ps

        fn = {"heatmap": ps.heatmap, "surface": ps.surface, "isobologram": ps.isobologram, "fa_ci": ps.fa_ci}
        if kind not in fn:
            raise DataError(f"kind must be one of {sorted(fn)}; got {kind!r}.")
        rows = self.blocks[self.blocks["method"] == method]
        if "n_scored" in rows.columns and 0 <= block < len(rows) and rows["n_scored"].iloc[block] == 0:
            raise DataError(f"nothing to plot for {method} in block {block}: {rows['message'].iloc[block]}.")
        return fn[kind](self, method=method, block=block, ax=ax, **kwargs)


@renamed_params(ci="ci_level")
@validate_params({
    "monotherapy": [StrOptions({"observed", "fitted"})],
    "baseline_correction": ["boolean"],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "n_boot": [Interval(Integral, 0, None)],
    "seed": ["seed"],
    "bootstrap": [StrOptions({"mean", "single"})],
    "inference": [StrOptions({"auto", "bootstrap", "delta"})],
    "errors": [StrOptions({"warn", "raise"})],
})
def synergy(data, doses, response, *, by=None, methods=("bliss", "hsa", "loewe", "zip"),
            response_kind="inhibition", monotherapy="observed", baseline_correction=False, ci_level=0.95,
            n_boot=1000, replicate=None, seed=None, scale="percent", bootstrap="mean",
            inference="auto", dose_units=None, zip_version="3", errors="warn",
            loewe_method="classic") -> SynergyResult:
    """Score a combination experiment with Bliss, HSA, Loewe and/or ZIP, with uncertainty.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well/observation (not modified).
    doses : list of str
        One dose column per agent (each in its own unit, >= 0; 0 = agent absent).
        Two or more agents; Bliss, HSA and Loewe accept any number, ZIP two.
    response : str
        Response column (inhibition or viability, percent or fraction: see
        ``response_kind`` and ``scale``).
    by : str or list of str, optional
        Columns identifying independent blocks (cell line, pair of drugs, plate...).
    methods : sequence of {"bliss", "hsa", "loewe", "zip"}
        Reference models.  Loewe and ZIP need single-agent Hill fits (>= 4 dose levels
        per agent including 0); ZIP needs a complete two-agent dose matrix.
    response_kind : {"inhibition", "viability"}
        Direction of the response.  Viability is converted to inhibition
        (``top - viability``) so every score reads "positive = synergy".
    monotherapy : {"observed", "fitted"}
        Bliss/HSA references from the observed single-agent cells at the same doses
        (SynergyFinder) or from single-agent Hill fits.
    baseline_correction : bool
        SynergyFinder's baseline correction: ``y - (top - y)/top * baseline`` with
        ``baseline`` the smallest single-agent effect of the block (fitted when Hill
        fits are available, else observed).
    ci_level : float
        Confidence level of the intervals (0-1).  (``ci=`` is a deprecated alias.)
    n_boot : int
        Bootstrap replicates (replicates resampled within cells; single-agent, Loewe
        and ZIP fits are refitted on every replicate, batched).  0 disables.
    replicate : str, optional
        Column identifying replicates.  Required when a cell (block + doses) appears
        more than once; replicates are never averaged before fitting.
    seed : int or numpy.random.Generator, optional
        Random seed of the bootstrap.
    scale : {"percent", "fraction"}
        Response scale (top = 100 or 1).  Values outside the package-wide plausible
        range :data:`comboplan.data.validate.SCALE_BOUNDS` (-1.5..3 x top, i.e. -150 to
        300 %) raise (raw signal or the wrong scale); viability above 100 % -- real
        screens contain 187 % -- is accepted, as SynergyFinder does.
    bootstrap : {"mean", "single"}
        ``"mean"``: resample n replicates with replacement per cell (bootstrap of the
        cell mean); ``"single"``: one replicate per cell per draw (SynergyFinder).
    inference : {"auto", "delta", "bootstrap"}
        ``"delta"``: for Bliss/HSA with observed monotherapy, Welch-Satterthwaite t
        intervals and p-values from the delta method on cell means and SDs, per cell and
        for block means (whose variance includes the monotherapy cells that all
        combination cells of a row/column share); other methods use the bootstrap.
        ``"bootstrap"``: the replicate bootstrap for every score.  ``"auto"`` (default)
        is ``"delta"``: with 2-4 replicates per cell a bootstrap of the cell mean cannot
        reproduce the heavy tails of the t distribution and its per-cell tests reject a
        true null about 12 % of the time at a nominal 5 %, whereas the delta/Welch tests
        hold their level (``tests/test_combination_calibration.py``).
    dose_units : dict, optional
        ``{dose column: unit}`` recorded in outputs.
    zip_version : {"3", "2"}
        Which SynergyFinder ZIP the ``"zip"`` scores reproduce.  ``"3"`` (default):
        SynergyFinder >= 3.0 (R package and web application since 2021): each row/column
        slice is a log-logistic curve whose value at dose 0 is fixed at the *observed*
        response of the held agent alone at that dose, with top, potency and slope
        free (>= 3 non-zero doses per slice).  ``"2"``: SynergyFinder 1-2 (Yadav et al.
        2015): the value at dose 0 is the held agent's *fitted* single-agent effect and
        the top is fixed at 100 % inhibition.  The default follows the SynergyFinder
        that users compare with today; its free top also lets partial agents (which
        never reach 100 %) score 0 on a Bliss-additive surface, where version 2's fixed
        top biases them.  Both use the same reference (Bliss independence of the fitted
        single-agent curves) and the block score is the mean over the combination cells.
    errors : {"warn", "raise"}
        What a block (or cell) that a method cannot score does.  ``"warn"`` (default):
        it becomes rows with NaN scores, ``status="not_scored"`` and a ``message``
        naming the block and the cause (missing monotherapy, too few single-agent dose
        levels, incomplete ZIP grid, failed or flat single-agent fit, no combination
        cells), a :class:`~comboplan.exceptions.ComboplanWarning` summarises them, and
        every other block and method is scored as usual.  ``"raise"``: the first such
        problem raises :class:`DataError`.
    loewe_method : {"classic", "dose_equivalence"}
        How the ``"loewe"`` reference is computed.  ``"classic"`` (default): solve
        ``sum_i d_i / D_i(E) = 1``; an agent contributes nothing to effects beyond its
        own maximal effect (the equation is undefined there).  ``"dose_equivalence"``:
        Grabovsky & Tallarida (2004, J Pharmacol Exp Ther 310:981): every other agent's
        dose is converted to the equally effective dose of the agent with the largest
        maximal effect and the additive effect is that agent's curve at the summed dose,
        defined for partial agonists at every dose.  It equals classic Loewe when the
        agents share maximum, baseline and Hill slope.  The cells table then has
        ``loewe_reference_agent`` (the dose column whose units the doses are converted
        to) and ``beyond_single_max`` (True where the additive effect is at or above the
        maximal effect of an agent in the cell: the cells where classic Loewe is
        undefined).  Scores stay ``observed - reference`` on the inhibition scale
        (viability converted), positive = synergy; ``loewe_ci`` is the dose-equivalence
        interaction index (< 1 synergy).

    Returns
    -------
    SynergyResult
        ``cells`` and ``blocks`` carry ``status`` (``"ok"``, ``"not_scored"``,
        ``"no_interval"``; blocks also ``"partial"``) and ``message``.  A score whose
        uncertainty is undefined -- its bootstrap resamples or delta-method standard
        error do not vary, e.g. identical replicates -- has NaN ``ci_low``/``ci_high``/
        ``p_value`` and ``status="no_interval"``, never a zero-width interval.

    Raises
    ------
    InvalidParameterError
        An option outside its allowed values (``ci_level=95``, ``n_boot=-1``, ``errors="ignore"``).
    DataError
        Malformed input, duplicated cells without ``replicate``, responses outside the
        declared scale; with ``errors="raise"``, any block or cell a method cannot score
        (the message names the block and what is missing).
    """
    ci = ci_level
    methods = tuple(dict.fromkeys(m.lower() for m in ([methods] if isinstance(methods, str) else methods)))
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise DataError(f"unknown synergy method(s) {bad!r}; choose from {METHODS}. "
                        "(Chou-Talalay CI and MuSyC have their own functions: chou_talalay, fit_musyc.)")
    if inference == "auto":
        inference = "delta"
    zip_version = str(zip_version)
    if zip_version not in ZIP_VERSIONS:
        raise DataError(f"zip_version must be '3' (SynergyFinder >= 3.0) or '2' (SynergyFinder 1-2); "
                        f"got {zip_version!r}.")
    from .loewe_equivalence import LOEWE_METHODS

    if loewe_method not in LOEWE_METHODS:
        raise DataError(f"loewe_method must be one of {tuple(LOEWE_METHODS)}; got {loewe_method!r}.")
    n_boot = int(n_boot)
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    top = design.top
    layout = Layout(design, methods, monotherapy, zip_version=zip_version, loewe_method=loewe_method)
    y0 = design.obs["_effect"].to_numpy()[None, :]
    if baseline_correction:
        y0 = _baseline_correct(design, layout, y0, top)
        design = _with_effect(design, y0[0])
    point = score_sets(layout, y0, methods, monotherapy, top)
    has_reps = bool((design.cells["n"].to_numpy() > 1).any())
    # (seeding from OS entropy costs ~30 us: only when a bootstrap will run or a seed is given)
    rng = as_rng(seed) if (n_boot > 0 and has_reps) or seed is not None else None
    boot = None
    if n_boot > 0 and has_reps:
        parts = []
        per = max(1, int(4e6 // max(len(design.obs), 1)))
        for s in range(0, n_boot, per):
            ys = resample_obs(design, min(per, n_boot - s), rng, mode=bootstrap)
            parts.append(score_sets(layout, ys, methods, monotherapy, top))
        boot = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "zip_slices_failed"}
    _explain_unscored(design, layout, methods, point)
    _check_errors(design, layout, methods, errors)
    cells_tab, note = _cell_table(design, layout, methods, point, boot, ci, inference, n_boot, has_reps, bootstrap)
    blocks_tab = _block_table(design, layout, methods, point, boot, ci, inference, has_reps)
    mono_tab = _mono_table(design, layout, point, boot, ci)
    if "mono_converged" in point:
        nconv = int((~point["mono_converged"][0] & ~layout.bad_curve).sum())
        if nconv:
            warnings.warn(f"{nconv} single-agent Hill fit(s) did not converge; see result.monotherapy['converged'].",
                          ConvergenceWarning, stacklevel=2)
    _warn_unscored(blocks_tab, methods)
    settings = {"methods": methods, "doses": list(design.doses), "by": list(design.by), "response": response,
                "response_kind": response_kind, "scale": scale, "top": top, "monotherapy": monotherapy,
                "baseline_correction": baseline_correction, "ci": ci, "ci_level": ci, "n_boot": n_boot, "bootstrap": bootstrap,
                "inference": inference, "inference_note": note, "replicate": replicate, "seed": seed,
                "sign_convention": SIGN_EXCESS, "dose_units": dict(dose_units or {}),
                "zip_version": zip_version, "errors": errors, "loewe_method": loewe_method,
                "references": {m: _reference(m, zip_version, loewe_method) for m in methods}}
    return SynergyResult(cells=cells_tab, blocks=blocks_tab, monotherapy=mono_tab, settings=settings)


def _with_effect(design: Design, eff) -> Design:
    from dataclasses import replace

    obs = design.obs.copy()
    obs["_effect"] = eff
    cells = design.cells.copy()
    g = obs.groupby("_cell", sort=True)["_effect"]
    cells["mean"] = g.mean().to_numpy()
    cells["sd"] = g.std(ddof=1).to_numpy()
    return replace(design, obs=obs, cells=cells)


def _baseline_correct(design, layout, y0, top):
    blocks = design.obs["_block"].to_numpy()
    if layout.curves is not None:
        from .scoring import _fit_mono
        from .fits import hill_predict

        params, _, _ = _fit_mono(layout, y0)
        fitted = hill_predict(params[0][:, None, :], layout.curve_x)   # (n_curves, L)
        fitted = np.where(layout.curve_mask, fitted, np.inf)
        per_curve = fitted.min(axis=1)
        N = len(design.doses)
        base = per_curve.reshape(-1, N).min(axis=1)
    else:
        c = design.cells
        mono = c[c["role"] == "mono"]
        base = mono.groupby("_block")["mean"].min().reindex(range(len(design.blocks))).fillna(0.0).to_numpy()
    b = base[blocks]
    return y0 - (top - y0) / top * b[None, :]


def _delta_gradients(design, layout, method, top):
    """Cell variances, replicate counts and d(score)/d(monotherapy mean) for Bliss/HSA.

    Returns ``var`` and ``n`` per cell (variance of the cell mean, s^2/n), the
    monotherapy cell index per combination cell and agent (``idx``), a mask of the
    agents present, and ``g`` = dE/d(mono mean) (the score is obs - E, so its
    gradient with respect to a monotherapy mean is -g).
    """
    c = design.cells
    mean = c["mean"].to_numpy()
    var = (c["sd"].to_numpy() ** 2) / c["n"].to_numpy()
    n = c["n"].to_numpy().astype(float)
    idx = layout.mono_idx
    present = layout.combo_doses > 0
    e = np.where(present, mean[np.maximum(idx, 0)], 0.0)
    if method == "bliss":
        one = 1.0 - e / top
        prod = np.prod(one, axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(present, prod / one, 0.0)
    else:
        g = np.zeros_like(e)
        g[np.arange(len(e)), np.argmax(np.where(present, e, -np.inf), axis=1)] = 1.0
    return var, n, idx, present, g


def _delta_block(design, layout, method, top, scored):
    """Delta-method SE and Welch-Satterthwaite df of each block's mean Bliss/HSA score.

    The block mean is (1/K) sum_c (obs_c - E_c(mono means)) over the K scored
    combination cells (``scored``); its gradient is 1/K for each of them and
    -(1/K) sum_c dE_c/dm for each monotherapy cell m, which is shared by every
    combination cell of its row/column -- ignoring that sharing understates the
    variance.  Cells are independent, so var = sum_j grad_j^2 var_j.
    """
    var, n, idx, present, g = _delta_gradients(design, layout, method, top)
    nb = len(design.blocks)
    blk = layout.combo_block
    K = np.bincount(blk, weights=scored.astype(float), minlength=nb)
    grad = np.zeros(len(var))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(scored, 1.0 / K[blk], 0.0)
    np.add.at(grad, layout.combo[scored], w[scored])
    rows, ks = np.nonzero(present & scored[:, None] & (idx >= 0))
    np.add.at(grad, idx[rows, ks], -w[rows] * g[rows, ks])
    cell_block = design.cells["_block"].to_numpy()
    comp = grad**2 * var
    vb = np.bincount(cell_block, weights=comp, minlength=nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.bincount(cell_block, weights=np.where(n > 1, comp**2 / (n - 1), 0.0), minlength=nb)
        dfree = vb**2 / den
    return np.sqrt(vb), dfree


def _delta_bliss_hsa(design, layout, method, top, ci):
    """Welch/delta-method inference for observed-monotherapy Bliss/HSA (per combo cell)."""
    var, n, idx, present, g = _delta_gradients(design, layout, method, top)
    v = np.where(present, var[np.maximum(idx, 0)], 0.0)
    nn = np.where(present, n[np.maximum(idx, 0)], np.inf)
    vc = var[layout.combo]
    comps_v = np.column_stack([vc, g * g * v])
    comps_n = np.column_stack([n[layout.combo], nn])
    tot = comps_v.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dfree = tot**2 / np.sum(np.where(comps_n > 1, comps_v**2 / (comps_n - 1), 0.0), axis=1)
    se = np.where(np.all(~present | (idx >= 0), axis=1), np.sqrt(tot), np.nan)
    return se, dfree


def _explain_unscored(design, layout, methods, point):
    """Give every combination cell whose point score is NaN a reason (``layout.code``).

    Structural problems were recorded by :class:`Layout`; what is left are scores the
    fits could not give: a single-agent fit that did not converge, a flat or
    unidentified single-agent curve (Loewe inverts it), a Loewe equation without a
    solution.
    """
    doses = list(design.doses)
    N = len(doses)
    for m in methods:
        bad = (~np.isfinite(point[m][0])) & (layout.code[m] == 0)
        if not bad.any():
            continue
        for b in np.unique(layout.combo_block[bad]):
            rows = np.flatnonzero(bad & (layout.combo_block == b))
            where = _blk(design, int(b))
            msg = None
            if "mono_converged" in point:
                conv = point["mono_converged"][0][b * N:(b + 1) * N]
                ident = point["mono_identifiable"][0][b * N:(b + 1) * N]
                if not conv.all():
                    k = int(np.flatnonzero(~conv)[0])
                    msg = (f"the single-agent Hill fit of {doses[k]!r}{where} did not converge (see "
                           "result.monotherapy), so the reference of this method is undefined")
                elif m == "loewe" and not ident.all():
                    k = int(np.flatnonzero(~ident)[0])
                    msg = (f"the single-agent Hill fit of {doses[k]!r}{where} shows no effect or leaves its potency "
                           "and slope undetermined (flat curve, or singular information matrix), so its dose-effect "
                           "curve cannot be inverted and the Loewe reference is undefined; Bliss/HSA/ZIP do not need "
                           "the inversion")
            if msg is None:
                if m == "loewe":
                    msg = (f"the Loewe equation has no solution at these doses{where}: the fitted single-agent "
                           "curves do not reach a common effect there")
                else:
                    msg = f"the {m} reference could not be computed at these doses{where} (a fit failed)"
            layout.mark((m,), rows, layout.reason(msg))


def _check_errors(design, layout, methods, errors):
    """With ``errors="raise"``, raise for the first cell a method cannot score."""
    for m in methods:
        c = layout.code[m]
        if not c.any():
            continue
        first = layout.reasons[int(c[np.flatnonzero(c)[0]])]
        if errors == "raise":
            n_blk = len(np.unique(layout.combo_block[c > 0]))
            raise DataError(f"{m}: {first}. ({n_blk} block(s) affected; pass errors='warn' to score the rest and "
                            "get these as rows with status 'not_scored'.)")


def _warn_unscored(blocks_tab, methods):
    bad = blocks_tab[blocks_tab["status"].isin(["not_scored", "partial"])]
    if not len(bad):
        return
    from ..exceptions import ComboplanWarning

    parts = []
    for m, g in bad.groupby("method", observed=True, sort=False):
        parts.append(f"{m}: {len(g)} block(s) not or partly scored (e.g. {g['message'].iloc[0]})")
    warnings.warn("synergy: " + "; ".join(parts) + ". The other blocks are unaffected; see result.blocks[['status', "
                  "'message']] and result.cells.", ComboplanWarning, stacklevel=3)


@lru_cache(maxsize=256)
def _cat_dtype(values: tuple) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(values))


def _const(value, n):
    """A constant text column of length ``n`` (categorical: no per-row string objects)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), dtype=_cat_dtype((value,)))


def _labels(values, codes):
    """A text column from category ``values`` and integer ``codes``."""
    return pd.Categorical.from_codes(np.asarray(codes), dtype=_cat_dtype(tuple(values)))


def _flat_interval(lo, hi, se, score):
    """Intervals that do not vary: zero width, zero or NaN SE with a finite score."""
    with np.errstate(invalid="ignore"):
        scale = 1e-12 * (1.0 + np.abs(score))
        return np.isfinite(score) & ((np.abs(hi - lo) <= scale) | (np.abs(se) <= scale))


def _no_interval_message(design, method, b):
    return (f"the {method} score{_blk(design, int(b))} does not vary between resamples (identical replicates, or "
            "fits that do not move): its interval and p-value are undefined, not zero-width")


def _cell_table(design, layout, methods, point, boot, ci, inference, n_boot, has_reps, mode):
    c = design.cells
    combo = layout.combo
    nc = len(combo)
    M = len(methods)
    if boot is None:
        note = ("none: every cell has a single observation, so no replicate-level uncertainty can be estimated"
                if not has_reps else "none (n_boot=0)")
    else:
        note = (f"bootstrap, {n_boot} resamples of replicates within cells "
                f"({'one replicate per cell per draw, as SynergyFinder' if mode == 'single' else 'cell means'}), "
                f"percentile {ci:.0%} intervals; fits refitted per resample")
    cols = {"method": _labels(methods, np.repeat(np.arange(M), nc))}
    blk = c["_block"].to_numpy()[combo]
    for col in design.by:
        cols[col] = np.tile(design.blocks[col].to_numpy()[blk], M)
    for d in design.doses:
        cols[d] = np.tile(c[d].to_numpy()[combo], M)
    cols["n"] = np.tile(c["n"].to_numpy()[combo], M)
    parts = {k: [] for k in ("observed", "reference", "score", "se", "ci_low", "ci_high", "p_value", "q_value",
                              "loewe_ci")}
    infs = []
    codes = []
    nan = np.full(nc, np.nan)
    for m in methods:
        code = layout.code[m]
        scored = code == 0
        score = np.where(scored, point[m][0], np.nan)
        se = lo = hi = pv = nan
        inf = note
        if inference == "delta" and m in ("bliss", "hsa") and "reference_bliss" in point and has_reps:
            se, dfree = _delta_bliss_hsa(design, layout, m, design.top, ci)
            tq = sst.t.ppf(0.5 + ci / 2, dfree)
            lo, hi = score - tq * se, score + tq * se
            with np.errstate(divide="ignore", invalid="ignore"):
                pv = 2 * sst.t.sf(np.abs(score / se), dfree)
            inf = f"delta method (Welch-Satterthwaite t, {ci:.0%}) on cell means and SDs"
        elif boot is not None:
            b = boot[m]
            lo, hi = percentile_ci(b, ci)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN columns: unscored cells
                se = np.nanstd(b, axis=0, ddof=1)
            pv = boot_pvalue(b)
        lo, hi, se, pv = (np.broadcast_to(v, (nc,)).astype(float) for v in (lo, hi, se, pv))
        code = code.copy()
        if boot is not None or inf != note:
            flat = _flat_interval(lo, hi, se, score) & scored
            if flat.any():
                for b in np.unique(blk[flat]):
                    code[flat & (blk == b)] = -layout.reason(_no_interval_message(design, m, b))
                lo, hi, se, pv = (np.where(flat, np.nan, v) for v in (lo, hi, se, pv))
        lo, hi, se, pv = (np.where(scored, v, np.nan) for v in (lo, hi, se, pv))
        parts["observed"].append(point["observed"][0])
        parts["reference"].append(np.where(scored, point[f"reference_{m}"][0], np.nan))
        parts["score"].append(score)
        parts["se"].append(se)
        parts["ci_low"].append(lo)
        parts["ci_high"].append(hi)
        parts["p_value"].append(pv)
        parts["q_value"].append(bh_fdr(pv))
        parts["loewe_ci"].append(np.where(scored, point["loewe_ci"][0], np.nan) if m == "loewe" else nan)
        infs.append(inf)
        codes.append(code)
    for k, v in parts.items():
        if k != "loewe_ci":
            cols[k] = np.concatenate(v)
        if k == "score":
            cols["synergy_score"] = cols["score"].copy()   # the package-wide column: > 0 means synergy
    uinf = list(dict.fromkeys(infs))
    cols["inference"] = _labels(uinf, np.repeat([uinf.index(i) for i in infs], nc))
    if "loewe" in methods:  # the historical column order: loewe_ci after inference
        cols["loewe_ci"] = np.concatenate(parts["loewe_ci"])
    code = np.concatenate(codes)
    cols["status"] = _labels(STATUSES, np.where(code > 0, 2, np.where(code < 0, 3, 0)))
    cols["message"] = _message_column(layout.reasons, np.abs(code))
    zv = getattr(layout, "zip_version", "3")
    lm = getattr(layout, "loewe_method", "classic")
    cols["reference_model"] = _labels([_reference_model(m, zv, lm) for m in methods], np.repeat(np.arange(M), nc))
    if "loewe" in methods and lm != "classic":
        _equivalence_columns(cols, design, methods, point, nc)
    cols["sign_convention"] = _const(SIGN_EXCESS, nc * M)
    cols["response_kind"] = _const(design.response_kind, nc * M)
    out = pd.DataFrame(cols, copy=False)
    layout.cell_codes = dict(zip(methods, codes))
    return out, note


def _equivalence_columns(cols, design, methods, point, nc):
    """Loewe-by-dose-equivalence flags of the cells table (empty for other methods' rows)."""
    names = list(design.doses)
    k = methods.index("loewe")
    M = len(methods)
    agent = np.full(nc * M, -1, dtype=np.int64)
    agent[k * nc:(k + 1) * nc] = point["loewe_reference_agent"][0]
    beyond = np.zeros(nc * M, dtype=bool)
    beyond[k * nc:(k + 1) * nc] = point["loewe_beyond_max"][0]
    cols["loewe_reference_agent"] = _labels(["", *names], agent + 1)
    cols["beyond_single_max"] = beyond


def _message_column(reasons, codes):
    """Categorical message column; ``reasons`` may hold duplicates of nothing but ''."""
    used = np.unique(codes)
    if len(used) == 1 and used[0] == 0:
        return _const("", len(codes))
    vals = [reasons[int(k)] for k in used]
    remap = np.zeros(int(used.max()) + 1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return pd.Categorical.from_codes(remap[codes], categories=vals)


def _windows_max(grid):
    """Max mean over complete 3x3 windows of the last two axes (NaN if none)."""
    S, R, C = grid.shape
    if R < 3 or C < 3:
        return np.full(S, np.nan)
    ok = np.isfinite(grid)

    def wsum(a):
        cs = np.zeros((S, R + 1, C + 1))
        np.cumsum(a, axis=1, out=cs[:, 1:, 1:])
        np.cumsum(cs, axis=2, out=cs)
        return cs[:, 3:, 3:] - cs[:, :-3, 3:] - cs[:, 3:, :-3] + cs[:, :-3, :-3]

    w = wsum(np.where(ok, grid, 0.0))
    n = wsum(ok.astype(float))
    w = np.where(n > 8.5, w / 9.0, -np.inf).reshape(S, -1).max(axis=1)
    return np.where(np.isfinite(w), w, np.nan)


def _areas(layout, sets, nb):
    """Most synergistic 3x3 area of every block and set, vectorised over blocks."""
    S = sets.shape[0]
    blk = layout.combo_block
    d = layout.combo_doses
    i1 = dense_rank_within(blk, d[:, 0], nb)
    i2 = dense_rank_within(blk, d[:, 1], nb)
    n1 = np.zeros(nb, int)
    n2 = np.zeros(nb, int)
    np.maximum.at(n1, blk, i1 + 1)
    np.maximum.at(n2, blk, i2 + 1)
    full = np.bincount(blk, minlength=nb) == n1 * n2
    R, C = max(n1.max(), 1), max(n2.max(), 1)
    if R < 3 or C < 3:
        return np.full((S, nb), np.nan)
    out = np.full((S, nb), np.nan)
    chunk = max(1, int(2e7 // (nb * R * C)))
    for s0 in range(0, S, chunk):
        s1 = min(S, s0 + chunk)
        g = np.full((s1 - s0, nb, R, C), np.nan)
        g[:, blk, i1, i2] = sets[s0:s1]
        w = _windows_max(g.reshape(-1, R, C)).reshape(s1 - s0, nb)
        out[s0:s1] = w
    ok = full & (n1 >= 3) & (n2 >= 3)
    return np.where(ok[None], out, np.nan)


def _first_code_per_block(code, blk, nb):
    """The first (in cell order) non-zero code of every block; 0 where none."""
    out = np.zeros(nb, dtype=np.int64)
    idx = np.flatnonzero(code != 0)[::-1]
    out[blk[idx]] = code[idx]          # repeated indices: the last assignment (= first cell) wins
    return out


def _block_table(design, layout, methods, point, boot, ci, inference="bootstrap", has_reps=False):
    rows = []
    nb = len(design.blocks)
    blk = layout.combo_block
    counts = np.bincount(blk, minlength=nb)
    two = len(design.doses) == 2
    empty_code = np.zeros(nb, dtype=np.int64)
    for b in np.flatnonzero(counts == 0):
        empty_code[b] = layout.reason(f"no combination cells (two or more agents with dose > 0){_blk(design, int(b))}: "
                                      "nothing to score in this block")
    cell_codes = getattr(layout, "cell_codes", None) or {m: layout.code[m] for m in methods}
    for m in methods:
        scored = layout.code[m] == 0
        n_sc = np.bincount(blk, weights=scored.astype(float), minlength=nb).astype(int)
        sets = point[m] if boot is None else np.concatenate([point[m], boot[m]])
        allsc = bool(scored.all())
        if not allsc:
            sets = np.where(scored[None, :], sets, np.nan)
        S = sets.shape[0]
        sums = np.zeros((S, nb))
        if allsc:
            np.add.at(sums.T, blk, sets.T)
        else:
            np.add.at(sums.T, blk[scored], sets[:, scored].T)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(n_sc > 0, sums / np.maximum(n_sc, 1), np.nan)
        area = np.full((S, nb), np.nan)
        if two:
            area = _areas(layout, sets, nb)
        mx = np.full(nb, -np.inf)
        mn = np.full(nb, np.inf)
        p0 = point[m][0] if allsc else point[m][0][scored]
        np.maximum.at(mx, blk if allsc else blk[scored], p0)
        np.minimum.at(mn, blk if allsc else blk[scored], p0)
        mx = np.where(n_sc > 0, mx, np.nan)
        mn = np.where(n_sc > 0, mn, np.nan)
        nan = np.full(nb, np.nan)
        r = {"_block": np.arange(nb), "n_cells": counts, "n_scored": n_sc, "mean": means[0], "max": mx, "min": mn,
             "most_synergistic_area": area[0], "ci_low": nan, "ci_high": nan, "p_value": nan,
             "area_ci_low": nan, "area_ci_high": nan}
        r["inference"] = "none"
        has_interval = False
        if boot is not None:
            lo, hi = percentile_ci(means[1:], ci)
            alo, ahi = percentile_ci(area[1:], ci)
            r.update(ci_low=lo, ci_high=hi, p_value=boot_pvalue(means[1:]),
                     area_ci_low=np.where(np.isfinite(area[0]), alo, np.nan),
                     area_ci_high=np.where(np.isfinite(area[0]), ahi, np.nan), inference="bootstrap percentile")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                se_b = np.nanstd(means[1:], axis=0)
            has_interval = True
        if inference == "delta" and m in ("bliss", "hsa") and "reference_bliss" in point and has_reps:
            se_b, dfree = _delta_block(design, layout, m, design.top, scored)
            tq = sst.t.ppf(0.5 + ci / 2, dfree)
            with np.errstate(divide="ignore", invalid="ignore"):
                pv = 2 * sst.t.sf(np.abs(means[0] / se_b), dfree)
            r.update(ci_low=means[0] - tq * se_b, ci_high=means[0] + tq * se_b, p_value=pv,
                     inference=f"delta method (Welch-Satterthwaite t, {ci:.0%}), shared monotherapy cells included")
            has_interval = True
        # status and message of every block
        code = _first_code_per_block(layout.code[m], blk, nb)
        status = np.where(n_sc == counts, 0, np.where(n_sc > 0, 1, 2))
        status = np.where(counts == 0, 2, status)
        code = np.where(counts == 0, empty_code, code)
        if has_interval:
            flat = _flat_interval(np.asarray(r["ci_low"], float), np.asarray(r["ci_high"], float),
                                  np.broadcast_to(se_b, (nb,)), means[0]) & (n_sc > 0)
            if flat.any():
                for b in np.flatnonzero(flat & (code == 0)):
                    code[b] = layout.reason(_no_interval_message(design, m, b))
                r.update({k: np.where(flat, np.nan, r[k]) for k in ("ci_low", "ci_high", "p_value")})
                status = np.where(flat & (status == 0), 3, status)
        r["status"], r["code"] = status, code
        r["q_value"] = bh_fdr(r["p_value"])
        rows.append(r)
    M = len(methods)
    cols = {}
    if design.by:
        bi = np.tile(np.arange(nb), M)
        for col in design.by:
            cols[col] = design.blocks[col].to_numpy()[bi]
    cols["method"] = _labels(methods, np.repeat(np.arange(M), nb))
    for k in ("n_cells", "n_scored", "mean", "max", "min", "most_synergistic_area", "ci_low", "ci_high", "p_value",
              "area_ci_low", "area_ci_high", "q_value"):
        cols[k] = np.concatenate([np.broadcast_to(r[k], (nb,)) for r in rows])
        if k == "mean":
            cols["synergy_score"] = cols["mean"].copy()    # the package-wide column: > 0 means synergy
    uinf = list(dict.fromkeys(r["inference"] for r in rows))
    cols["inference"] = _labels(uinf, np.repeat([uinf.index(r["inference"]) for r in rows], nb))
    cols["status"] = _labels(STATUSES, np.concatenate([r["status"] for r in rows]))
    cols["message"] = _message_column(layout.reasons, np.abs(np.concatenate([r["code"] for r in rows])))
    zv = getattr(layout, "zip_version", "3")
    lm = getattr(layout, "loewe_method", "classic")
    cols["reference_model"] = _labels([_reference_model(m, zv, lm) for m in methods], np.repeat(np.arange(M), nb))
    cols["sign_convention"] = _const(SIGN_EXCESS, nb * M)
    cols["response_kind"] = _const(design.response_kind, nb * M)
    return pd.DataFrame(cols, copy=False)


def _mono_table(design, layout, point, boot, ci):
    if "mono_params" not in point:
        return pd.DataFrame(columns=["agent", "param", "estimate", "ci_low", "ci_high", "converged", "status"])
    P = point["mono_params"][0]                       # (n_curves, 4)
    conv = point["mono_converged"][0]
    ident = point["mono_identifiable"][0]
    n = P.shape[0]
    N = len(design.doses)
    names = ("e0", "einf", "ec50", "h")
    blk = np.repeat(np.arange(n) // N, 4)
    agent = np.repeat(np.arange(n) % N, 4)
    par = np.tile(np.arange(4), n)
    if boot is not None:
        lo, hi = percentile_ci(boot["mono_params"].reshape(boot["mono_params"].shape[0], -1), ci)
    else:
        lo = hi = np.full(4 * n, np.nan)
    lo, hi = np.asarray(lo, float).reshape(-1), np.asarray(hi, float).reshape(-1)
    # curve status: too few dose levels / not converged / no effect or potency-slope not identified
    cst = np.where(layout.bad_curve, 3, np.where(~conv, 1, np.where(~ident, 2, 0)))
    st = np.repeat(cst, 4)
    est = P.reshape(-1)
    # an undetermined potency/slope has no interval; nor has any parameter whose resamples do not move
    with np.errstate(invalid="ignore"):
        undefined = ((st == 2) & (par >= 2)) | (np.abs(hi - lo) <= 1e-12 * (1 + np.abs(est)))
    lo, hi = np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)
    units = [f"dose unit of {d}" for d in design.doses] + ["1", "inhibition (response unit)"]
    ucode = np.where(par == 2, agent, np.where(par == 3, N, N + 1))
    cols = {}
    for c in design.by:
        cols[c] = design.blocks[c].to_numpy()[blk]
    cols.update({"agent": _labels(design.doses, agent), "param": _labels(names, par), "estimate": est,
                 "converged": np.repeat(conv, 4), "ci_low": lo, "ci_high": hi, "unit": _labels(units, ucode),
                 "status": _labels(("ok", "not_converged", "not_identifiable", "too_few_dose_levels"), st)})
    return pd.DataFrame(cols)


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
    """
    from ..models.combination import chou_talalay as ct

    ci = ci_level
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    fa_levels = np.asarray(fa_levels, dtype=float)
    if np.any((fa_levels <= 0) | (fa_levels >= 1)):
        raise DataError(f"fa_levels must lie strictly between 0 and 1; got {fa_levels.tolist()}.")
    obs = design.obs
    cells = design.cells
    doses = list(design.doses)
    N = len(doses)
    dmat = obs[doses].to_numpy()
    fa_all = obs["_effect"].to_numpy() / design.top
    role = cells["role"].to_numpy()[obs["_cell"].to_numpy()]
    P, PT, LV, ISO = [], [], [], []
    for b in range(len(design.blocks)):
        inb = obs["_block"].to_numpy() == b
        bname = {c: design.blocks.iloc[b][c] for c in design.by}
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
    skipped = [r for r in P if r["status"] != "ok"]
    if skipped:
        from ..exceptions import ComboplanWarning

        warnings.warn(f"chou_talalay: {len({r['message'] for r in skipped})} block(s) could not be analysed "
                      f"(e.g. {skipped[0]['message']}); the other blocks are unaffected, see "
                      "result.params[['status', 'message']].", ComboplanWarning, stacklevel=2)
    settings = {"doses": doses, "by": list(design.by), "response": response, "response_kind": response_kind,
                "scale": scale, "fa_levels": fa_levels.tolist(), "mutually_exclusive": mutually_exclusive,
                "ci": ci, "ci_level": ci, "sign_convention": SIGN_CI, "dose_units": dict(dose_units or {}),
                "reference": "Chou & Talalay (1984) Adv Enzyme Regul 22:27; Chou (2006) Pharmacol Rev 58:621; "
                             "CIs: Lee & Kong (2009) Stat Biopharm Res 1:4"}
    return ChouTalalayResult(params=pd.DataFrame(P), points=pd.DataFrame(PT), levels=pd.DataFrame(LV),
                             isobologram=pd.DataFrame(ISO), settings=settings)


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


# ====================================================================== MuSyC
@dataclass(frozen=True)
class MuSyCResult(ResultIO):
    """MuSyC fit of a two-agent response surface.

    Attributes
    ----------
    params : pandas.DataFrame
        ``param``, ``estimate``, ``ci_low``, ``ci_high``, ``unit``, ``fixed`` for E0-E3,
        h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21 and the derived ``beta``
        (per block).  alpha, gamma > 1 and beta > 0 mean synergy (``sign`` says so on
        each row); ``synergy_score`` (> 0 means synergy, the package-wide column) is
        ``log10(alpha)``, ``log10(gamma)`` and ``beta`` on those rows with
        ``synergy_score_ci_low``/``synergy_score_ci_high``, NaN on the other parameters.
    fit : pandas.DataFrame
        Per block: ``converged``, ``rss``, ``nobs``, ``r2``, ``aic``, ``bic``, ``inference``.
    settings : dict
    """

    params: pd.DataFrame
    fit: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read the synergy parameters."""
        return ("alpha12/alpha21 > 1: synergistic potency; gamma > 1: synergistic cooperativity; "
                "beta > 0: synergistic efficacy (combination beyond the stronger agent)")

    def estimates(self, block: int = 0) -> dict:
        """Point estimates of one block as ``{name: value}``."""
        t = self.params
        if self.settings["by"]:
            keys = self.fit.iloc[block][self.settings["by"]]
            for c in self.settings["by"]:
                t = t[t[c] == keys[c]]
        return dict(zip(t["param"], t["estimate"]))

    def predict(self, d1, d2, block: int = 0):
        """Fitted surface at doses ``d1``, ``d2`` (broadcast; response unit)."""
        from ..models.combination.musyc import MUSYC_PARAMS, musyc

        e = self.estimates(block)
        return musyc(np.asarray(d1, float), np.asarray(d2, float), *(e[p] for p in MUSYC_PARAMS))

    def summary(self) -> str:
        """Plain-text table of parameters."""
        return (f"MuSyC fit ({self.sign_convention}).\n{sign_sentence(MUSYC_SCORE_DEFINITION, MUSYC_RAW_SIGN)}\n"
                + self.params.drop(columns=[c for c in ("fixed", "sign") if c in self.params.columns])
                .to_string(index=False))

    def to_xarray(self):
        """Parameters as an :class:`xarray.Dataset` (dims block..., param); ``synergy_score``
        (log10 alpha / gamma, beta; > 0 synergy) with its interval."""
        from ..results import units_by

        idx = [*self.settings["by"], "param"]
        score = [c for c in ("synergy_score", "synergy_score_ci_low", "synergy_score_ci_high")
                 if c in self.params.columns]
        ds = self.params.set_index(idx)[["estimate", "ci_low", "ci_high", *score]].to_xarray()
        units = dict(zip(self.params["param"], self.params["unit"].astype(str)))
        for v in ds.data_vars:
            ds[v].attrs["units"] = "1" if v in score else units_by(units, units.values())
        ds.attrs["sign"] = sign_sentence(MUSYC_SCORE_DEFINITION, MUSYC_RAW_SIGN)
        return ds

    def plot(self, kind: str = "surface", block: int = 0, ax=None, **kwargs):
        """Plot the fitted surface with the data (``kind="surface"`` or ``"heatmap"``)."""
        from ..plot import synergy as ps
        from ..results import check_kind

        check_kind(kind, ("surface", "heatmap"), "MuSyCResult")
        return ps.musyc_plot(self, kind=kind, block=block, ax=ax, **kwargs)


@renamed_params(ci="ci_level")
@validate_params({
    "fit_gamma": ["boolean"],
    "n_boot": [Interval(Integral, 0, None)],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "seed": ["seed"],
    "errors": [StrOptions({"warn", "raise"})],
})
def fit_musyc(data, doses, response, *, by=None, replicate=None, fit_gamma=False, n_boot=200, ci_level=0.95,
              seed=None, response_kind="viability", scale="fraction", bootstrap="auto",
              dose_units=None, errors="warn") -> MuSyCResult:
    """Fit the MuSyC model (Meyer et al. 2019) to a two-agent dose-response surface.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    doses : list of two str
        Dose columns of agents 1 and 2 (>= 0).
    response : str
        Response column, fitted on its own scale (E0..E3 are in its unit).
    by : str or list, optional
        Block columns (each block fitted separately).
    replicate : str, optional
        Replicate column (needed when cells repeat); replicates are fitted individually.
    fit_gamma : bool
        Also estimate the cooperativity parameters ``gamma12``, ``gamma21``
        (otherwise fixed at 1).
    n_boot : int
        Bootstrap refits for the parameter CIs (batched through the engine).
    ci_level : float
        Confidence level.  (``ci=`` is a deprecated alias.)
    seed : int or Generator, optional
        Bootstrap seed.
    response_kind, scale : str
        Declared response (validated as in :func:`synergy`; sets beta's direction).
    bootstrap : {"auto", "replicates", "residuals"}
        Resample replicates within cells (when cells have replicates) or residuals.
    dose_units : dict, optional
        Recorded units of the dose columns.
    errors : {"warn", "raise"}
        A block that cannot be fitted -- fewer than 4 dose levels of an agent alone
        (including 0) or fewer than 4 combination observations -- becomes a ``fit`` row
        with ``converged=False``, ``status="not_scored"`` and a ``message`` naming the
        block and the cause, and NaN ``params`` rows, with a warning (``"warn"``,
        default); the other blocks are fitted as usual.  ``"raise"``:
        :class:`DataError` instead.

    Returns
    -------
    MuSyCResult
        ``fit`` has ``status`` (``"ok"`` / ``"not_scored"``) and ``message``.

    Notes
    -----
    Potencies (C1, C2), slopes, alpha and gamma are fitted on the log scale, so scaling
    a dose column by k scales its C by k and changes nothing else.  Starting values
    come from the Hill self-start of the two monotherapy edges (E0, E1, E2, h1, h2,
    C1, C2; linear least squares for the plateaus on a 9 x 4 potency x slope grid);
    50 candidate starts (alpha12, alpha21 on a 5 x 5 log grid over 0.1-10, E3 from the
    highest-dose cell or the stronger edge) are screened by RSS in one vectorised
    evaluation, the best 3 are refined in one batched engine call with the analytic
    Jacobian of the surface, and the best fit is kept.
    """
    from ..models.combination.musyc import MUSYC_PARAMS, musyc_beta
    from .fits import FIT_GTOL, FIT_TOL, _engine, hill_start, musyc_spec

    ci = ci_level
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind="inhibition", scale=scale)
    if len(design.doses) != 2:
        raise DataError(f"fit_musyc needs exactly two dose columns; got {list(design.doses)!r}.")
    a1, a2 = design.doses
    obs = design.obs
    yraw = obs["_effect"].to_numpy()  # validated copy of the raw response
    rng = as_rng(seed)
    z = ci
    fit_curves = _engine()
    PR, FT = [], []
    for b in range(len(design.blocks)):
        sel = np.flatnonzero(obs["_block"].to_numpy() == b)
        d1 = obs[a1].to_numpy()[sel]
        d2 = obs[a2].to_numpy()[sel]
        y = yraw[sel]
        bname = {c: design.blocks.iloc[b][c] for c in design.by}
        e1 = d2 == 0
        e2 = d1 == 0
        why = None
        for nm, e, d in ((a1, e1, d1), (a2, e2, d2)):
            if why is None and len(np.unique(d[e])) < 4:
                why = (f"fit_musyc needs >= 4 dose levels of {nm!r} alone (including 0) to start the fit"
                       f"{_blk(design, b)}; found {len(np.unique(d[e]))}")
        if why is None and ((d1 > 0) & (d2 > 0)).sum() < 4:
            why = (f"fit_musyc needs >= 4 combination observations (both doses > 0){_blk(design, b)}; found "
                   f"{int(((d1 > 0) & (d2 > 0)).sum())}")
        if why is not None:
            if errors == "raise":
                raise DataError(why + ".")
            for nm in [*MUSYC_PARAMS, "beta"]:
                PR.append(_musyc_score({**bname, "param": nm, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                        "unit": "", "fixed": False}))
            FT.append({**bname, "converged": False, "message": why, "tolerance": "", "rss": np.nan, "nobs": len(y),
                       "r2": np.nan, "aic": np.nan, "bic": np.nan, "inference": "none", "n_boot_failed": 0,
                       "status": "not_scored"})
            continue
        L = max(e1.sum(), e2.sum())
        X = np.full((2, L), np.nan)
        Y = np.full((2, L), np.nan)
        X[0, :e1.sum()], Y[0, :e1.sum()] = d1[e1], y[e1]
        X[1, :e2.sum()], Y[1, :e2.sum()] = d2[e2], y[e2]
        # the edges only provide starting values (E0, E1, E2, h1, h2, C1, C2): the Hill
        # self-start (e0/einf by linear least squares on a potency x slope grid) is
        # enough, the surface fit below refines every parameter to FIT_TOL/FIT_GTOL
        hf = hill_start(X, Y, np.isfinite(X) & np.isfinite(Y))
        spec = musyc_spec(d1, d2)
        xi = np.arange(len(sel), dtype=float)[None, :]
        dmax = (d1 == d1.max()) & (d2 == d2.max())
        E0 = 0.5 * (hf[0, 0] + hf[1, 0])
        E3s = [np.mean(y[dmax]), hf[0, 1] if abs(hf[0, 1] - E0) > abs(hf[1, 1] - E0) else hf[1, 1]]
        # candidate starts: single-agent edges + E3 (2 values) x alpha12, alpha21 on a
        # 5 x 5 log grid; all 50 are screened by their RSS in one vectorised evaluation
        # and only the best _MUSYC_STARTS are refined by the engine (one batched call)
        ag = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
        A1, A2, E3g = (v.ravel() for v in np.meshgrid(ag, ag, E3s, indexing="ij"))
        nc = len(A1)
        base = np.array([E0, hf[0, 1], hf[1, 1], np.nan, np.clip(hf[0, 3], 0.05, 20), np.clip(hf[1, 3], 0.05, 20),
                         hf[0, 2], hf[1, 2], np.nan, np.nan, 1.0, 1.0])
        cand = np.tile(base, (nc, 1))
        cand[:, 3], cand[:, 8], cand[:, 9] = E3g, A1, A2
        with np.errstate(all="ignore"):
            fc = spec.func(np.broadcast_to(xi, (nc, xi.shape[1])), *[cand[:, j:j + 1] for j in range(12)])
            rc = np.sum((y[None, :] - fc) ** 2, axis=1)
        rc = np.where(np.isfinite(rc), rc, np.inf)
        starts = cand[np.argsort(rc, kind="stable")[:_MUSYC_STARTS]]
        fixed = None if fit_gamma else {"gamma12": 1.0, "gamma21": 1.0}
        n_s = len(starts)
        ms = fit_curves(spec, np.repeat(xi, n_s, 0), np.repeat(y[None], n_s, 0), p0=starts, fixed=fixed,
                        maxiter=300, xtol=FIT_TOL, gtol=FIT_GTOL)
        tol_note = f"xtol={FIT_TOL:g}, gtol={FIT_GTOL:g}"
        gtol_used, maxiter_used = FIT_GTOL, 300
        if not ms.converged.any():
            # a flat, curved RSS valley (weakly identified alpha/E3/h trade-offs): the
            # fit crawls without meeting the strict criteria.  Stop as MINPACK (and so
            # the `synergy` package) would: gradient cosine <= 1e-4, i.e. a predicted
            # relative RSS reduction of about 1e-8 (MINPACK's ftol).
            ms = fit_curves(spec, np.repeat(xi, n_s, 0), np.repeat(y[None], n_s, 0), p0=starts, fixed=fixed,
                            maxiter=1000, xtol=FIT_TOL, gtol=_MUSYC_FALLBACK_GTOL)
            gtol_used, maxiter_used = _MUSYC_FALLBACK_GTOL, 1000
            tol_note = (f"xtol={FIT_TOL:g}, gtol={_MUSYC_FALLBACK_GTOL:g} (fallback: the strict gtol={FIT_GTOL:g} "
                        "was not reached in 300 iterations; flat RSS valley, some parameters weakly identified)")
        rss = np.where(np.isfinite(ms.rss), ms.rss, np.inf)
        best = int(np.argmin(rss))
        est = ms.estimates[best]
        fitted = spec.func(xi, *[np.atleast_2d(v) for v in est])[0]
        resid = y - fitted
        # ---- bootstrap, batched
        cell = obs["_cell"].to_numpy()[sel]
        has_reps = np.bincount(cell - cell.min()).max() > 1
        mode = bootstrap if bootstrap != "auto" else ("replicates" if has_reps else "residuals")
        boot = None
        if n_boot > 0:
            if mode == "replicates":
                full = resample_obs(design, n_boot, rng)
                yb = full[:, sel]
            else:
                yb = fitted[None, :] + rng.choice(resid, size=(n_boot, len(sel)), replace=True)
            bf = fit_curves(spec, np.repeat(xi, n_boot, 0), yb, p0=np.repeat(est[None], n_boot, 0), fixed=fixed,
                            maxiter=maxiter_used, xtol=FIT_TOL, gtol=gtol_used)
            boot = np.where(bf.converged[:, None], bf.estimates, np.nan)
        beta = float(musyc_beta(*est[:4]))
        names = list(MUSYC_PARAMS) + ["beta"]
        vals = list(est) + [beta]
        bvals = None if boot is None else np.column_stack([boot, musyc_beta(*(boot[:, k] for k in range(4)))])
        units = {"E0": "response", "E1": "response", "E2": "response", "E3": "response",
                 "C1": (dose_units or {}).get(a1, f"dose unit of {a1}"),
                 "C2": (dose_units or {}).get(a2, f"dose unit of {a2}")}
        for k, (nm, v) in enumerate(zip(names, vals)):
            lo = hi = np.nan
            if bvals is not None:
                lo, hi = percentile_ci(bvals[:, k], z)
            PR.append(_musyc_score({**bname, "param": nm, "estimate": v, "ci_low": lo, "ci_high": hi,
                                    "unit": units.get(nm, "1"), "fixed": (not fit_gamma) and nm.startswith("gamma")}))
        n = len(y)
        rss_b = float(np.sum(resid**2))
        kpar = int(ms.npar)
        FT.append({**bname, "converged": bool(ms.converged[best]), "message": str(ms.message[best]),
                   "tolerance": tol_note, "rss": rss_b, "nobs": n,
                   "r2": 1 - rss_b / np.sum((y - y.mean()) ** 2),
                   "aic": n * np.log(rss_b / n) + 2 * kpar, "bic": n * np.log(rss_b / n) + kpar * np.log(n),
                   "inference": (f"bootstrap ({mode}), {n_boot} refits, percentile {ci:.0%}" if n_boot else "none"),
                   "n_boot_failed": 0 if boot is None else int(np.isnan(boot[:, 0]).sum()),
                   "status": "ok" if ms.converged[best] else "not_converged"})
        if not ms.converged[best]:
            warnings.warn(f"MuSyC fit{_blk(design, b)} did not converge: {ms.message[best]}", ConvergenceWarning,
                          stacklevel=2)
    skipped = [r for r in FT if r["status"] == "not_scored"]
    if skipped:
        from ..exceptions import ComboplanWarning

        warnings.warn(f"fit_musyc: {len(skipped)} block(s) could not be fitted (e.g. {skipped[0]['message']}); the "
                      "other blocks are unaffected, see result.fit[['status', 'message']].", ComboplanWarning,
                      stacklevel=2)
    settings = {"doses": [a1, a2], "by": list(design.by), "response": response, "fit_gamma": fit_gamma,
                "n_boot": n_boot, "ci": ci, "ci_level": ci, "dose_units": dict(dose_units or {}),
                "response_kind": response_kind,
                "reference": "Meyer et al. (2019) Cell Syst 8:97; Wooten et al. (2021) Nat Commun 12:4607"}
    return MuSyCResult(params=pd.DataFrame(PR), fit=pd.DataFrame(FT), settings=settings)


_MUSYC_SIGNS = {"alpha12": "> 1 synergy (agent 1 raises agent 2's potency)",
                "alpha21": "> 1 synergy (agent 2 raises agent 1's potency)",
                "gamma12": "> 1 synergy (agent 1 raises agent 2's cooperativity)",
                "gamma21": "> 1 synergy (agent 2 raises agent 1's cooperativity)",
                "beta": "> 0 synergy (combination beyond the stronger agent's maximum)"}


def _musyc_score(row):
    """Add ``sign`` and ``synergy_score`` (log10 alpha / gamma, beta; NaN elsewhere) to a params row."""
    nm = row["param"]
    row["sign"] = _MUSYC_SIGNS.get(nm, "")
    est, lo, hi = (float(row[k]) for k in ("estimate", "ci_low", "ci_high"))
    if nm == "beta":
        sc = (est, lo, hi)
    elif nm in _MUSYC_SIGNS:
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = tuple(float(np.log10(v)) if v > 0 else np.nan for v in (est, lo, hi))
    else:
        sc = (np.nan, np.nan, np.nan)
    row["synergy_score"], row["synergy_score_ci_low"], row["synergy_score_ci_high"] = sc
    return row


# ====================================================================== equivalent dose
@renamed_params(ci="ci_level")
@validate_params({
    "combination": [dict],
    "n_boot": [Interval(Integral, 0, None)],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "seed": ["seed"],
}, fixes={"combination": "e.g. {'pac_uM': 1, 'sec': 1}"})
def equivalent_dose(data, doses, response, *, agent, combination, by=None, replicate=None,
                    response_kind="inhibition", scale="percent", fixed=None, n_boot=2000, ci_level=0.95,
                    seed=None) -> pd.DataFrame:
    """Dose of one agent alone that gives the effect observed for a combination.

    The papers' question ("which paclitaxel dose alone matches 1 uM paclitaxel +
    secretome?"): the agent's single-agent Hill curve (all replicates, with the
    untreated controls as dose 0) is inverted at the combination's mean effect.  The
    interval is a bootstrap of replicates within cells (agent curve and combination
    cell resampled together and the curve refitted, batched).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    doses : list of str
        All dose columns of the design.
    response : str
        Response column.
    agent : str
        The dose column of the agent whose equivalent dose is sought.
    combination : dict
        ``{dose column: dose}`` of the combination cell, naming every dose column of
        ``doses`` (give 0 for an absent agent: nothing is filled in).
    by, replicate, response_kind, scale : optional
        As in :func:`synergy`.
    fixed : dict, optional
        Hill parameters to hold fixed (``{"einf": 100}`` when the tested doses do not
        reach the plateau; the four-parameter fit needs >= 4 dose levels incl. 0).
    n_boot : int
        Bootstrap refits.
    ci_level : float
        Confidence level.  (``ci=`` is a deprecated alias.)
    seed : int or Generator, optional

    Returns
    -------
    pandas.DataFrame
        One row per block: ``combination_effect`` (mean, with CI), the agent's
        ``dose_in_combination``, ``equivalent_dose`` with ``ci_low``/``ci_high`` (dose
        unit of ``agent``; ``inf`` when the effect is beyond the agent's fitted maximum
        ``agent_max_effect``), ``dose_ratio`` (equivalent / in combination: the
        dose-reduction factor), ``p_not_reached`` (fraction of bootstrap draws where
        the agent alone cannot reach the effect), ``note``.

    Raises
    ------
    InvalidParameterError
        ``combination`` does not name every dose column (or names an unknown one),
        ``n_boot < 0``, ``ci_level`` outside (0, 1).
    DataError
        Malformed data, or no cell with the combination's doses.
    """
    from ..models.combination.loewe import hill_dose_for_effect
    from .fits import fit_hill

    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    if agent not in design.doses:
        raise DataError(f"agent {agent!r} is not one of the dose columns {list(design.doses)!r}.")
    unknown = [k for k in combination if k not in design.doses]
    missing = [d for d in design.doses if d not in combination]
    if unknown or missing:
        what = (f"a dict over the dose columns only ({unknown!r} are not dose columns)" if unknown
                else f"a dict giving a dose for every dose column ({missing!r} missing)")
        raise invalid("equivalent_dose", "combination", what, combination,
                      "e.g. {" + ", ".join(f"{d!r}: {combination.get(d, 0)!r}" for d in design.doses)
                      + "} (0 for an absent agent)")
    target = np.array([float(combination[d]) for d in design.doses])
    cells = design.cells
    obs = design.obs
    k = design.doses.index(agent)
    rng = as_rng(seed)
    S = 1 + int(n_boot)
    ysets = np.concatenate([obs["_effect"].to_numpy()[None], resample_obs(design, int(n_boot), rng)]) \
        if n_boot > 0 else obs["_effect"].to_numpy()[None]
    out = []
    for b in range(len(design.blocks)):
        cb = cells[cells["_block"] == b]
        m = np.all(np.isclose(cb[list(design.doses)].to_numpy(), target[None]), axis=1)
        if not m.any():
            raise DataError("no cell with doses " + ", ".join(f"{d}={v:g}" for d, v in zip(design.doses, target))
                            + f"{_blk(design, b)}; check the combination= doses.")
        cid = cb.index[m][0]
        inb = obs["_block"].to_numpy() == b
        crole = cells["role"].to_numpy()[obs["_cell"].to_numpy()]
        cagent = cells["agent"].to_numpy()[obs["_cell"].to_numpy()]
        rows = np.flatnonzero(inb & ((crole == "control") | ((crole == "mono") & (cagent == agent))))
        x = obs[agent].to_numpy()[rows]
        if len(np.unique(x)) < 4 - len(fixed or {}):
            raise DataError(f"the Hill fit of {agent!r} alone needs >= {4 - len(fixed or {})} dose levels including 0"
                            f"{_blk(design, b)}; found {sorted(np.unique(x).tolist())}. Pass fixed={{'einf': 100}} "
                            "to fix the plateau, or add doses.")
        crow = np.flatnonzero(obs["_cell"].to_numpy() == cid)
        Y = ysets[:, rows]
        fit = fit_hill(np.broadcast_to(x, Y.shape), Y, fixed=fixed)
        P = np.where(fit.converged[:, None], fit.estimates, np.nan)
        E = ysets[:, crow].mean(axis=1)
        eq = hill_dose_for_effect(E, P[:, 0], P[:, 1], P[:, 2], P[:, 3])
        z = 0.5 + ci_level / 2
        fin = np.isfinite(P[1:, 0])
        bq = eq[1:][fin]
        # "not reached" replicates give an infinite equivalent dose: take order statistics (no
        # interpolation against inf) so that the upper limit is inf when they exceed 1 - z
        has_inf = bool(np.isinf(bq).any())
        lo = np.quantile(bq, 1 - z, method="lower" if has_inf else "linear") if len(bq) else np.nan
        hi = np.quantile(bq, z, method="higher" if has_inf else "linear") if len(bq) else np.nan
        pnr = float(np.mean(np.isinf(bq))) if len(bq) else np.nan
        elo, ehi = (np.quantile(E[1:], [1 - z, z]) if S > 1 else (np.nan, np.nan))
        note = ""
        if np.isinf(eq[0]):
            note = (f"the combination's effect ({E[0]:.4g}) exceeds the maximal effect of {agent} alone "
                    f"({P[0, 1]:.4g}, fitted): no dose of {agent} alone reaches it")
        elif eq[0] > x.max():
            note = f"extrapolated beyond the highest tested dose of {agent} ({x.max():g})"
        out.append({**{c: design.blocks.iloc[b][c] for c in design.by}, "agent": agent,
                    "combination": ", ".join(f"{d}={v:g}" for d, v in zip(design.doses, target)),
                    "combination_effect": E[0], "combination_effect_ci_low": elo, "combination_effect_ci_high": ehi,
                    "dose_in_combination": target[k], "equivalent_dose": eq[0], "ci_low": lo, "ci_high": hi,
                    "dose_ratio": eq[0] / target[k] if target[k] > 0 else np.nan,
                    "agent_max_effect": P[0, 1], "p_not_reached": pnr, "n_boot": int(n_boot),
                    "converged": bool(fit.converged[0]), "note": note,
                    "response_scale": f"inhibition ({scale})"})
    return pd.DataFrame(out)
