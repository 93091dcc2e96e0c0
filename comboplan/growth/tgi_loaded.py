"""A population TGI fit read back from netCDF by :func:`comboplan.load_result`.

:meth:`TGIFit.to_netcdf <comboplan.growth.tgi.TGIFit.to_netcdf>` stores the population and
individual tables and the estimation-scale covariance, not the data or the predictions; the
object read back (:class:`ReloadedTGIFit`) is :func:`~comboplan.growth.tgi.load_tgi_fit`'s
:class:`~comboplan.growth.tgi.LoadedTGIFit` (planning: ``typical``, ``omega``, ``model()``,
``variability()``, ``draws()``) with the rest of the result protocol: the ``individual`` table,
``summary()``, ``to_xarray()``, ``to_netcdf()`` and ``plot()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from .tgi import LoadedTGIFit, load_tgi_fit

__all__ = ["ReloadedTGIFit", "reload_tgi_fit"]


@dataclass(frozen=True)
class ReloadedTGIFit(LoadedTGIFit):
    """A :class:`~comboplan.growth.tgi.TGIFit` read back from its netCDF file.

    Attributes
    ----------
    population : pandas.DataFrame
        As in the fit: ``parameter, kind, unit, estimate, stderr, rse_pct, ci_low, ci_high,
        shrinkage_pct`` (the ``note`` column is not stored).
    individual : pandas.DataFrame
        ``subject, arm`` and each animal's parameters.
    settings : dict
        ``agents``, units, estimator, error model, growth law, ``pk`` (given at load).
    dataset : xarray.Dataset
        The file's dataset (what :meth:`to_xarray` returns).
    """

    individual: pd.DataFrame = None
    dataset: object = field(default=None, repr=False)

    def summary(self) -> str:
        """Estimator, fit criteria and the population table, as text."""
        a = self.dataset.attrs
        s = self.settings
        lines = [f"Population TGI fit read from {s.get('source', 'netCDF')} ({s['estimator']}): {s['growth']} growth, "
                 f"linear kill by {', '.join(s['agents']) or 'no agent'}; residual error {s['error']}.",
                 f"OFV {float(a.get('ofv', np.nan)):.4g}, AIC {float(a.get('aic', np.nan)):.4g}, BIC "
                 f"{float(a.get('bic', np.nan)):.4g}, converged {bool(int(a.get('converged', 0)))}; "
                 f"{len(self.individual)} animals.",
                 "The data and predictions are not stored in the file; PK "
                 + ("given at load." if s.get("pk") else "not given (pass load_result(path, pk=...) to plan).")]
        tab = self.population[["parameter", "estimate", "stderr", "rse_pct", "ci_low", "ci_high", "unit",
                               "shrinkage_pct"]]
        lines.append(tab.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        return "\n".join(lines)

    def to_xarray(self):
        """The dataset stored by :meth:`TGIFit.to_xarray` (a copy)."""
        return self.dataset.copy()

    def to_netcdf(self, path) -> None:
        """Write the stored dataset again (the format of :meth:`TGIFit.to_netcdf`)."""
        self.dataset.to_netcdf(path, engine="h5netcdf")

    def plot(self, *, kind: str = "population", ax=None, **kwargs):
        """Population estimates with their confidence intervals, relative to the estimate (log axis);
        returns the matplotlib Axes (``kind="population"``: the only kind without the data)."""
        from ..plot._common import new_axes
        from ..results import check_kind

        check_kind(kind, ("population",), "ReloadedTGIFit")
        ax = new_axes(ax)
        p = self.population[self.population["estimate"].to_numpy(float) > 0].reset_index(drop=True)
        est = p["estimate"].to_numpy(float)
        lo, hi = p["ci_low"].to_numpy(float) / est, p["ci_high"].to_numpy(float) / est
        y = np.arange(len(p))
        ax.errorbar(np.ones(len(p)), y, xerr=[np.clip(1 - lo, 0, None), np.clip(hi - 1, 0, None)], fmt="o",
                    capsize=3, **kwargs)
        ax.set_yticks(y, [f"{n} = {e:.3g} {u}" for n, e, u in zip(p["parameter"], est, p["unit"])])
        ax.set_xscale("log")
        ax.set_xlabel("CI relative to the estimate")
        ax.invert_yaxis()
        return ax


def reload_tgi_fit(path, dataset, pk=None) -> ReloadedTGIFit:
    """Read a :class:`~comboplan.growth.tgi.TGIFit` file; ``dataset`` is its (loaded) root group."""
    base = load_tgi_fit(path, pk=pk)
    ds = dataset
    ind = pd.DataFrame(ds["individual"].values, columns=[str(c) for c in ds["iparameter"].values])
    ind.insert(0, "arm", ds["arm"].values.astype(str))
    ind.insert(0, "subject", ds["subject"].values.astype(str))
    return ReloadedTGIFit(**{f.name: getattr(base, f.name) for f in fields(base)}, individual=ind, dataset=ds)
