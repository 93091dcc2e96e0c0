"""Array-level Loewe and ZIP scores of one two-agent dose matrix (no tables).

:func:`score_matrix` does the work of :func:`comboplan.combination.api.synergy` for one
block and one method -- validation, single-agent Hill fits, the reference model, the
scores -- on plain arrays, without building the tidy tables.  Its scores are the
``score`` column of ``synergy(...).cells`` (to rounding; ``tests/test_combination_matrix.py``).
It is the counterpart of the array-level calls of other tools (e.g. ``Loewe().fit(d1, d2, E)``
of the ``synergy`` package) and serves loops over many matrices where the tables are not
needed.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..data.validate import SCALE_BOUNDS, _fmt_label
from ..exceptions import ConvergenceWarning, DataError
from ..models.combination import loewe_index, loewe_reference, zip_delta, zip_slice
from .._sign import sign_sentence
from ..results import ResultIO, check_kind
from .design import SIGN_EXCESS
from .fits import ZIP3_MIN_LEVELS, fit_hill, fit_zip3_slices, fit_zip_slices, hill_predict
from .scoring import MIN_HILL_LEVELS, group_slices

__all__ = ["score_matrix", "MatrixScores"]

_METHODS = ("loewe", "zip")
_SCALES = {"percent": 100.0, "fraction": 1.0}
_KINDS = ("inhibition", "viability")
_REFERENCES = {
    "loewe": "Loewe (1953) Arzneimittelforschung 3:285; solved from single-agent Hill fits",
    "zip": "Yadav et al. (2015) Comput Struct Biotechnol J 13:504 (SynergyFinder form)",
}


@dataclass(frozen=True)
class MatrixScores(ResultIO):
    """Scores of the combination cells of one two-agent experiment (array-level result).

    Cells are the distinct dose pairs with both doses > 0, sorted by ``dose1`` then
    ``dose2`` (the order of ``synergy(...).cells``).  Effects and scores are on the
    inhibition scale of the declared ``scale`` (percentage points for percent data);
    positive score = synergy.

    Attributes
    ----------
    method : str
        ``"loewe"`` or ``"zip"``.
    dose1, dose2 : numpy.ndarray
        Doses of agent 1 and agent 2 of each combination cell (units of the inputs).
    n : numpy.ndarray
        Observations (replicates) per cell.
    observed : numpy.ndarray
        Mean observed effect per cell (inhibition units).
    reference : numpy.ndarray
        Expected effect under the method's null model (inhibition units).
    score : numpy.ndarray
        Loewe: ``observed - reference``; ZIP: the delta score (mean of the two slice
        fits minus the reference).  Positive = synergy.  Also available as
        :attr:`synergy_score` (the package-wide name, > 0 means synergy).
    loewe_ci : numpy.ndarray
        Loewe interaction index at the observed effect (< 1 synergy; dimensionless);
        NaN for ZIP.
    monotherapy : numpy.ndarray, shape (2, 4)
        Single-agent Hill fits ``e0, einf, ec50, h`` (inhibition units, dose unit of
        each agent, dimensionless) of agent 1 (row 0) and agent 2 (row 1).
    converged : numpy.ndarray of bool, shape (2,)
        Convergence of the two single-agent fits.
    settings : dict
        ``response_kind``, ``scale``, ``top``, ``sign_convention``, ``units``,
        ``reference`` (literature), and for ZIP ``zip_slices_failed``.
    """

    method: str
    dose1: np.ndarray
    dose2: np.ndarray
    n: np.ndarray
    observed: np.ndarray
    reference: np.ndarray
    score: np.ndarray
    loewe_ci: np.ndarray
    monotherapy: np.ndarray
    converged: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read the scores."""
        return SIGN_EXCESS

    @property
    def synergy_score(self) -> np.ndarray:
        """The scores under the package-wide name: > 0 means synergy (equal to :attr:`score`)."""
        return self.score

    def _sign(self) -> str:
        return sign_sentence("score (observed - reference effect on the inhibition scale)",
                             "loewe_ci < 1 = synergy" if self.method == "loewe" else None)

    def summary(self) -> str:
        """Plain-text summary: mean, min and max score."""
        s = self.settings
        return (f"{self.method} scores of {len(self.score)} combination cells ({s['response_kind']} input, "
                f"{s['scale']}); {SIGN_EXCESS}.\n{self._sign()}\n"
                f"mean {np.mean(self.score):.4g}, min {np.min(self.score):.4g}, max {np.max(self.score):.4g} ({s['units']}).")

    def to_frame(self):
        """The cells as a :class:`pandas.DataFrame` (one row per combination cell)."""
        import pandas as pd

        return pd.DataFrame({"dose1": self.dose1, "dose2": self.dose2, "method": self.method, "n": self.n,
                             "observed": self.observed, "reference": self.reference, "score": self.score,
                             "synergy_score": self.synergy_score, "loewe_ci": self.loewe_ci, "sign_convention": SIGN_EXCESS})

    def to_xarray(self):
        """Scores on the (dose1, dose2) grid as an :class:`xarray.Dataset`.

        Variables ``score``, ``synergy_score`` (= ``score``), ``observed``, ``reference``,
        ``loewe_ci``, ``n``; dose pairs
        without a combination cell are NaN.  ``attrs`` carry the sign convention, the
        response kind, scale and units.
        """
        import xarray as xr

        u1, i1 = np.unique(self.dose1, return_inverse=True)
        u2, i2 = np.unique(self.dose2, return_inverse=True)
        data = {}
        for name in ("score", "synergy_score", "observed", "reference", "loewe_ci", "n"):
            g = np.full((len(u1), len(u2)), np.nan)
            g[i1, i2] = getattr(self, name)
            data[name] = (("dose1", "dose2"), g)
        s = self.settings
        ds = xr.Dataset(data, coords={"dose1": u1, "dose2": u2},
                        attrs={"method": self.method, "sign_convention": SIGN_EXCESS, "sign": self._sign(),
                               "response_kind": s["response_kind"], "scale": s["scale"], "units": s["units"],
                               "reference": s["reference"]})
        for name in ("score", "synergy_score", "observed", "reference"):
            ds[name].attrs["units"] = str(s["units"])
        ds["loewe_ci"].attrs["units"] = "1"
        ds["n"].attrs["units"] = "1"
        return ds

    def plot(self, *, kind: str = "heatmap", ax=None, **kwargs):
        """Heatmap of the scores on the (dose1, dose2) grid; returns the matplotlib Axes.

        Parameters
        ----------
        kind : {"heatmap"}
        ax : matplotlib.axes.Axes, optional
        **kwargs
            ``annotate`` (bool), ``cmap`` (diverging, centred at 0; red = synergy).
        """
        from ..plot.synergy import matrix_heatmap

        check_kind(kind, ("heatmap",), "MatrixScores")
        return matrix_heatmap(self, ax=ax, **kwargs)


def _as_float(a, name):
    if np.asarray(a).dtype == bool:
        raise DataError(f"{name} is boolean; it must hold numbers.")
    try:
        x = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric (an array of numbers); got values that cannot be converted "
                        f"to float (e.g. {np.ravel(np.asarray(a, dtype=object))[:3].tolist()!r}). "
                        "Remove units or text and record the unit separately.") from None
    return x.reshape(-1)


def _first(bad):
    return int(np.flatnonzero(bad)[0])


def _validate(d1, d2, response, response_kind, scale):
    a = _as_float(d1, "d1")
    b = _as_float(d2, "d2")
    y = _as_float(response, "response")
    if not (np.shape(d1) == np.shape(d2) == np.shape(response)):
        raise DataError(f"d1, d2 and response must have the same shape (one entry per observation); got "
                        f"{np.shape(d1)}, {np.shape(d2)} and {np.shape(response)}.")
    if y.size == 0:
        raise DataError("no observations: d1, d2 and response are empty.")
    for x, name in ((a, "d1"), (b, "d2")):
        fin = np.isfinite(x)
        if not fin.all():
            raise DataError(f"{name} (dose of agent {name[-1]}) has {int((~fin).sum())} missing or infinite value(s) "
                            f"(first at position {_first(~fin)}). Untreated controls need dose 0; drop "
                            "observations that were not measured.")
        neg = x < 0
        if neg.any():
            i = _first(neg)
            raise DataError(f"{name} (dose of agent {name[-1]}) must be >= 0; got {int(neg.sum())} negative value(s) "
                            f"(first at position {i}: {_fmt_label(x[i])}). Did you pass log10(dose)? Pass doses on the "
                            "natural scale (comboplan takes logs itself).")
    fin = np.isfinite(y)
    if not fin.all():
        raise DataError(f"response has {int((~fin).sum())} missing or infinite value(s) (first at position "
                        f"{_first(~fin)}). Drop wells that were not read; comboplan does not drop them silently.")
    if response_kind not in _KINDS:
        raise DataError(f"response_kind must be one of {_KINDS}; got {response_kind!r}.")
    if scale not in _SCALES:
        raise DataError(f"scale must be 'percent' (0-100) or 'fraction' (0-1); got {scale!r}.")
    top = _SCALES[scale]
    lo_ok, hi_ok = SCALE_BOUNDS[scale]                 # as comboplan.synergy: -1.5..3 x top
    bad = (y < lo_ok) | (y > hi_ok)
    if bad.any():
        i = _first(bad)
        hint = ("; the values look like percent: pass scale='percent'"
                if scale == "fraction" and np.max(np.abs(y)) > 3 else "")
        raise DataError(f"response ({response_kind}, scale={scale!r}) must lie within [{lo_ok:g}, "
                        f"{hi_ok:g}]; {int(bad.sum())} value(s) do not (first at position {i}: {_fmt_label(y[i])}){hint}. "
                        "Normalise to the untreated control first (comboplan.normalize) or declare the right scale.")
    if scale == "percent" and np.max(np.abs(y)) <= 1.5 and len(y) > 3:
        raise DataError("response: every value is within [-1.5, 1.5] but scale='percent' was declared; these look "
                        "like fractions. Pass scale='fraction' (or multiply by 100).")
    return a, b, y, top


def _curves(a, b, eff):
    """Single-agent curves (controls + monotherapy observations, input order), NaN padded."""
    c1 = np.flatnonzero(b == 0)          # agent 1 alone and the untreated controls
    c2 = np.flatnonzero(a == 0)
    L = max(len(c1), len(c2))
    x = np.full((2, L), np.nan)
    y = np.full((2, L), np.nan)
    x[0, :len(c1)], y[0, :len(c1)] = a[c1], eff[c1]
    x[1, :len(c2)], y[1, :len(c2)] = b[c2], eff[c2]
    for k, (xk, nm) in enumerate(((a[c1], "d1"), (b[c2], "d2"))):
        lv = np.unique(xk)
        if len(lv) < MIN_HILL_LEVELS:
            raise DataError(
                f"a single-agent Hill fit of agent {k + 1} ({nm}) needs >= {MIN_HILL_LEVELS} dose levels (including "
                f"the untreated control, dose 0); found {len(lv)}: {', '.join(f'{v:g}' for v in lv)}. Add "
                "observations of the agent alone, or use comboplan.synergy with methods=('bliss', 'hsa') and "
                "monotherapy='observed' for sparse designs.")
    return x, y, np.isfinite(x)


def score_matrix(d1, d2, response, method="loewe", *, response_kind="inhibition", scale="percent",
                 zip_version="3", loewe_method="classic") -> MatrixScores:
    """Loewe or ZIP scores of one two-agent combination experiment, from arrays.

    The array-level form of :func:`comboplan.synergy` for one block and one method
    (``n_boot=0``): the same validation, single-agent Hill fits (four-parameter, all
    observations, untreated controls at dose 0), reference and scores, without the tidy
    tables, bootstrap or block summaries.  Observations at the same dose pair are
    replicates: the fits use every observation and the cell's observed effect is their
    mean.

    Parameters
    ----------
    d1, d2 : array_like
        Dose of agent 1 and agent 2 of every observation (each in its own unit, >= 0;
        0 = agent absent).
    response : array_like
        Response of every observation, same shape (see ``response_kind``, ``scale``).
    method : {"loewe", "zip"}
        ``"loewe"``: Loewe additivity solved from the single-agent Hill curves (any
        two-agent design with >= 4 dose levels of each agent alone, including 0).
        ``"zip"``: zero-interaction potency delta score as SynergyFinder computes it
        (complete dose matrix including the dose-0 row and column).
    response_kind : {"inhibition", "viability"}
        Direction of the response; viability is converted to inhibition
        (``top - viability``) so every score reads "positive = synergy".
    scale : {"percent", "fraction"}
        Response scale (``top`` = 100 or 1).  Values outside the package-wide plausible
        range :data:`comboplan.data.validate.SCALE_BOUNDS` (-1.5..3 x top) raise; the
        range admits the viability above 100 % of real screens (e.g. 187 %).
    zip_version : {"3", "2"}
        SynergyFinder version whose ZIP is reproduced (see :func:`comboplan.synergy`):
        ``"3"`` observed dose-0 baseline and free top per slice; ``"2"`` fitted
        baseline and top fixed at 100 %.
    loewe_method : {"classic", "dose_equivalence"}
        Loewe reference (``method="loewe"``): classic Loewe additivity (default) or
        Grabovsky & Tallarida's (2004) dose equivalence, defined for partial agonists
        above the weaker agent's maximum (see :func:`comboplan.synergy`).  With
        ``"dose_equivalence"`` ``settings["beyond_single_max"]`` flags the cells where
        classic Loewe is undefined and ``settings["loewe_reference_agent"]`` names the
        reference agent (1 or 2) of each cell.

    Returns
    -------
    MatrixScores
        Per combination cell (both doses > 0, sorted by ``dose1`` then ``dose2``):
        doses, replicate count, observed mean, reference, score (inhibition units of the
        scale: percentage points for percent data; positive = synergy) and, for Loewe,
        the interaction index; the two Hill fits.

    Raises
    ------
    DataError
        Non-numeric, missing, infinite or negative doses; missing or out-of-scale
        responses; arrays of different shapes; fewer than 4 dose levels of an agent
        alone; no combination cell; an incomplete matrix for ZIP; a score that cannot
        be computed (failed single-agent fit).

    Warns
    -----
    ConvergenceWarning
        A single-agent Hill fit did not converge.

    Examples
    --------
    >>> res = score_matrix(d1, d2, viability, method="loewe", response_kind="viability", scale="fraction")
    >>> res.score          # Loewe excess per combination cell, fraction of inhibition
    """
    method = str(method).lower()
    zip_version = str(zip_version)
    if zip_version not in ("2", "3"):
        raise DataError(f"zip_version must be '3' (SynergyFinder >= 3.0) or '2' (SynergyFinder 1-2); got {zip_version!r}.")
    if method not in _METHODS:
        raise DataError(f"method must be one of {_METHODS}; got {method!r}. Bliss and HSA need no fits: use "
                        "comboplan.synergy(..., methods=('bliss', 'hsa')).")
    from .loewe_equivalence import LOEWE_METHODS, LOEWE_REFERENCES

    if loewe_method not in LOEWE_METHODS:
        raise DataError(f"loewe_method must be one of {tuple(LOEWE_METHODS)}; got {loewe_method!r}.")
    a, b, y, top = _validate(d1, d2, response, response_kind, scale)
    eff = y if response_kind == "inhibition" else top - y
    # observations in a canonical order (d1, d2, effect), as comboplan.synergy takes them, so that the
    # fits and scores do not depend on the order of the input arrays
    order = np.lexsort((eff, b, a))
    a, b, eff = a[order], b[order], eff[order]
    # cells: distinct dose pairs, sorted by (d1, d2)
    l1, i1 = np.unique(a, return_inverse=True)
    l2, i2 = np.unique(b, return_inverse=True)
    i1 = np.asarray(i1).ravel()
    i2 = np.asarray(i2).ravel()
    ukey, cell = np.unique(i1 * len(l2) + i2, return_inverse=True)
    cell = np.asarray(cell).ravel()
    counts = np.bincount(cell)
    means = np.bincount(cell, weights=eff, minlength=len(ukey)) / counts
    cd1 = l1[ukey // len(l2)]
    cd2 = l2[ukey % len(l2)]
    combo = np.flatnonzero((cd1 > 0) & (cd2 > 0))
    if len(combo) == 0:
        raise DataError("no combination cells found (observations where both d1 > 0 and d2 > 0).")
    x, yc, mask = _curves(a, b, eff)
    fit = fit_hill(x, yc, mask)
    P = fit.estimates                                   # (2, 4): agent 1, agent 2
    if not fit.converged.all():
        warnings.warn(f"{int((~fit.converged).sum())} single-agent Hill fit(s) did not converge: "
                      f"{'; '.join(fit.message[~fit.converged])}.", ConvergenceWarning, stacklevel=2)
    doses = np.column_stack([cd1[combo], cd2[combo]])
    obs = means[combo]
    settings = {"response_kind": response_kind, "scale": scale, "top": top, "sign_convention": SIGN_EXCESS,
                "units": f"{'percentage points' if scale == 'percent' else 'fraction'} of inhibition",
                "reference": _REFERENCES[method] if method != "zip" else _zip_reference(zip_version),
                "zip_version": zip_version if method == "zip" else None}
    if method == "loewe" and loewe_method != "classic":
        from .loewe_equivalence import score_loewe_equivalence

        sc = score_loewe_equivalence(doses, obs[None], *(np.broadcast_to(P[:, k], doses.shape)[None] for k in range(4)))
        ref, score, lci = sc["reference_loewe"][0], sc["loewe"][0], sc["loewe_ci"][0]
        settings.update({"loewe_method": loewe_method, "reference": LOEWE_REFERENCES[loewe_method],
                         "beyond_single_max": sc["loewe_beyond_max"][0],
                         "loewe_reference_agent": sc["loewe_reference_agent"][0] + 1})
    elif method == "loewe":
        ref = loewe_reference(doses, P[:, 0], P[:, 1], P[:, 2], P[:, 3])
        score = obs - ref
        lci = loewe_index(doses, obs, P[:, 0], P[:, 1], P[:, 2], P[:, 3])
    else:
        score, ref, nfail = _zip(a, b, eff, l1, l2, i1, i2, combo, ukey, means, P, top, zip_version)
        lci = np.full(len(combo), np.nan)
        settings["zip_slices_failed"] = nfail
    bad = ~np.isfinite(score)
    if bad.any():
        i = _first(bad)
        raise DataError(f"the {method} score could not be computed for d1={doses[i, 0]:g}, d2={doses[i, 1]:g} "
                        "(a single-agent fit failed there); inspect the single-agent data or use another method.")
    return MatrixScores(method=method, dose1=doses[:, 0], dose2=doses[:, 1], n=counts[combo], observed=obs,
                        reference=ref, score=score, loewe_ci=lci, monotherapy=P, converged=fit.converged,
                        settings=settings)


def _zip_reference(zip_version):
    from .api import ZIP_VERSIONS

    return ZIP_VERSIONS[zip_version]


def _zip(a, b, eff, l1, l2, i1, i2, combo, ukey, means, P, top, zip_version="3"):
    """ZIP delta scores (SynergyFinder's ZIP of the given version), as ``synergy()`` computes them."""
    n1, n2 = len(l1), len(l2)
    if len(ukey) != n1 * n2 or l1[0] != 0.0 or l2[0] != 0.0:
        have = set(ukey.tolist())
        miss = [(l1[p // n2], l2[p % n2]) for p in range(n1 * n2) if p not in have]
        what = (f"{len(miss)} cell(s) of the {n1}x{n2} dose grid are missing, e.g. " +
                "; ".join(f"d1={u:g}, d2={v:g}" for u, v in miss[:5])) if miss else \
            "the grid has no untreated/monotherapy row or column (dose 0)"
        raise DataError(f"ZIP needs a complete dose matrix including the dose-0 row and column: {what}. "
                        "Use method='loewe', or comboplan.synergy with methods=('bliss', 'hsa') for sparse designs.")
    comb = np.flatnonzero((a > 0) & (b > 0))
    # slice key: agent 1 varied at each held dose of agent 2 (k = 0), then agent 2 varied at
    # each held dose of agent 1 (k = 1); observations of a slice in input order
    uk, sid, rows_all, xall, cnt, pos = group_slices(np.concatenate([i2[comb], n2 + i1[comb]]),
                                                     np.concatenate([comb, comb]),
                                                     np.concatenate([a[comb], b[comb]]))
    ns = len(uk)
    x = np.full((ns, int(cnt.max())), np.nan)
    y = np.full(x.shape, np.nan)
    x[sid, pos] = xall
    y[sid, pos] = eff[rows_all]
    mask = np.isfinite(x)
    varied = (uk >= n2).astype(np.int64)
    held = np.where(varied == 0, l2[np.minimum(uk, n2 - 1)], l1[np.clip(uk - n2, 0, n1 - 1)])
    xs = np.sort(x, axis=1)                                      # NaN padding sorts last
    with np.errstate(invalid="ignore"):
        nlev = (cnt > 0) + np.sum(np.diff(xs, axis=1) > 0, axis=1)   # distinct dose levels per slice
    est = np.full((ns, 4), np.nan)
    conv = np.zeros(ns, dtype=bool)
    if zip_version == "3":
        # observed response at dose 0 of the slice: the held agent alone at the held dose
        hcode = np.where(varied == 0, uk, uk - n2)
        bottom = means[np.where(varied == 0, hcode, hcode * n2)]
        fit_it = nlev >= ZIP3_MIN_LEVELS
    else:
        bottom = hill_predict(P[1 - varied], held)                 # held agent's fitted effect
        fit_it = nlev >= 2
    if fit_it.any():
        sel = np.flatnonzero(fit_it)
        if zip_version == "3":
            e, c = fit_zip3_slices(x[sel], y[sel], mask[sel], bottom[sel])
        else:
            e, c = fit_zip_slices(x[sel], y[sel], mask[sel], bottom[sel], top)
        est[sel] = e
        conv[sel] = c
    cd1 = l1[ukey[combo] // n2]
    cd2 = l2[ukey[combo] % n2]
    obs = means[combo]
    s1 = np.searchsorted(uk, ukey[combo] % n2)               # agent 1 varied, agent 2 held at the cell's dose
    s2 = np.searchsorted(uk, n2 + ukey[combo] // n2)

    def slice_value(s, dose):
        p = est[s]
        v = zip_slice(dose, p[:, 0], p[:, 1], p[:, 2], p[:, 3])
        return np.where(conv[s] & np.isfinite(v), v, obs)    # SynergyFinder: unfitted/failed slice -> observed

    f12 = slice_value(s1, cd1)
    f21 = slice_value(s2, cd2)
    y1 = hill_predict(P[0], cd1)
    y2 = hill_predict(P[1], cd2)
    delta = zip_delta(f12, f21, y1, y2, top=top)
    return delta, y1 + y2 - y1 * y2 / top, int((~conv[fit_it]).sum())
