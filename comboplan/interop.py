"""lmfit interoperability: comboplan dose-response models as :class:`lmfit.Model`, fitted
parameters as :class:`lmfit.Parameters`.

comboplan fits with its own vectorised engine (many curves at once, log scale for positive
parameters, drc-style covariance options) but uses the same models and the same
least-squares definition as lmfit. These two functions move between the two worlds:

* :func:`as_lmfit_model` gives an ``lmfit.Model`` of a comboplan dose-response model, with the
  model's declared bounds as parameter hints, its fixed defaults (e.g. ``einf = 0`` for
  ``hill3``) held fixed and a ``guess()`` from comboplan's self-start. Fitting it with
  ``model.fit(y, params, dose=x)`` gives the same estimates as ``cp.fit_dose_response``
  (to fitting tolerance) and, away from bounds, the same standard errors (both are
  ``s^2 (J'J)^-1`` with ``s^2 = RSS / (n - p)``).
* :func:`to_lmfit_parameters` turns one fitted curve of a result into ``lmfit.Parameters``:
  values, standard errors, bounds, which parameters were fixed, and correlations.

Weights: comboplan minimises ``sum(w * (y - f)^2)`` for a weight column ``w``; lmfit
multiplies residuals by its ``weights``, so pass ``weights=np.sqrt(w)`` to lmfit.

Example::

    import comboplan as cp
    from comboplan.interop import as_lmfit_model, to_lmfit_parameters

    model = as_lmfit_model("hill4", fixed={"einf": 0})
    params = model.guess(y, dose=x)
    out = model.fit(y, params, dose=x)          # an lmfit.ModelResult
    res = cp.fit_dose_response(df, dose="dose", response="y", model="hill4", fixed={"einf": 0})
    pars = to_lmfit_parameters(res, curve=0)   # lmfit.Parameters with stderr, bounds, correl
"""
from __future__ import annotations

import inspect
import re
from typing import Mapping

import numpy as np
import pandas as pd

from .exceptions import InvalidParameterError
from .models.dose_response import get_model
from .models.spec import ModelSpec, unit_of

__all__ = ["as_lmfit_model", "to_lmfit_parameters"]


def _model_function(spec: ModelSpec):
    """The spec's function with an explicit signature ``(dose, <params>)`` that lmfit can read."""
    names = spec.param_names

    def func(dose, **params):
        return spec.func(np.asarray(dose, dtype=float), *[params[n] for n in names])

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    func.__signature__ = inspect.Signature([inspect.Parameter("dose", kind)]
                                           + [inspect.Parameter(n, kind) for n in names])
    func.__name__ = spec.name.replace(".", "_")
    func.__doc__ = f"comboplan model {spec.name}: {spec.formula or spec.reference}"
    return func


def as_lmfit_model(model="hill4", *, fixed: Mapping[str, float] | None = None, prefix: str = ""):
    """A comboplan dose-response model as an :class:`lmfit.Model`.

    Parameters
    ----------
    model : str or ModelSpec, default "hill4"
        Any name :func:`comboplan.get_model` accepts (``"hill4"``, ``"hill3"``, ``"LL.4"``,
        ``"W1.4"``...) or a :class:`~comboplan.models.spec.ModelSpec`.
    fixed : mapping, optional
        Parameters held at a value (``vary=False``), as ``fixed=`` of
        :func:`comboplan.fit_dose_response`; the model's own fixed defaults (``einf = 0``
        for ``hill3``, ``c = 0`` for ``LL.3``) always apply unless overridden here.
    prefix : str, default ""
        lmfit prefix of the parameter names (for composite models).

    Returns
    -------
    lmfit.Model
        Independent variable ``dose``; parameter names as in comboplan's tables; the
        model's declared bounds as ``min``/``max`` hints; ``guess(data, dose=...)`` returns
        starting values from comboplan's self-start. The comboplan spec is ``model.spec``.

    Notes
    -----
    comboplan optimises positive parameters (EC50, slope) on the log scale; lmfit works on
    the natural scale with its own bound transform. Both reach the same least-squares
    optimum, and their standard errors agree for estimates away from a bound.
    """
    import lmfit

    spec = get_model(model)
    if not isinstance(prefix, str):
        raise InvalidParameterError(f"as_lmfit_model(): prefix must be a str; got {prefix!r}")
    allfixed = {**spec.fixed_defaults, **dict(fixed or {})}
    unknown = sorted(set(allfixed) - set(spec.param_names))
    if unknown:
        raise InvalidParameterError(
            f"as_lmfit_model(): fixed names parameter(s) {unknown} that model {spec.name!r} does not have; "
            f"its parameters are {list(spec.param_names)}")

    class ComboplanModel(lmfit.Model):
        """lmfit.Model of a comboplan dose-response spec (see :func:`as_lmfit_model`)."""

        def guess(self, data, dose=None, **kws):
            """Starting values from comboplan's self-start for this model."""
            if dose is None:
                raise InvalidParameterError("guess(): pass the doses, guess(y, dose=x)")
            x = np.asarray(dose, dtype=float).ravel()[None, :]
            y = np.asarray(data, dtype=float).ravel()[None, :]
            mask = np.isfinite(x) & np.isfinite(y)
            with np.errstate(all="ignore"):
                start = np.asarray(spec.selfstart(np.where(mask, x, np.nan), np.where(mask, y, np.nan), mask))[0]
            pars = self.make_params()
            for name, value in zip(spec.param_names, start):
                p = pars[self.prefix + name]
                if p.vary and np.isfinite(value):
                    lo, hi = p.min, p.max
                    p.set(value=float(np.clip(value, lo, hi)))
            return lmfit.models.update_param_vals(pars, self.prefix, **kws)

    m = ComboplanModel(_model_function(spec), independent_vars=["dose"], prefix=prefix, name=spec.name)
    for p in spec.params:
        hint: dict = {}
        lo, hi = p.bounds
        if np.isfinite(lo):
            hint["min"] = float(lo)
        if np.isfinite(hi):
            hint["max"] = float(hi)
        if p.name in allfixed:
            hint.update(value=float(allfixed[p.name]), vary=False)
        elif p.transform == "log":
            hint["value"] = 1.0
        else:
            hint["value"] = 0.0
        m.set_param_hint(p.name, **hint)
    m.spec = spec
    return m


def _identifier(name: str) -> str:
    """A valid lmfit parameter name (a Python identifier) for a table's parameter name."""
    out = re.sub(r"\W", "_", str(name))
    return "p_" + out if not out or out[0].isdigit() else out


def _select_curve(table: pd.DataFrame, curve, by, what: str) -> pd.DataFrame:
    """Rows of ``table`` for one curve: an integer index, or a mapping {by-column: value}."""
    if isinstance(curve, Mapping):
        missing = [k for k in curve if k not in table.columns]
        if missing:
            raise InvalidParameterError(
                f"to_lmfit_parameters(): curve names column(s) {missing} that {what} does not have; "
                f"choose from {list(by) or list(table.columns)}")
        sel = np.ones(len(table), dtype=bool)
        for k, v in curve.items():
            sel &= (table[k] == v).to_numpy()
        rows = table[sel]
        if "curve" in rows.columns and rows["curve"].nunique() > 1:
            raise InvalidParameterError(
                f"to_lmfit_parameters(): curve={dict(curve)!r} matches {rows['curve'].nunique()} curves; "
                f"name every by-column ({list(by)})")
    else:
        if isinstance(curve, (bool, np.bool_)) or not isinstance(curve, (int, np.integer)):
            raise InvalidParameterError(
                f"to_lmfit_parameters(): curve must be an integer index or a mapping of by-column values, "
                f"e.g. curve=0 or curve={{'time_h': 24}}; got {curve!r}")
        if "curve" not in table.columns:
            if curve != 0:
                raise InvalidParameterError(f"to_lmfit_parameters(): {what} has one set of parameters; use curve=0")
            rows = table
        else:
            rows = table[table["curve"] == int(curve)]
    if rows.empty:
        raise InvalidParameterError(f"to_lmfit_parameters(): no curve {curve!r} in {what}")
    return rows


def _from_dose_response(result, curve):
    import lmfit

    spec = result.spec
    table = result.params
    rows = _select_curve(table, curve, result.by, "this result")
    i = int(rows["curve"].iloc[0])
    est = result.fit.estimates[i]
    cov = result.fit.cov[i]
    free = result.fit.free
    on_bound = result.fit.bound_flags[i]
    stderr = rows["stderr"].to_numpy(dtype=float)
    bounds = dict(result.bounds or {})
    units = [unit_of(p, result.dose_unit, result.response_unit) for p in spec.params]
    pars = lmfit.Parameters()
    for j, p in enumerate(spec.params):
        lo, hi = bounds.get(p.name, p.bounds)
        value = float(est[j])
        par = lmfit.Parameter(p.name, value=value if np.isfinite(value) else np.nan, vary=bool(free[j]),
                              min=float(lo), max=float(hi))
        par.stderr = float(stderr[j]) if np.isfinite(stderr[j]) else None
        par.user_data = {"unit": units[j], "ci_low": float(rows["ci_low"].iloc[j]),
                         "ci_high": float(rows["ci_high"].iloc[j]), "on_bound": bool(on_bound[j]),
                         "ci_level": result.ci_level}
        pars.add(par)
    ok = [j for j in range(len(spec.params)) if free[j] and not on_bound[j] and np.isfinite(stderr[j])]
    for j in ok:
        correl = {}
        for k in ok:
            if k != j:
                denom = np.sqrt(cov[j, j] * cov[k, k])
                if np.isfinite(cov[j, k]) and denom > 0:
                    correl[spec.params[k].name] = float(cov[j, k] / denom)
        pars[spec.params[j].name].correl = correl
    return pars


def _from_table(result, curve):
    import lmfit

    table = getattr(result, "params", None)
    if not isinstance(table, pd.DataFrame):
        raise InvalidParameterError(
            f"to_lmfit_parameters(): {type(result).__name__} has no parameter table (.params); pass a fit "
            "result such as cp.fit_dose_response(...)")
    name_col = next((c for c in ("param", "parameter") if c in table.columns), None)
    if name_col is None or "estimate" not in table.columns:
        raise InvalidParameterError(
            f"to_lmfit_parameters(): {type(result).__name__}.params has no 'param'/'parameter' and 'estimate' "
            f"columns (it has {list(table.columns)})")
    by = [c for c in table.columns if c not in {name_col, "estimate", "stderr", "ci_low", "ci_high", "unit",
                                                 "fixed", "on_bound", "rse_pct", "shrinkage_pct", "note"}]
    rows = _select_curve(table, curve, by, type(result).__name__)
    if rows[name_col].duplicated().any():
        raise InvalidParameterError(
            f"to_lmfit_parameters(): {type(result).__name__}.params holds several sets of parameters; choose one "
            f"with curve={{column: value}} (columns {by})")
    pars = lmfit.Parameters()
    for _, r in rows.iterrows():
        fixed = bool(r["fixed"]) if "fixed" in rows.columns and pd.notna(r["fixed"]) else False
        value = float(r["estimate"])
        par = lmfit.Parameter(_identifier(r[name_col]), value=value, vary=not fixed)
        se = float(r["stderr"]) if "stderr" in rows.columns and pd.notna(r["stderr"]) else np.nan
        par.stderr = se if np.isfinite(se) else None
        par.user_data = {"name": str(r[name_col])}
        for c in ("unit", "ci_low", "ci_high"):
            if c in rows.columns:
                par.user_data[c] = r[c]
        pars.add(par)
    return pars


def to_lmfit_parameters(result, *, curve=0):
    """One fitted curve's parameters as :class:`lmfit.Parameters`.

    Parameters
    ----------
    result : DoseResponseResult or a result with a ``params`` table
        For :func:`comboplan.fit_dose_response` results every field is filled (values,
        standard errors, bounds, ``vary``, correlations). Other results with a tidy
        ``params`` table (columns ``param`` or ``parameter``, ``estimate``, ``stderr``) give
        values and standard errors; names that are not Python identifiers
        (``potency.paclitaxel``) become ``potency_paclitaxel``, the original name kept in
        ``user_data["name"]``.
    curve : int or mapping, default 0
        Which curve: its index (the ``curve`` column of ``result.params``) or the values of
        the by-columns, e.g. ``curve={"time_h": 24.0}``.

    Returns
    -------
    lmfit.Parameters
        ``value`` the estimate; ``stderr`` the standard error (``None`` where comboplan
        reports NaN: fixed, on a bound, or not estimable); ``min``/``max`` the bounds the fit
        used; ``vary=False`` for fixed parameters; ``correl`` from the covariance matrix;
        ``user_data`` with the unit, the confidence interval and its level. The parameters
        evaluate with :func:`as_lmfit_model`: ``as_lmfit_model(res.spec).eval(pars, dose=d)``.

    Raises
    ------
    InvalidParameterError
        ``curve`` is not an index or by-value mapping of the result, or ``result`` has no
        parameter table.
    """
    from .fitting.dose_response import DoseResponseResult

    if isinstance(result, DoseResponseResult):
        return _from_dose_response(result, curve)
    return _from_table(result, curve)
