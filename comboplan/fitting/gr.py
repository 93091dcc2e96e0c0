r"""Growth-rate inhibition (GR) curve fits and metrics (Hafner et al. 2016).

GR values (computed by :func:`comboplan.gr_values` from counts, or given):

.. math:: GR(c) = 2^{\log_2(x(c)/x_0) / \log_2(x_{ctrl}/x_0)} - 1

1 = no effect, 0 = complete cytostasis, < 0 = cell killing (-1: all cells dead).  The
curve :math:`GR(c) = GR_\infty + (1 - GR_\infty) / (1 + (c / GEC_{50})^{h_{GR}})` is fitted
per curve by the comboplan batch engine (the four-parameter Hill model with its top fixed
at 1; bounds as in the GRmetrics package: ``-1 <= GRinf <= 1``, ``0.1 <= h_GR <= 5``,
``GEC50`` within 100-fold of the tested range), and a flat line is kept instead when an
F-test does not reject it at ``flat_alpha`` (GRmetrics' rule).

Metrics per curve: ``GR50`` (concentration at GR = 0.5, from the fit; ``inf`` when
``GRinf >= 0.5``), ``GRmax`` (the smaller mean GR value of the two highest tested
concentrations), ``GR_AOC`` (area over the curve of the mean GR values, trapezoidal rule
over log10 concentration), ``GEC50``, ``GRinf``, ``h_GR``.

References
----------
Hafner M, Niepel M, Chung M, Sorger PK. Growth rate inhibition metrics correct for
confounders in measuring sensitivity to cancer drugs. Nat Methods 2016;13:521-527.
Clark NA et al. GRcalculator: an online tool for calculating and mining dose-response
data. BMC Cancer 2017;17:698 (GRmetrics package: GRmax, GR_AOC, bounds, F-test).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..data.validate import _fmt_label, as_list, require_columns, require_frame
from ..exceptions import DataError
from ..results import ResultIO

__all__ = ["fit_gr", "GRResult", "gr_curve", "gr50_from_params"]

_SIGN = ("GR = 1 no effect; 0 < GR < 1 partial growth inhibition; GR = 0 cytostatic; GR < 0 cytotoxic "
         "(-1: every cell died). Lower GR50/GRmax and higher GR_AOC mean a more sensitive cell line; "
         "synergy_score is not defined for single-agent GR curves")
_REFERENCE = ("Hafner M, Niepel M, Chung M, Sorger PK (2016) Nat Methods 13:521-527; GRmetrics/GRcalculator "
              "(Clark et al. 2017 BMC Cancer 17:698) for GRmax, GR_AOC, bounds and the flat-fit F-test")
STATIC_TOL = 0.05   # |GRmax| below this: cytostatic


def gr_curve(c, GRinf, GEC50, h_GR):
    """GR dose-response curve ``GRinf + (1 - GRinf) / (1 + (c / GEC50)^h_GR)``; broadcasts.

    Parameters
    ----------
    c : array_like
        Concentration (>= 0, unit of ``GEC50``).
    GRinf : array_like
        GR value at infinite concentration (dimensionless, -1..1).
    GEC50 : array_like
        Concentration of half-maximal effect (concentration unit, > 0).
    h_GR : array_like
        Hill slope (> 0, dimensionless).

    Returns
    -------
    numpy.ndarray
        GR value (dimensionless); 1 at ``c = 0``.
    """
    from ..models.dose_response import hill

    return hill(c, 1.0, GRinf, GEC50, h_GR)


def gr50_from_params(GRinf, GEC50, h_GR):
    """Concentration at which the fitted GR curve crosses 0.5.

    ``GR50 = GEC50 ((1 - GRinf) / (0.5 - GRinf) - 1)^(1 / h_GR)`` when ``GRinf < 0.5``;
    ``inf`` otherwise (the curve never reaches 0.5).

    Parameters
    ----------
    GRinf, GEC50, h_GR : array_like
        Curve parameters (dimensionless, concentration unit, dimensionless).

    Returns
    -------
    numpy.ndarray
        GR50 (concentration unit of ``GEC50``).
    """
    GRinf, GEC50, h = (np.asarray(v, dtype=float) for v in (GRinf, GEC50, h_GR))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = GEC50 * ((1.0 - GRinf) / (0.5 - GRinf) - 1.0) ** (1.0 / h)
    return np.where(GRinf < 0.5, v, np.inf)


@dataclass(frozen=True)
class GRResult(ResultIO):
    """GR curve fits and metrics.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per curve (``by`` columns): ``GR50``, ``GR50_flag`` (``""``, ``"above
        tested range"``, ``"below tested range"``, ``"not reached"``), ``GRmax``,
        ``GR_AOC``, ``GEC50``, ``GRinf``, ``h_GR``, ``r2``, ``fit_type`` (``"sigmoid"`` /
        ``"flat"``), ``f_pvalue``, ``effect`` (``"cytotoxic"``, ``"cytostatic"``,
        ``"partial growth inhibition"``, ``"no effect"``: the static/toxic reading of
        GRmax), ``n_doses``, ``dose_min``, ``dose_max``, ``converged``, ``message``.
    params : pandas.DataFrame
        Per curve: ``param`` (GRinf, GEC50, h_GR), ``estimate``, ``stderr``, ``ci_low``,
        ``ci_high`` (delta method; GEC50 on the log scale), ``unit``.
    values : pandas.DataFrame
        The rows used: ``by`` columns, dose and ``GR``.
    settings : dict
    """

    metrics: pd.DataFrame
    params: pd.DataFrame
    values: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read GR values and metrics."""
        return _SIGN

    def predict(self, dose, curve: int = 0):
        """Fitted GR curve of row ``curve`` of ``metrics`` at ``dose`` (dimensionless)."""
        m = self.metrics.iloc[curve]
        d = np.asarray(dose, dtype=float)
        if m["fit_type"] == "flat":
            return np.full(d.shape, m["GRinf"])
        return gr_curve(d, m["GRinf"], m["GEC50"], m["h_GR"])

    def summary(self) -> str:
        """Plain-text table of the GR metrics."""
        cols = [*self.settings["by"], "GR50", "GR50_flag", "GRmax", "GR_AOC", "GEC50", "GRinf", "h_GR", "fit_type",
                "effect"]
        return (f"GR metrics ({_REFERENCE}).\n{_SIGN}.\nUnits: GR50, GEC50 in {self.settings['dose_unit']}; "
                f"GR_AOC in log10({self.settings['dose_unit']}); others dimensionless.\n"
                + self.metrics[cols].to_string(index=False))

    def to_xarray(self):
        """Metrics as an :class:`xarray.Dataset` (dim ``curve``; ``units`` attribute per variable)."""
        import xarray as xr

        du = self.settings["dose_unit"]
        units = {"GR50": du, "GRmax": "1", "GR_AOC": f"log10({du})", "GEC50": du, "GRinf": "1", "h_GR": "1",
                 "r2": "1", "f_pvalue": "1"}
        m = self.metrics
        coords = {"curve": np.arange(len(m))}
        for c in self.settings["by"]:
            v = m[c].to_numpy()
            coords[c] = ("curve", v.astype(str) if v.dtype == object else v)
        ds = xr.Dataset({k: (("curve",), m[k].to_numpy(float), {"units": u}) for k, u in units.items()},
                        coords=coords)
        ds["fit_type"] = (("curve",), m["fit_type"].to_numpy().astype(str))
        ds["effect"] = (("curve",), m["effect"].to_numpy().astype(str), {"units": ""})
        ds["fit_type"].attrs["units"] = ""
        ds.attrs.update({"reference": _REFERENCE, "sign_convention": _SIGN, "dose": self.settings["dose"]})
        return ds

    def plot(self, *, kind: str = "curves", ax=None, **kwargs):
        """GR values and fitted curves against concentration (log axis).

        Parameters
        ----------
        kind : {"curves"}
            The only kind: points (mean GR per dose) and fitted curves.
        ax : matplotlib.axes.Axes, optional
        **kwargs
            Passed to ``Axes.plot`` for the curves.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if kind != "curves":
            raise DataError(f"plot kind must be 'curves'; got {kind!r}.")
        if ax is None:
            _, ax = plt.subplots()
        dose, by = self.settings["dose"], self.settings["by"]
        groups = [((), self.values)] if not by else list(self.values.groupby(by, sort=False))
        for i, (key, g) in enumerate(groups):
            mean = g.groupby(dose)["GR"].mean()
            line = ax.plot(mean.index, mean.to_numpy(), "o")[0]
            grid = np.geomspace(mean.index.min(), mean.index.max(), 100)
            ax.plot(grid, self.predict(grid, curve=i), color=line.get_color(),
                    label=", ".join(map(str, key if isinstance(key, tuple) else (key,))) or None, **kwargs)
        ax.set_xscale("log")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(f"{dose} ({self.settings['dose_unit']})")
        ax.set_ylabel("GR value")
        if by:
            ax.legend()
        return ax


def fit_gr(data, *, dose, gr=None, count=None, control=None, time_zero=None, x0=None, x_ctrl=None, by=None,
           time_zero_by=None, dose_unit=None, ci_level=0.95, flat_alpha=0.05, force=False) -> GRResult:
    """Fit GR dose-response curves and report GR50, GRmax, GR_AOC, GEC50, GRinf, h_GR.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    dose : str
        Concentration column (>= 0; GR50 and GEC50 are in its unit).  Rows at dose 0
        are controls and are not fitted.
    gr : str, optional
        Column of GR values (dimensionless).  Give either ``gr`` or ``count``.
    count : str, optional
        End-point cell counts; GR values are computed by :func:`comboplan.gr_values`
        with ``control``, ``time_zero``, ``x0``, ``x_ctrl``, ``by`` and
        ``time_zero_by`` (see there).
    control, time_zero, x0, x_ctrl, time_zero_by :
        Passed to :func:`comboplan.gr_values` (with ``count``).
    by : str or list of str, optional
        Curve columns (e.g. ``["cell_line", "agent"]``).
    dose_unit : str, optional
        Unit of ``dose`` (recorded; default ``"unit of <dose>"``).
    ci_level : float
        Level of the delta-method intervals of ``params``.
    flat_alpha : float
        A curve whose sigmoid fit does not beat a flat line by an F-test at this level
        is reported as flat (``GRinf`` = mean GR, ``GEC50`` = 0, ``GR50`` = +-inf),
        as GRmetrics does.
    force : bool
        Keep the sigmoid fit whatever the F-test says.

    Returns
    -------
    GRResult

    Raises
    ------
    DataError
        Neither or both of ``gr`` and ``count``; GR values outside [-1.5, 3]; a curve
        with fewer than 3 tested (non-zero) doses (named, with the fix).
    """
    from .batch import fit_curves
    from ..models.dose_response import HILL4

    df = require_frame(data)
    by = as_list(by)
    if (gr is None) == (count is None):
        raise DataError("fit_gr needs exactly one of gr=<column of GR values> or count=<column of end-point cell "
                        "counts> (with control=/x_ctrl= and time_zero=/x0=).")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie in (0, 1); got {ci_level!r}.")
    if count is not None:
        from ..data.normalize import gr_values

        df = gr_values(df, count, control=control, time_zero=time_zero, x0=x0, x_ctrl=x_ctrl, by=by or None,
                       time_zero_by=time_zero_by, name="GR")
        gr = "GR"
    require_columns(df, [dose, gr, *by])
    c = pd.to_numeric(df[dose], errors="coerce").to_numpy(float)
    g = pd.to_numeric(df[gr], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(c) | (c < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {dose!r} must be finite and >= 0; row {_fmt_label(df.index[i])} is {df[dose].iloc[i]!r}. "
                        "Did you pass log10(dose)? Pass concentrations on the natural scale.")
    bad = ~np.isfinite(g) | (g < -1.5) | (g > 3.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {gr!r} holds GR values, which lie in about [-1, 1]; row {_fmt_label(df.index[i])} is "
                        f"{df[gr].iloc[i]!r}. Pass raw counts as count=... (with time_zero and control) instead.")
    keep = c > 0
    vals = pd.DataFrame({**{k: df[k].to_numpy() for k in by}, dose: c, "GR": g})[keep].reset_index(drop=True)
    groups = [((), vals)] if not by else [(k if isinstance(k, tuple) else (k,), v)
                                          for k, v in vals.groupby(by, sort=False)]
    n = len(groups)
    L = max(len(v) for _, v in groups) if groups else 0
    X = np.full((n, L), np.nan)
    Y = np.full((n, L), np.nan)
    cmax = np.ones(n)
    rows = []
    for i, (key, v) in enumerate(groups):
        cc = v[dose].to_numpy()
        lv = np.unique(cc)
        if len(lv) < 3:
            lab = ", ".join(f"{b}={_fmt_label(k)}" for b, k in zip(by, key)) or "all rows"
            raise DataError(f"fit_gr: curve {lab} has {len(lv)} tested concentration(s) > 0; the GR curve (3 "
                            "parameters) needs >= 3. Add doses or drop the curve.")
        cmax[i] = lv.max()
        X[i, :len(v)] = cc / cmax[i]
        Y[i, :len(v)] = v["GR"].to_numpy()
        # GRmax and GR_AOC from the mean GR value per concentration (GRmetrics)
        m = v.groupby(dose)["GR"].mean()
        lc = np.log10(m.index.to_numpy(float))
        grmax = float(np.min(m.to_numpy()[-2:]))
        aoc = float(np.trapezoid(1.0 - m.to_numpy(), lc)) if hasattr(np, "trapezoid") else \
            float(np.trapz(1.0 - m.to_numpy(), lc))
        rows.append({**dict(zip(by, key)), "GRmax": grmax, "GR_AOC": aoc, "n_doses": len(lv),
                     "dose_min": float(lv.min()), "dose_max": float(lv.max())})
    rel_lo = min(r["dose_min"] / r["dose_max"] for r in rows) * 1e-2
    mask = np.isfinite(X) & np.isfinite(Y)
    # start: GRinf from the two highest doses, GEC50 at the geometric mid-range, h = 1 (and a grid)
    p0s = []
    for ec in (0.1, 0.01, 1.0):
        for h in (1.0, 2.0):
            p0 = np.column_stack([np.ones(n), np.clip([r["GRmax"] for r in rows], -0.95, 0.95),
                                  np.full(n, ec), np.full(n, h)])
            p0s.append(p0)
    best = None
    for p0 in p0s:
        f = fit_curves(HILL4, X, Y, mask=mask, p0=p0, fixed={"e0": 1.0},
                       bounds={"einf": (-1.0, 1.0), "ec50": (rel_lo, 1e2), "h": (0.1, 5.0)},
                       maxiter=300, xtol=1.49e-8, gtol=1e-8)
        if best is None:
            best = f
            continue
        better = np.where(np.isfinite(f.rss), f.rss, np.inf) < np.where(np.isfinite(best.rss), best.rss, np.inf) \
            * (1 - 1e-10)
        if better.any():
            for attr in ("estimates", "cov", "rss", "converged", "message", "niter"):
                getattr(best, attr)[better] = getattr(f, attr)[better]
    est = best.estimates
    z = stats.norm.ppf(0.5 + ci_level / 2)
    nobs = mask.sum(axis=1)
    ybar = np.array([np.mean(Y[i, mask[i]]) for i in range(n)])
    rss1 = np.array([np.sum((Y[i, mask[i]] - ybar[i]) ** 2) for i in range(n)])
    rss2 = best.rss
    with np.errstate(divide="ignore", invalid="ignore"):
        fval = ((rss1 - rss2) / (3 - 1)) / (rss2 / (nobs - 3))
        fp = stats.f.sf(fval, 2, nobs - 3)
    fp = np.where(rss2 <= 1e-28 * np.maximum(rss1, 1e-300), 0.0, fp)
    P = []
    du = dose_unit or f"unit of {dose}"
    for i, r in enumerate(rows):
        GRinf, ec, h = est[i, 1], est[i, 2] * cmax[i], est[i, 3]
        cov = best.cov[i]
        flat = (not force) and not (np.isfinite(fp[i]) and fp[i] <= flat_alpha)
        if flat:
            GRinf_r, ec_r, h_r = ybar[i], 0.0, np.nan
            gr50 = np.inf if ybar[i] > 0.5 else -np.inf
            flag = "not reached" if ybar[i] > 0.5 else "below tested range"
        else:
            GRinf_r, ec_r, h_r = GRinf, ec, h
            gr50 = float(gr50_from_params(GRinf, ec, h))
            flag = ("not reached" if not np.isfinite(gr50) else
                    "above tested range" if gr50 > r["dose_max"] else
                    "below tested range" if gr50 < r["dose_min"] else "")
        grmax = r["GRmax"]
        effect = ("cytotoxic" if grmax < -STATIC_TOL else "cytostatic" if grmax <= STATIC_TOL else
                  "no effect" if grmax >= 1 - STATIC_TOL else "partial growth inhibition")
        r2 = 1 - rss2[i] / rss1[i] if rss1[i] > 0 else np.nan
        r.update({"GR50": gr50, "GR50_flag": flag, "GEC50": ec_r, "GRinf": GRinf_r, "h_GR": h_r, "r2": r2,
                  "fit_type": "flat" if flat else "sigmoid", "f_pvalue": float(fp[i]), "effect": effect,
                  "converged": bool(best.converged[i]), "message": str(best.message[i])})
        se = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.isfinite(cov).all() else np.full(4, np.nan)
        se = np.where(np.isfinite(np.diag(cov)), se, np.nan)
        key = {b: r[b] for b in by}
        P.append({**key, "param": "GRinf", "estimate": GRinf, "stderr": se[1], "ci_low": GRinf - z * se[1],
                  "ci_high": GRinf + z * se[1], "unit": "1"})
        sl = se[2] / est[i, 2] if est[i, 2] > 0 else np.nan     # SE of log(GEC50)
        P.append({**key, "param": "GEC50", "estimate": ec, "stderr": se[2] * cmax[i], "ci_low": ec * np.exp(-z * sl),
                  "ci_high": ec * np.exp(z * sl), "unit": du})
        P.append({**key, "param": "h_GR", "estimate": h, "stderr": se[3], "ci_low": h - z * se[3],
                  "ci_high": h + z * se[3], "unit": "1"})
    order = [*by, "GR50", "GR50_flag", "GRmax", "GR_AOC", "GEC50", "GRinf", "h_GR", "r2", "fit_type", "f_pvalue",
             "effect", "n_doses", "dose_min", "dose_max", "converged", "message"]
    settings = {"dose": dose, "by": by, "dose_unit": du, "ci_level": ci_level, "flat_alpha": flat_alpha,
                "force": force, "reference": _REFERENCE, "gr_column": gr,
                "units": {"GR50": du, "GEC50": du, "GR_AOC": f"log10({du})", "GRmax": "1", "GRinf": "1",
                          "h_GR": "1"}}
    return GRResult(metrics=pd.DataFrame(rows)[order], params=pd.DataFrame(P), values=vals, settings=settings)
