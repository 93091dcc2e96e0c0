"""Public API for in-vitro combination analysis: :func:`synergy` here; :func:`chou_talalay`
(:mod:`.chou_talalay`), :func:`fit_musyc` (:mod:`.musyc_fit`) and :func:`equivalent_dose`
(:mod:`.equivalence`) live in their own modules and are re-exported."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats as sst

from .._params import Integral, Interval, Real, StrOptions, renamed_params, validate_params
from .._sign import sign_sentence
from ..exceptions import ConvergenceWarning, DataError
from ..results import ResultIO
from .design import SIGN_EXCESS, prepare
from .scoring import Layout, resample_obs, score_sets
from .single_matrix import NO_REPLICATES, score_single_matrix
from .scoring import _block_name as _blk
from .stats import as_rng, bh_fdr, boot_pvalue, factorize, percentile_ci

__all__ = ["synergy", "SynergyResult", "chou_talalay", "ChouTalalayResult", "fit_musyc", "MuSyCResult",
           "equivalent_dose", "CT_SCORE_DEFINITION", "MUSYC_RAW_SIGN", "MUSYC_SCORE_DEFINITION"]

METHODS = ("bliss", "hsa", "loewe", "zip")


def normalise_methods(methods) -> tuple[str, ...]:
    """``methods=`` of the synergy calls as a tuple of known lower-case names, duplicates dropped.

    Parameters
    ----------
    methods : str or iterable of str
        One method name or several, any case (``"Bliss"``, ``("zip", "loewe")``).

    Returns
    -------
    tuple of str
        The names in the order given, each once.

    Raises
    ------
    DataError
        An unknown name, or none at all.
    """
    out = tuple(dict.fromkeys(str(m).lower() for m in ([methods] if isinstance(methods, str) else methods)))
    bad = [m for m in out if m not in METHODS]
    if bad or not out:
        raise DataError(f"unknown synergy method(s) {bad!r}; choose from {METHODS}. "
                        "(Chou-Talalay CI and MuSyC have their own functions: chou_talalay, fit_musyc.)")
    return out
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
    "progress": ["boolean"],
})
def synergy(data, doses, response, *, by=None, methods=("bliss", "hsa", "loewe", "zip"),
            response_kind="inhibition", monotherapy="observed", baseline_correction=False, ci_level=0.95,
            n_boot=1000, replicate=None, seed=None, scale="percent", bootstrap="mean",
            inference="auto", dose_units=None, zip_version="3", errors="warn",
            loewe_method="classic", progress=False) -> SynergyResult:
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
    progress : bool
        Show a progress bar (tqdm) over the chunks of blocks of a large screen (see Notes;
        a call scored in one pass has no bar).

    Notes
    -----
    Large screens without a bootstrap (``n_boot=0``, or no ``replicate`` column) and with
    ``errors="warn"`` are scored in chunks of consecutive blocks and merged
    (:func:`_synergy_by_chunks`): chunks of :data:`BLOCK_CHUNK` (8,192) blocks for Bliss and/or
    HSA from observed monotherapy, of :data:`FIT_BLOCK_CHUNK` (5,000) blocks when single-agent
    or ZIP-slice curves are fitted (Loewe, ZIP, ``monotherapy="fitted"``, baseline correction),
    every chunk then fitting its curves as the one call would (same engine and padded width).
    The tables are exactly those of one pass (tested), q-values are recomputed over all blocks,
    the working memory stays bounded (Bliss + HSA: peak growth about 6.2 KB per 6x6 block, of
    which the result holds 5.8 KB, instead of 19 KB in one pass; the pieces are merged one column
    at a time; ``benchmarks/memory_large_calls.py``), and one warning counts the block x method
    rows not fully scored (one more the single-agent fits that did not converge).
    ``settings["chunks"]`` records it.

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
    methods = normalise_methods(methods)
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
    # Bliss/HSA from observed monotherapy score each block from its own cells; the other methods
    # (and fitted monotherapy or baseline correction) fit single-agent curves and ZIP slices
    fits = not (set(methods) <= {"bliss", "hsa"} and monotherapy == "observed" and not baseline_correction)
    per_chunk = FIT_BLOCK_CHUNK if fits else BLOCK_CHUNK
    if (by is not None and errors == "warn" and (n_boot == 0 or replicate is None)
            and isinstance(data, pd.DataFrame) and len(data) > 3 * per_chunk):
        chunks = _block_chunks(data, by, per_chunk)
        if len(chunks) > 1:
            return _synergy_by_chunks(data, chunks, dict(
                doses=doses, response=response, by=by, methods=methods, response_kind=response_kind,
                monotherapy=monotherapy, baseline_correction=baseline_correction, ci_level=ci_level, n_boot=n_boot,
                replicate=replicate, seed=seed, scale=scale, bootstrap=bootstrap, inference=inference,
                dose_units=dose_units, zip_version=zip_version, errors=errors, loewe_method=loewe_method),
                per_chunk, fits, progress)
    if (by is None and replicate is None and monotherapy == "observed" and not baseline_correction
            and isinstance(data, pd.DataFrame) and isinstance(doses, list | tuple)):
        # one complete matrix without replicates, Bliss/HSA/Loewe: the same tables without the general layout
        quick = score_single_matrix(data, list(doses), response, methods, response_kind, scale, loewe_method)
        if quick is not None:
            if seed is not None:
                as_rng(seed)            # (validated as the general path does)
            cells_tab, blocks_tab, mono_tab, top = quick
            return SynergyResult(cells=cells_tab, blocks=blocks_tab,
                                 monotherapy=_empty_frame(_MONO_COLUMNS) if mono_tab is None else mono_tab,
                                 settings=_settings(methods, list(doses), [], response, response_kind, scale, top,
                                                    monotherapy, baseline_correction, ci, n_boot, bootstrap,
                                                    inference, NO_REPLICATES, replicate, seed, dose_units,
                                                    zip_version, errors, loewe_method))
    design, layout = _design_layout(data, doses, response, by, methods, monotherapy, replicate, response_kind, scale,
                                    zip_version, loewe_method)
    top = design.top
    y0 = design.obs_data["_effect"][None, :]
    if baseline_correction:
        y0 = _baseline_correct(design, layout, y0, top)
        design = design.with_effect(y0[0])
    point = score_sets(layout, y0, methods, monotherapy, top)
    has_reps = bool(design.cell_data["n"].max() > 1)
    # (seeding from OS entropy costs ~30 us: only when a bootstrap will run or a seed is given)
    rng = as_rng(seed) if (n_boot > 0 and has_reps) or seed is not None else None
    boot = None
    if n_boot > 0 and has_reps:
        parts = []
        per = max(1, int(4e6 // max(len(y0[0]), 1)))
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
    _warn_unscored(layout, methods)
    settings = _settings(methods, list(design.doses), list(design.by), response, response_kind, scale, top, monotherapy,
                         baseline_correction, ci, n_boot, bootstrap, inference, note, replicate, seed, dose_units,
                         zip_version, errors, loewe_method)
    return SynergyResult(cells=cells_tab, blocks=blocks_tab, monotherapy=mono_tab, settings=settings)


def _settings(methods, doses, by, response, response_kind, scale, top, monotherapy, baseline_correction, ci, n_boot,
              bootstrap, inference, note, replicate, seed, dose_units, zip_version, errors, loewe_method) -> dict:
    """The ``settings`` of a :class:`SynergyResult`."""
    return {"methods": methods, "doses": doses, "by": by, "response": response,
            "response_kind": response_kind, "scale": scale, "top": top, "monotherapy": monotherapy,
            "baseline_correction": baseline_correction, "ci": ci, "ci_level": ci, "n_boot": n_boot, "bootstrap": bootstrap,
            "inference": inference, "inference_note": note, "replicate": replicate, "seed": seed,
            "sign_convention": SIGN_EXCESS, "dose_units": dict(dose_units or {}),
            "zip_version": zip_version, "errors": errors, "loewe_method": loewe_method,
            "references": {m: _reference(m, zip_version, loewe_method) for m in methods}}


#: Screens scored with Bliss and/or HSA from observed monotherapy, without a bootstrap, are scored
#: in chunks of this many blocks when they have more (:func:`_synergy_by_chunks`): each chunk's
#: design and working arrays are released before the next, which bounds the working memory.
BLOCK_CHUNK = 8192

#: Screens scored with Loewe, ZIP, fitted monotherapy or baseline correction, without a bootstrap,
#: are scored in chunks of this many blocks when they have more: a call's working memory grows
#: with its blocks (single-agent and ZIP-slice fits), about 0.1 MB a block with all four methods.
FIT_BLOCK_CHUNK = 5000


def _block_chunks(data, by, size: int = BLOCK_CHUNK) -> list:
    """Row positions of ``data`` per chunk of ``size`` consecutive blocks (blocks in sorted label
    order, as one call orders them)."""
    by_l = [by] if isinstance(by, str) else list(by)
    if any(c not in data.columns for c in by_l):
        return [None]       # the ordinary path names the missing column
    code = data.groupby(by_l, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    n_blocks = int(code.max()) + 1 if code.size else 0
    if n_blocks <= size:
        return [None]
    chunk = code // size
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(1, -(-n_blocks // size)))
    return np.split(order, bounds)


def _synergy_by_chunks(data, chunks, kw, size: int = BLOCK_CHUNK, fits: bool = False,
                       progress: bool = False) -> "SynergyResult":
    """:func:`synergy` on each chunk of blocks, merged into the tables of one call.

    Bliss and HSA from observed monotherapy score each block from its own cells, so every score,
    interval and p-value is that of the one call.  Loewe, ZIP, fitted monotherapy and baseline
    correction (``fits``) also fit each block's curves on their own, but the engine and padded
    width of the batched fits depend on the size of the call: a first pass sizes the whole call
    chunk by chunk (:func:`synergy_fit_sizes`), and every chunk then fits as that call does
    (:func:`comboplan.combination.fits.batch_plan`), so its fits are exactly the one call's.  The
    q-values (Benjamini-Hochberg over all blocks of a method) are recomputed after the merge, and
    one warning counts the unscored block x method rows (one more the single-agent fits that did
    not converge).  Only used without bootstrap (a bootstrap draws once per call).
    """
    from .fits import _PLAN, batch_plan, whole_call_sizes
    from .merge import merge_split_tables, split_tables

    methods = list(kw["methods"])
    plan: dict = dict(_PLAN.get() or {})     # a plan already set (a Dask partition's) stays
    sizing = fits and not plan

    def steps(what):
        if not progress:
            return chunks
        from tqdm.auto import tqdm

        return tqdm(chunks, desc=f"synergy: {what} (chunks of {size:,} blocks)", unit="chunk")

    if sizing:
        plan = whole_call_sizes(synergy_fit_sizes(data.iloc[rows], **kw) for rows in steps("sizing the fits"))
    # each chunk's tables as separate column arrays per table and method: the chunks hold
    # consecutive blocks in sorted order, so the method-major order of one call is the pieces of
    # each method in chunk order (no re-sort); each chunk's tables are dropped as soon as they are
    # split, and the merge releases every piece's column as soon as it is copied (working memory:
    # one column)
    # The freed working memory of each chunk lies in glibc's heaps between the kept pieces: it is
    # handed back to the system after every chunk and between the merged columns (without it a
    # 10^6-block four-method screen grew past 24 GB of resident memory for 13 GB of tables)
    from .._worker import release_free_memory

    parts = []
    settings = None
    for rows in steps("scoring"):
        with warnings.catch_warnings(), batch_plan(**plan):
            warnings.simplefilter("ignore")
            r = synergy(data.iloc[rows], **kw)
        settings = settings or r.settings
        parts.append(split_tables(r, methods))
        del r
        release_free_memory()
    tables = merge_split_tables(parts, methods, trim=True)
    del parts
    cells_tab, blocks_tab, mono_tab = tables["cells"], tables["blocks"], tables["monotherapy"]
    n_bad = int((blocks_tab["status"].astype(object) != "ok").sum()) if "status" in blocks_tab else 0
    if n_bad:
        from ..exceptions import ComboplanWarning

        warnings.warn(f"{n_bad} block x method row(s) not fully scored; see result.blocks[['status', 'message']].",
                      ComboplanWarning, stacklevel=3)
    if len(mono_tab) and "status" in mono_tab:
        nconv = int((mono_tab["status"].astype(object) == MONO_STATUSES[1]).sum()) // 4
        if nconv:
            warnings.warn(f"{nconv} single-agent Hill fit(s) did not converge; see result.monotherapy['converged'].",
                          ConvergenceWarning, stacklevel=3)
    settings = dict(settings, chunks={"blocks_per_chunk": size, "n_chunks": len(chunks)})
    return SynergyResult(cells=cells_tab, blocks=blocks_tab, monotherapy=mono_tab, settings=settings)


def _design_layout(data, doses, response, by, methods, monotherapy, replicate, response_kind, scale, zip_version,
                   loewe_method):
    """The validated design and the scoring layout of a :func:`synergy` call."""
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    return design, Layout(design, methods, monotherapy, zip_version=zip_version, loewe_method=loewe_method)


def synergy_fit_sizes(data, doses, response, *, by=None, methods=("bliss", "hsa", "loewe", "zip"),
                      monotherapy="observed", replicate=None, response_kind="inhibition", scale="percent",
                      zip_version="3", loewe_method="classic", **_other) -> dict:
    """Sizes of the batched fits one :func:`synergy` call without bootstrap makes on ``data``.

    Same arguments as :func:`synergy` (options that do not change the fits are ignored).
    ``comboplan.distributed`` sums these over partitions to fit every curve of a partition
    as the call on the whole screen does (:func:`comboplan.combination.fits.batch_plan`).

    Returns
    -------
    dict
        ``{"hill": (n_curves, width), "zip": (n_slices, width)}``, see
        :func:`comboplan.combination.scoring.fit_sizes`.
    """
    from .scoring import fit_sizes

    methods = normalise_methods(methods)
    _, layout = _design_layout(data, doses, response, by, methods, monotherapy, replicate, response_kind, scale,
                               str(zip_version), loewe_method)
    return fit_sizes(layout)


def _baseline_correct(design, layout, y0, top):
    blocks = design.obs_data["_block"]
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
        base = mono.groupby("_block")["mean"].min().reindex(range(design.n_blocks)).fillna(0.0).to_numpy()
    b = base[blocks]
    return y0 - (top - y0) / top * b[None, :]


def _delta_gradients(design, layout, method, top):
    """Cell variances, replicate counts and d(score)/d(monotherapy mean) for Bliss/HSA.

    Returns ``var`` and ``n`` per cell (variance of the cell mean, s^2/n), the
    monotherapy cell index per combination cell and agent (``idx``), a mask of the
    agents present, and ``g`` = dE/d(mono mean) (the score is obs - E, so its
    gradient with respect to a monotherapy mean is -g).
    """
    c = design.cell_data
    mean = c["mean"]
    var = (c["sd"] ** 2) / c["n"]
    n = c["n"].astype(float)
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
    nb = design.n_blocks
    blk = layout.combo_block
    K = np.bincount(blk, weights=scored.astype(float), minlength=nb)
    grad = np.zeros(len(var))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(scored, 1.0 / K[blk], 0.0)
    np.add.at(grad, layout.combo[scored], w[scored])
    rows, ks = np.nonzero(present & scored[:, None] & (idx >= 0))
    np.add.at(grad, idx[rows, ks], -w[rows] * g[rows, ks])
    cell_block = design.cell_data["_block"]
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
        fin = np.isfinite(point[m][0])
        if fin.all():
            continue
        bad = ~fin & (layout.code[m] == 0)
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


def _warn_unscored(layout, methods):
    """One ComboplanWarning naming, per method, the blocks not or partly scored (from the block
    statuses :func:`_block_table` recorded on ``layout``)."""
    parts = []
    for m, status, code in layout.block_status:
        if not status.any():                         # every block "ok"
            continue
        bad = (status == 1) | (status == 2)          # "partial", "not_scored"
        if bad.any():
            first = layout.reasons[abs(int(code[np.flatnonzero(bad)[0]]))]
            parts.append(f"{m}: {int(bad.sum())} block(s) not or partly scored (e.g. {first})")
    if not parts:
        return
    from ..exceptions import ComboplanWarning

    warnings.warn("synergy: " + "; ".join(parts) + ". The other blocks are unaffected; see result.blocks[['status', "
                  "'message']] and result.cells.", ComboplanWarning, stacklevel=3)


@lru_cache(maxsize=256)
def _cat_dtype(values: tuple) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(values))


def _const(value, n):
    """A constant text column of length ``n`` (categorical: no per-row string objects)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), dtype=_cat_dtype((value,)), validate=False)


def _labels(values, codes):
    """A text column from category ``values`` and integer ``codes`` (valid by construction)."""
    return pd.Categorical.from_codes(np.asarray(codes), dtype=_cat_dtype(tuple(values)), validate=False)


@lru_cache(maxsize=64)
def _column_index(names: tuple) -> pd.Index:
    return pd.Index(list(names))


def _method_codes(m, n):
    """Category codes 0..m-1, each repeated ``n`` times (int8: the codes' dtype for up to 127
    categories, so the categorical keeps them without a copy)."""
    return np.repeat(np.arange(m, dtype=np.int8), n)


def _tile(x, m):
    """``np.tile(x, m)`` of a 1-D array (without its fixed cost)."""
    return np.concatenate([x] * m)


def _empty_frame(names: tuple) -> pd.DataFrame:
    """``pandas.DataFrame(columns=names)``: no rows, object columns (the constructor costs ~0.1 ms)."""
    if _from_blocks is None:  # pragma: no cover - pandas < 3
        return pd.DataFrame(columns=list(names))
    return _from_blocks([(np.empty((len(names), 0), dtype=object), np.arange(len(names)))], pd.RangeIndex(0),
                        _column_index(names).view())


_BLOCK_DTYPES = frozenset(np.dtype(t) for t in (np.float64, np.int64, np.int32, np.intp, np.bool_))


def _rows(arrays):
    """``np.stack(arrays)`` of equally shaped arrays of one dtype (a new array), without its
    fixed cost (~4 us a call)."""
    return np.array(arrays)


try:
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - pandas < 3
    _from_blocks = None


def _frame(cols: dict) -> pd.DataFrame:
    """``pandas.DataFrame(cols, copy=False)``, built block by block when it can be.

    When every column is a 1-D float64/int/bool numpy array or a :class:`pandas.Categorical`
    of one length, the frame is assembled from one 2-D block per dtype and one block per
    categorical (:func:`pandas.api.internals.create_dataframe_from_blocks`): the same
    columns, dtypes, values and index as the constructor gives, without its per-column
    inference (~10 us a column, most of a small call).  Anything else (object or string
    columns, e.g. ``by`` labels; older pandas) goes through the constructor.
    """
    if _from_blocks is None:  # pragma: no cover - pandas < 3
        return pd.DataFrame(cols, copy=False)
    vals = list(cols.values())
    n = len(vals[0]) if vals else 0
    groups = {}
    blocks = []
    for i, v in enumerate(vals):
        if isinstance(v, np.ndarray):
            if v.ndim != 1 or v.dtype not in _BLOCK_DTYPES or v.shape[0] != n:
                return pd.DataFrame(cols, copy=False)
            groups.setdefault(v.dtype, []).append(i)
        elif isinstance(v, pd.Categorical) and len(v) == n:
            blocks.append((v, np.array([i], dtype=np.intp)))
        else:
            return pd.DataFrame(cols, copy=False)
    for idx in groups.values():
        blocks.append((_rows([vals[i] for i in idx]) if len(idx) > 1 else vals[idx[0]][None, :],
                       np.array(idx, dtype=np.intp)))
    return _from_blocks(blocks, pd.RangeIndex(n), _column_index(tuple(cols)).view())


def _flat_interval(lo, hi, se, score):
    """Intervals that do not vary: zero width, zero or NaN SE with a finite score."""
    with np.errstate(invalid="ignore"):
        scale = 1e-12 * (1.0 + np.abs(score))
        return np.isfinite(score) & ((np.abs(hi - lo) <= scale) | (np.abs(se) <= scale))


def _no_interval_message(design, method, b):
    return (f"the {method} score{_blk(design, int(b))} does not vary between resamples (identical replicates, or "
            "fits that do not move): its interval and p-value are undefined, not zero-width")


def _cell_table(design, layout, methods, point, boot, ci, inference, n_boot, has_reps, mode):
    c = design.cell_data
    combo = layout.combo
    nc = len(combo)
    M = len(methods)
    if boot is None:
        note = (NO_REPLICATES if not has_reps else "none (n_boot=0)")
    else:
        note = (f"bootstrap, {n_boot} resamples of replicates within cells "
                f"({'one replicate per cell per draw, as SynergyFinder' if mode == 'single' else 'cell means'}), "
                f"percentile {ci:.0%} intervals; fits refitted per resample")
    cols = {"method": _labels(methods, _method_codes(M, nc))}
    blk = c["_block"][combo]
    for col in design.by:
        cols[col] = _tile(design.block_column(col)[blk], M)
    for d in design.doses:
        cols[d] = _tile(c[d][combo], M)
    cols["n"] = _tile(c["n"][combo], M)
    # every column is computed for all methods at once, as (method, cell) arrays; only the
    # intervals (delta method or bootstrap) are per method
    code = _rows([layout.code[m] for m in methods])
    scored = code == 0
    allsc = bool(scored.all())
    score = _rows([point[m][0] for m in methods])
    if not allsc:
        score = np.where(scored, score, np.nan)
    se, lo, hi, pv = np.full((4, M, nc), np.nan)
    infs = [note] * M
    any_interval = False
    for i, m in enumerate(methods):
        if inference == "delta" and m in ("bliss", "hsa") and "reference_bliss" in point and has_reps:
            se_i, dfree = _delta_bliss_hsa(design, layout, m, design.top, ci)
            tq = sst.t.ppf(0.5 + ci / 2, dfree)
            se[i], lo[i], hi[i] = se_i, score[i] - tq * se_i, score[i] + tq * se_i
            with np.errstate(divide="ignore", invalid="ignore"):
                pv[i] = 2 * sst.t.sf(np.abs(score[i] / se_i), dfree)
            infs[i] = f"delta method (Welch-Satterthwaite t, {ci:.0%}) on cell means and SDs"
        elif boot is not None:
            b = boot[m]
            lo[i], hi[i] = percentile_ci(b, ci)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN columns: unscored cells
                se[i] = np.nanstd(b, axis=0, ddof=1)
            pv[i] = boot_pvalue(b)
        else:
            continue
        any_interval = True
        flat = _flat_interval(lo[i], hi[i], se[i], score[i]) & scored[i]
        if flat.any():
            for b in np.unique(blk[flat]):
                code[i, flat & (blk == b)] = -layout.reason(_no_interval_message(design, m, b))
            for v in (lo, hi, se, pv):
                v[i] = np.where(flat, np.nan, v[i])
    if any_interval:                         # (otherwise all NaN already)
        lo, hi, se, pv = (np.where(scored, v, np.nan) for v in (lo, hi, se, pv))
    cols["observed"] = _tile(point["observed"][0], M)
    ref = _rows([point[f"reference_{m}"][0] for m in methods])
    cols["reference"] = (ref if allsc else np.where(scored, ref, np.nan)).ravel()
    cols["score"] = score.ravel()
    cols["synergy_score"] = score.ravel().copy()   # the package-wide column: > 0 means synergy
    cols["se"] = se.ravel()
    cols["ci_low"] = lo.ravel()
    cols["ci_high"] = hi.ravel()
    cols["p_value"] = pv.ravel()
    cols["q_value"] = bh_fdr(pv, axis=1).ravel()      # one family per method
    uinf = list(dict.fromkeys(infs))
    cols["inference"] = _labels(uinf, np.repeat([uinf.index(i) for i in infs], nc))
    if "loewe" in methods:  # the historical column order: loewe_ci after inference
        lci = np.full((M, nc), np.nan)
        k = methods.index("loewe")
        lci[k] = np.where(scored[k], point["loewe_ci"][0], np.nan)
        cols["loewe_ci"] = lci.ravel()
    code = code.ravel()
    cols["status"] = _labels(STATUSES, np.where(code > 0, 2, np.where(code < 0, 3, 0)) if code.any()
                             else np.zeros(len(code), dtype=np.int8))
    cols["message"] = _message_column(layout.reasons, np.abs(code))
    zv = getattr(layout, "zip_version", "3")
    lm = getattr(layout, "loewe_method", "classic")
    cols["reference_model"] = _labels([_reference_model(m, zv, lm) for m in methods], _method_codes(M, nc))
    if "loewe" in methods and lm != "classic":
        _equivalence_columns(cols, design, methods, point, nc)
    cols["sign_convention"] = _const(SIGN_EXCESS, nc * M)
    cols["response_kind"] = _const(design.response_kind, nc * M)
    return _frame(cols), note


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
    if not codes.any():                      # every row fine: one empty message
        return _const("", len(codes))
    used = np.unique(codes)
    vals = [reasons[int(k)] for k in used]
    remap = np.zeros(int(used.max()) + 1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return pd.Categorical.from_codes(remap[codes], categories=vals)


def _rank_within_blocks(blk, lcode, n_levels, nb):
    """Dense rank of level codes ``lcode`` (0 .. n_levels-1) within each block, and the number
    of distinct levels of every block: one sort of the (block, level) keys."""
    key = blk.astype(np.int64) * n_levels + lcode
    if nb * n_levels <= 1 << 20:
        # few (block, level) pairs: which are present, by counting; a level's rank is the number of
        # present levels below it in its block (the same dense ranks, without sorting the keys)
        present = (np.bincount(key, minlength=nb * n_levels) > 0).reshape(nb, n_levels)
        below = np.cumsum(present, axis=1) - 1
        return below.ravel()[key], present.sum(axis=1)
    ukey, _, inv = factorize(key, stable=False)
    # distinct keys are sorted by block: a key's rank is its index minus that of its block's first
    return inv - np.searchsorted(ukey, key - lcode), np.bincount(ukey // n_levels, minlength=nb)


def _area_grid(design, layout, nb):
    """Position of every combination cell in its block's grid of combination doses and the
    3x3 windows inside each block's grid (the same for every method and set: computed once
    per call).  Ranks come from the dose levels of :func:`~.design.prepare` (each agent's
    sorted distinct doses), so they are the dense ranks of the doses within the block."""
    g = getattr(layout, "_area_grid", None)
    if g is None:
        blk = layout.combo_block
        lc = design.cell_data["_levels"][layout.combo]
        i1, n1 = _rank_within_blocks(blk, lc[:, 0], len(design.dose_levels[0]), nb)
        i2, n2 = _rank_within_blocks(blk, lc[:, 1], len(design.dose_levels[1]), nb)
        full = np.bincount(blk, minlength=nb) == n1 * n2
        R, C = max(int(n1.max()), 1), max(int(n2.max()), 1)
        # window (r, c) of block b lies inside the block's own n1 x n2 grid (None: every window of
        # every block does, all grids being R x C)
        inside = None
        if (n1 != R).any() or (n2 != C).any():
            inside = ((np.arange(max(R - 2, 0))[None, :, None] < (n1 - 2)[:, None, None])
                      & (np.arange(max(C - 2, 0))[None, None, :] < (n2 - 2)[:, None, None])).reshape(nb, -1)
        g = layout._area_grid = (i1, i2, R, C, full & (n1 >= 3) & (n2 >= 3), inside)
    return g


def _areas(design, layout, sets, nb):
    """Most synergistic 3x3 area of every set and block: the largest mean over complete 3x3
    windows (all nine cells finite) of the block's grid of combination cells; NaN unless the
    block's grid is full and at least 3x3 (two agents).

    Vectorised over sets and blocks: the cells are scattered into one zero-padded grid per
    (set, block), whose 2-D cumulative sums give every window sum by four corners.
    """
    S = sets.shape[0]
    i1, i2, R, C, ok, inside = _area_grid(design, layout, nb)
    if R < 3 or C < 3:
        return np.full((S, nb), np.nan)
    blk = layout.combo_block
    fin = np.isfinite(sets)
    allfin = bool(fin.all())
    vals = sets if allfin else np.where(fin, sets, 0.0)
    out = np.empty((S, nb))
    chunk = max(1, int(2e7 // (nb * R * C)))
    for s0 in range(0, S, chunk):
        s1 = min(S, s0 + chunk)
        w = _window_sums(vals[s0:s1], blk, i1, i2, nb, R, C)
        valid = inside
        if not allfin:            # windows with a non-finite cell are not complete
            complete = _window_sums(fin[s0:s1].astype(float), blk, i1, i2, nb, R, C) > 8.5
            valid = complete if inside is None else inside & complete
        # the largest window sum / 9 (division is monotone: the same as the largest mean)
        w = (w if valid is None else np.where(valid, w, -np.inf)).max(axis=2) / 9.0
        out[s0:s1] = np.where(np.isfinite(w), w, np.nan)
    return np.where(ok, out, np.nan)


def _window_sums(vals, blk, i1, i2, nb, R, C):
    """Sums over the 3x3 windows of every (set, block) grid: (S, nb, (R-2)(C-2)).  Cells not in
    the grid count 0."""
    S = vals.shape[0]
    a = np.zeros((S * nb, R, C))
    a.reshape(S, nb, R, C)[:, blk, i1, i2] = vals
    return grid_window_sums(a).reshape(S, nb, -1)


def grid_window_sums(a):
    """Sums over every 3x3 window of each grid ``a`` (G, R, C): (G, R-2, C-2), by four corners of
    the 2-D cumulative sums (the one formula of the most synergistic area)."""
    G, R, C = a.shape
    cs = np.zeros((G, R + 1, C + 1))
    np.cumsum(a, axis=1, out=cs[:, 1:, 1:])
    np.cumsum(cs, axis=2, out=cs)
    return cs[:, 3:, 3:] - cs[:, :-3, 3:] - cs[:, 3:, :-3] + cs[:, :-3, :-3]


def _first_code_per_block(code, blk, nb):
    """The first (in cell order) non-zero code of every block; 0 where none."""
    out = np.zeros(nb, dtype=np.int64)
    idx = np.flatnonzero(code != 0)[::-1]
    out[blk[idx]] = code[idx]          # repeated indices: the last assignment (= first cell) wins
    return out


def _block_table(design, layout, methods, point, boot, ci, inference="bootstrap", has_reps=False):
    """The blocks table: every statistic is computed for all methods at once, as (method, set,
    block) arrays; only the intervals (bootstrap or delta method) are per method."""
    nb = design.n_blocks
    M = len(methods)
    blk = layout.combo_block
    nc = len(blk)
    counts = np.bincount(blk, minlength=nb)
    two = len(design.doses) == 2
    empty_code = np.zeros(nb, dtype=np.int64)
    for b in ([] if counts.all() else np.flatnonzero(counts == 0)):
        empty_code[b] = layout.reason(f"no combination cells (two or more agents with dose > 0){_blk(design, int(b))}: "
                                      "nothing to score in this block")
    code_c = _rows([layout.code[m] for m in methods])                     # (M, n_combo)
    scored = code_c == 0
    allsc = bool(scored.all())
    # (method, block) group of every (method, combination cell)
    grp = (np.arange(M)[:, None] * nb + blk[None, :]).ravel()
    if allsc:
        n_sc = _rows([counts] * M)
    else:
        n_sc = np.bincount(grp, weights=scored.ravel(), minlength=M * nb).reshape(M, nb).astype(int)
    sets = _rows([point[m] if boot is None else np.concatenate([point[m], boot[m]]) for m in methods])
    S = sets.shape[1]
    if not allsc:
        sets = np.where(scored[:, None, :], sets, np.nan)
    # per-block sums in cell order (unscored cells add 0.0: the sums of the scored cells)
    w = sets if allsc else np.where(scored[:, None, :], sets, 0.0)
    gs = grp if S == 1 else (np.arange(M * S)[:, None] * nb + blk[None, :]).ravel()
    sums = np.bincount(gs, weights=w.ravel(), minlength=M * S * nb).reshape(M, S, nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n_sc[:, None, :] > 0, sums / np.maximum(n_sc, 1)[:, None, :], np.nan)
    area = _areas(design, layout, sets.reshape(M * S, nc), nb).reshape(M, S, nb) if two else np.full((M, S, nb), np.nan)
    mx = np.full(M * nb, -np.inf)
    mn = np.full(M * nb, np.inf)
    p0 = sets[:, 0, :].ravel()
    if allsc:
        np.maximum.at(mx, grp, p0)
        np.minimum.at(mn, grp, p0)
    else:
        sel = scored.ravel()
        np.maximum.at(mx, grp[sel], p0[sel])
        np.minimum.at(mn, grp[sel], p0[sel])
    mx = np.where(n_sc > 0, mx.reshape(M, nb), np.nan)
    mn = np.where(n_sc > 0, mn.reshape(M, nb), np.nan)
    ci_lo, ci_hi, pval, a_lo, a_hi = np.full((5, M, nb), np.nan)
    infs = ["none"] * M
    se_all = [None] * M
    if boot is not None:
        ci_lo, ci_hi = percentile_ci(means[:, 1:], ci, axis=1)
        alo, ahi = percentile_ci(area[:, 1:], ci, axis=1)
        pval = boot_pvalue(means[:, 1:], axis=1)
        fin = np.isfinite(area[:, 0])
        a_lo, a_hi = np.where(fin, alo, np.nan), np.where(fin, ahi, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            se_b = np.nanstd(means[:, 1:], axis=1)
        se_all = list(se_b)
        infs = ["bootstrap percentile"] * M
    # status and message of every (method, block)
    code = (np.zeros((M, nb), dtype=np.int64) if allsc
            else _first_code_per_block(code_c.ravel(), grp, M * nb).reshape(M, nb))
    status = np.where(n_sc == counts, 0, np.where(n_sc > 0, 1, 2))
    status = np.where(counts == 0, 2, status)
    code = np.where(counts == 0, empty_code, code)
    for i, m in enumerate(methods):
        if inference == "delta" and m in ("bliss", "hsa") and "reference_bliss" in point and has_reps:
            se_b, dfree = _delta_block(design, layout, m, design.top, scored[i])
            tq = sst.t.ppf(0.5 + ci / 2, dfree)
            mean0 = means[i, 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                pval[i] = 2 * sst.t.sf(np.abs(mean0 / se_b), dfree)
            ci_lo[i], ci_hi[i] = mean0 - tq * se_b, mean0 + tq * se_b
            infs[i] = f"delta method (Welch-Satterthwaite t, {ci:.0%}), shared monotherapy cells included"
            se_all[i] = se_b
        if se_all[i] is not None:           # an interval: flag those that do not vary
            flat = _flat_interval(ci_lo[i], ci_hi[i], np.broadcast_to(se_all[i], (nb,)), means[i, 0]) & (n_sc[i] > 0)
            if flat.any():
                for b in np.flatnonzero(flat & (code[i] == 0)):
                    code[i, b] = layout.reason(_no_interval_message(design, m, b))
                for v in (ci_lo, ci_hi, pval):
                    v[i] = np.where(flat, np.nan, v[i])
                status[i] = np.where(flat & (status[i] == 0), 3, status[i])
    qval = bh_fdr(pval, axis=1)                      # one family per method
    cols = {}
    if design.by:
        bi = _tile(np.arange(nb), M)
        for col in design.by:
            cols[col] = design.block_column(col)[bi]
    cols["method"] = _labels(methods, _method_codes(M, nb))
    cols["n_cells"] = _tile(counts, M)
    cols["n_scored"] = n_sc.ravel()
    cols["mean"] = means[:, 0].ravel()
    cols["synergy_score"] = cols["mean"].copy()    # the package-wide column: > 0 means synergy
    cols["max"] = mx.ravel()
    cols["min"] = mn.ravel()
    cols["most_synergistic_area"] = area[:, 0].ravel()
    for k, v in (("ci_low", ci_lo), ("ci_high", ci_hi), ("p_value", pval), ("area_ci_low", a_lo),
                 ("area_ci_high", a_hi), ("q_value", qval)):
        cols[k] = np.asarray(v, dtype=float).ravel()
    uinf = list(dict.fromkeys(infs))
    cols["inference"] = _labels(uinf, np.repeat([uinf.index(i) for i in infs], nb))
    cols["status"] = _labels(STATUSES, status.ravel())
    cols["message"] = _message_column(layout.reasons, np.abs(code.ravel()))
    zv = getattr(layout, "zip_version", "3")
    lm = getattr(layout, "loewe_method", "classic")
    cols["reference_model"] = _labels([_reference_model(m, zv, lm) for m in methods], _method_codes(M, nb))
    cols["sign_convention"] = _const(SIGN_EXCESS, nb * M)
    cols["response_kind"] = _const(design.response_kind, nb * M)
    layout.block_status = [(m, status[i], code[i]) for i, m in enumerate(methods)]
    return _frame(cols)


_MONO_COLUMNS = ("agent", "param", "estimate", "ci_low", "ci_high", "converged", "status")
#: statuses of the monotherapy table's rows (code 0..3)
MONO_STATUSES = ("ok", "not_converged", "not_identifiable", "too_few_dose_levels")


def mono_units(doses, agent, par):
    """The monotherapy table's unit categories and the code of each row (``agent``, ``par``:
    the row's agent index and parameter index 0..3 = e0, einf, ec50, h)."""
    n = len(doses)
    units = [f"dose unit of {d}" for d in doses] + ["1", "inhibition (response unit)"]
    return units, np.where(par == 2, agent, np.where(par == 3, n, n + 1))


def _mono_table(design, layout, point, boot, ci):
    if "mono_params" not in point:
        return _empty_frame(_MONO_COLUMNS)
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
    units, ucode = mono_units(design.doses, agent, par)
    cols = {}
    for c in design.by:
        cols[c] = design.block_column(c)[blk]
    cols.update({"agent": _labels(design.doses, agent), "param": _labels(names, par), "estimate": est,
                 "converged": np.repeat(conv, 4), "ci_low": lo, "ci_high": hi, "unit": _labels(units, ucode),
                 "status": _labels(MONO_STATUSES, st)})
    return _frame(cols)


# the other entry points, re-exported (they live in their own modules)
from .chou_talalay import CT_SCORE_DEFINITION, ChouTalalayResult, chou_talalay  # noqa: E402,F401
from .equivalence import equivalent_dose  # noqa: E402,F401
from .musyc_fit import MUSYC_RAW_SIGN, MUSYC_SCORE_DEFINITION, MuSyCResult, fit_musyc  # noqa: E402,F401
