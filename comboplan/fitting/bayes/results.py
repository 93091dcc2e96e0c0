"""Immutable results of the Bayesian fits, wrapping :class:`arviz.InferenceData`.

Every result has

* ``idata``: the posterior (``posterior``, ``sample_stats``, ``log_likelihood``,
  ``posterior_predictive``, ``observed_data``, ``constant_data``) with named coords;
* ``params``: a tidy table (posterior mean, sd, median, credible interval, R-hat,
  bulk/tail ESS, unit);
* ``draws(var_names)``: posterior draws as an :class:`xarray.Dataset` (for the
  simulator), ``summary()``, ``plot(...)``, ``to_netcdf(path)`` /
  ``from_netcdf(path)`` (the file holds everything needed to rebuild the result).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..._sign import sign_sentence
from ...exceptions import DataError
from .sampling import Diagnostics, check_diagnostics

__all__ = ["BayesResult", "BayesGrowthResult", "BayesDoseResponseResult", "load_result"]

#: the one sign sentence of the Bayesian growth interaction and of the dose-response interactions
GROWTH_SIGN = sign_sentence("-interaction = r_A + r_B - r_0 - r_AB (Bliss score on growth rates, as invivo_synergy)",
                            "interaction = r_AB - r_A - r_B + r_0 < 0 = synergy")
DOSE_RESPONSE_SIGN = sign_sentence("interaction (kappa or log alpha)", "interaction > 0 = synergy")


def _units(meta) -> dict[str, str]:
    return {k: v.get("unit", "") for k, v in meta.get("priors", {}).items()}


@dataclass(frozen=True)
class BayesResult:
    """Base class: a posterior plus metadata.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior and companions with named coordinates.
    meta : dict
        Model settings, priors, sampler settings, timings (JSON-serialisable).
    diagnostics : Diagnostics
        R-hat, ESS and divergence checks of the key parameters.
    """

    idata: Any
    meta: Mapping[str, Any]
    diagnostics: Diagnostics

    # -------------------------------------------------------------- basic access
    @property
    def posterior(self):
        """The posterior group (xarray.Dataset, dims chain, draw, ...)."""
        return self.idata.posterior

    @property
    def key_vars(self) -> list[str]:
        """Names of the parameters shown in tables and checked by diagnostics."""
        raise NotImplementedError

    def draws(self, var_names: Sequence[str] | str | None = None, *, stacked: bool = False,
              thin: int = 1):
        """Posterior draws as an :class:`xarray.Dataset`.

        Parameters
        ----------
        var_names : str or list of str, optional
            Variables to return (default: :attr:`key_vars`).  E.g. for the growth model
            ``["r_arm", "interaction", "sigma_animal", "sigma_baseline",
            "log_baseline_mean", "sigma"]``: everything needed to simulate new cohorts.
        stacked : bool
            Stack ``chain`` and ``draw`` into one ``sample`` dimension.
        thin : int
            Keep every ``thin``-th draw.

        Returns
        -------
        xarray.Dataset
            Units in ``ds[var].attrs["unit"]``.
        """
        names = self.key_vars if var_names is None else ([var_names] if isinstance(var_names, str)
                                                          else list(var_names))
        post = self.idata.posterior
        missing = [n for n in names if n not in post.data_vars]
        if missing:
            raise DataError(f"no posterior variable(s) {missing}; available: {sorted(post.data_vars)}.")
        ds = post[names].copy()  # new variables/attrs: the stored posterior is never modified
        if thin > 1:
            ds = ds.isel(draw=slice(None, None, int(thin)))
        if stacked:
            ds = ds.stack(sample=("chain", "draw")).transpose("sample", ...)
        units = _units(self.meta)
        for n in names:
            ds[n].attrs["unit"] = units.get(n, self._derived_unit(n))
        ds.attrs = {"model": self.meta.get("model", ""), "kind": self.meta.get("kind", "")}
        return ds

    def _derived_unit(self, name: str) -> str:
        return ""

    def to_xarray(self):
        """The posterior of the key parameters (xarray.Dataset, dims chain, draw, ...); each variable's
        unit in ``attrs["units"]`` (and, as before, ``attrs["unit"]``)."""
        ds = self.draws()
        for v in ds.data_vars:
            ds[v].attrs["units"] = ds[v].attrs.get("unit", "") or "1"
        return ds

    def _table(self, names: Sequence[str]) -> pd.DataFrame:
        level = float(self.meta.get("ci_level", 0.9))
        post = self.idata.posterior
        diag = self.diagnostics.table.set_index("variable") if len(self.diagnostics.table) else None
        units = _units(self.meta)
        rows = []
        a = (1 - level) / 2
        for n in names:
            if n not in post:
                continue
            da = post[n]
            dims = [d for d in da.dims if d not in ("chain", "draw")]
            flat = da.stack(sample=("chain", "draw")).transpose(*dims, "sample").values
            flat = flat.reshape(-1, flat.shape[-1])
            if dims:
                import itertools

                labels = list(itertools.product(*[list(map(str, da.coords[d].values)) for d in dims]))
            else:
                labels = [()]
            for lab, x in zip(labels, flat):
                key = f"{n}[{', '.join(lab)}]" if lab else n
                q = np.quantile(x, [a, 0.5, 1 - a])
                row = {"param": n, "index": ", ".join(lab), "mean": x.mean(), "sd": x.std(ddof=1),
                       "median": q[1], "ci_low": q[0], "ci_high": q[2]}
                if diag is not None and key in diag.index:
                    row.update(diag.loc[key, ["r_hat", "ess_bulk", "ess_tail"]].to_dict())
                else:
                    row.update({"r_hat": np.nan, "ess_bulk": np.nan, "ess_tail": np.nan})
                row["unit"] = units.get(n, self._derived_unit(n))
                rows.append(row)
        df = pd.DataFrame(rows)
        df.attrs["ci_level"] = level
        return df

    @property
    def params(self) -> pd.DataFrame:
        """Tidy posterior table of :attr:`key_vars`.

        Columns: ``param``, ``index`` (coordinate label, e.g. the arm), ``mean``,
        ``sd``, ``median``, ``ci_low``, ``ci_high`` (central interval at
        ``meta["ci_level"]``), ``r_hat``, ``ess_bulk``, ``ess_tail``, ``unit``.
        """
        return self._table(self.key_vars)

    # -------------------------------------------------------------- io
    def to_netcdf(self, path) -> str:
        """Save the result (posterior, data, metadata) to a netCDF file; returns the path.

        The file is the :class:`arviz.InferenceData` (its groups), with :meth:`to_xarray` added as the
        root group; read it back with :func:`comboplan.load_result` (or :func:`load_result` here)."""
        from ...results import append_root

        self.idata.to_netcdf(str(path))
        append_root(self, path)
        return str(path)

    @classmethod
    def from_netcdf(cls, path) -> "BayesResult":
        """Load a result saved with :meth:`to_netcdf` (the right subclass is chosen)."""
        return load_result(path)

    def loo(self):
        """PSIS-LOO cross-validation (:func:`arviz.loo`) from the pointwise log-likelihood."""
        import warnings

        import arviz as az

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return az.loo(self.idata)

    def _header(self) -> list[str]:
        """Summary lines every Bayesian result shares: sampler, diagnostics and the posterior table."""
        m = self.meta
        return [
            f"sampler: {m.get('sampler')}{' (numba kernel)' if m.get('backend') == 'numba-kernel' else ''} ({m.get('chains')} chains x {m.get('draws')} draws, "
            f"{m.get('tune')} tune, seed {m.get('seed')}); compile {m.get('compile_seconds', float('nan')):.1f} s, "
            f"sampling {m.get('sampling_seconds', float('nan')):.1f} s",
            f"diagnostics: {self.diagnostics}",
            f"posterior (mean, sd, {int(self.params.attrs.get('ci_level', 0.9) * 100)} % central credible interval):",
            self.params.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


# =========================================================================================
# growth
# =========================================================================================
@dataclass(frozen=True)
class BayesGrowthResult(BayesResult):
    """Posterior of the hierarchical growth model (see :func:`~comboplan.bayes.fit_growth`).

    Sign convention: ``interaction`` = r_AB - r_A - r_B + r_0 (1/time unit),
    **negative = synergy**; :meth:`p_synergy` = P(interaction < 0 | data).  The
    package-wide ``synergy_score = -interaction`` (> 0 means synergy) is a column of
    :meth:`synergy` and a variable of :meth:`to_xarray`.

    Attributes
    ----------
    arrays : GrowthArrays
        The data actually used (animal, arm, time, log size, censoring) and the
        ``excluded`` rows.
    """

    arrays: Any = None

    @property
    def key_vars(self) -> list[str]:
        from .growth import _key_vars

        return _key_vars(self.meta)

    def _derived_unit(self, name: str) -> str:
        tu = self.meta.get("time_unit", "day")
        return {"r_arm": f"1/{tu}", "r_animal": f"1/{tu}", "log_baseline": "log(size)"}.get(name, "")

    @property
    def excluded(self) -> pd.DataFrame:
        """Rows left out of the likelihood (after dropout), with the reason."""
        return self.arrays.excluded.copy()

    @property
    def factorial(self) -> bool:
        """True when the model has the interaction term."""
        return bool(self.meta.get("factorial"))

    def _require_factorial(self):
        if not self.factorial:
            raise DataError("this fit has no interaction term; refit with interaction=(colA, colB) or an arm mapping.")

    def p_synergy(self) -> float:
        """Posterior probability of synergy, P(interaction < 0 | data)."""
        self._require_factorial()
        return float((self.idata.posterior["interaction"].values < 0).mean())

    def synergy(self) -> pd.DataFrame:
        """One-row table: interaction posterior, credible interval and P(synergy).

        Columns ``interaction_mean``, ``ci_low``, ``ci_high`` (1/time unit; interaction =
        r_AB - r_A - r_B + r_0, < 0 = synergy), ``synergy_score`` (posterior mean of
        -interaction: the package-wide column, > 0 = synergy), ``score_mean``,
        ``score_ci_low``, ``score_ci_high`` (= -interaction: the Bliss score on growth rates
        with comboplan's in-vivo convention, > 0 = synergy, as
        :func:`comboplan.invivo_synergy`), ``p_synergy``, ``sign_convention``.
        """
        self._require_factorial()
        x = self.idata.posterior["interaction"].values.ravel()
        level = float(self.meta.get("ci_level", 0.9))
        lo, hi = np.quantile(x, [(1 - level) / 2, 1 - (1 - level) / 2])
        return pd.DataFrame([{
            "agent_A": self.meta["agents"][0], "agent_B": self.meta["agents"][1],
            "interaction_mean": x.mean(), "ci_low": lo, "ci_high": hi, "ci_level": level,
            "synergy_score": -x.mean(),
            # the same quantity on comboplan's in-vivo synergy scale (comboplan.invivo_synergy):
            # score = expected - observed combination rate = -interaction, positive = synergy
            "score_mean": -x.mean(), "score_ci_low": -hi, "score_ci_high": -lo,
            "p_synergy": float((x < 0).mean()), "unit": f"1/{self.meta.get('time_unit', 'day')}",
            "sign_convention": ("interaction = r_AB - r_A - r_B + r_0 (< 0 = synergy); "
                                "score = -interaction (> 0 = synergy, as comboplan.invivo_synergy)"),
        }])

    def to_xarray(self):
        """The posterior of the key parameters (dims chain, draw, ...), plus ``synergy_score`` =
        -interaction (> 0 means synergy) for a factorial fit; ``units`` attr on every variable."""
        ds = super().to_xarray()
        if self.factorial and "interaction" in ds:
            ds["synergy_score"] = -ds["interaction"]
            u = ds["interaction"].attrs.get("units", "1")
            ds["synergy_score"].attrs = {"units": u, "unit": u, "long_name": "-interaction (> 0 = synergy)"}
            ds.attrs["sign_convention"] = GROWTH_SIGN
        return ds

    def rates(self) -> pd.DataFrame:
        """Arm growth rates with credible intervals and doubling times.

        Columns ``arm``, ``rate_mean``, ``ci_low``, ``ci_high`` (1/time unit),
        ``doubling_time`` (time unit, ln 2 / posterior median rate; NaN if <= 0).
        """
        t = self._table(["r_arm"]).rename(columns={"index": "arm", "mean": "rate_mean"})
        with np.errstate(divide="ignore", invalid="ignore"):
            t["doubling_time"] = np.where(t["median"] > 0, np.log(2) / t["median"], np.nan)
        return t[["arm", "rate_mean", "sd", "median", "ci_low", "ci_high", "doubling_time", "r_hat",
                  "ess_bulk", "unit"]]

    def predict(self, times, *, arms=None, animals=None, noise: bool = False, seed=None, scale: str = "size",
                thin: int = 1):
        """Posterior predictive tumour sizes at new times, for new or observed animals.

        Parameters
        ----------
        times : array_like of float
            Times in the data's time unit (same origin as the data's time column).
        arms : list, optional
            Arms for *new* animals (default: all arms): a new animal per draw, with rate
            ``r_arm + sigma_animal * z`` and baseline drawn from the population.
        animals : list, optional
            Observed animals instead (their own posterior rate and baseline).
        noise : bool
            Add residual (measurement) noise: a prediction interval for one reading.
        seed : int or numpy.random.Generator
        scale : {"size", "log"}
        thin : int
            Keep every ``thin``-th draw.

        Returns
        -------
        xarray.DataArray
            dims ``(chain, draw, arm|animal, time)``, size unit (or log size).
        """
        import xarray as xr

        from .growth import growth_curve

        if scale not in ("size", "log"):
            raise DataError(f"scale must be 'size' or 'log'; got {scale!r}.")
        t = np.atleast_1d(np.asarray(times, float)) - self.arrays.time_origin
        post = self.idata.posterior.isel(draw=slice(None, None, int(thin)))
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        beta = post["beta"].values[..., None, None] if self.meta["model"] == "gompertz" else None
        if animals is not None:
            labs = [str(a) for a in np.atleast_1d(animals)]
            known = list(post.coords["animal"].values)
            bad = [a for a in labs if a not in known]
            if bad:
                raise DataError(f"unknown animal(s) {bad}; the fit has animals {known[:10]}...")
            sub = post.sel(animal=labs)
            lb = sub["log_baseline"].values[..., None]
            r = sub["r_animal"].values[..., None]
            dim = "animal"
        else:
            labs = [str(a) for a in (np.atleast_1d(arms) if arms is not None else post.coords["arm"].values)]
            known = list(map(str, post.coords["arm"].values))
            bad = [a for a in labs if a not in known]
            if bad:
                raise DataError(f"unknown arm(s) {bad}; arms are {known}.")
            ra = post["r_arm"].sel(arm=labs).values
            shape = ra.shape
            r = ra + post["sigma_animal"].values[..., None] * rng.standard_normal(shape)
            lb = (post["log_baseline_mean"].values[..., None]
                  + post["sigma_baseline"].values[..., None] * rng.standard_normal(shape))
            r, lb = r[..., None], lb[..., None]
            dim = "arm"
        y = growth_curve(t, lb, r, beta)
        if noise:
            sig = post["sigma"].values[..., None, None]
            if self.meta["likelihood"] == "student_t":
                y = y + sig * rng.standard_t(post["nu"].values[..., None, None], size=y.shape)
            else:
                y = y + sig * rng.standard_normal(y.shape)
        out = np.exp(y) if scale == "size" else y
        da = xr.DataArray(out, dims=("chain", "draw", dim, "time"),
                          coords={"chain": post.chain.values, "draw": post.draw.values, dim: labs,
                                  "time": t + self.arrays.time_origin},
                          name="size" if scale == "size" else "log_size")
        da.attrs["unit"] = self.meta.get("size_unit", "") if scale == "size" else "log(size)"
        return da

    def summary(self) -> str:
        """Text summary: model, data used, posterior table, interaction and diagnostics."""
        m = self.meta
        a = self.arrays
        lines = [
            f"Bayesian hierarchical growth model: {m['model']}, {m['likelihood']} likelihood on log size",
            f"data: {a.n_animals} animals in {a.n_arms} arms, {a.n_obs} observations "
            f"({int(a.obs_censored.sum())} left-censored below the LLOQ, {len(a.excluded)} rows after dropout "
            "excluded from the likelihood)",
        ]
        if a.n_dropouts:
            why = ""
            if a.dropout_reason is not None and any(a.dropout_reason):
                vc = pd.Series([r for r in a.dropout_reason if r]).value_counts()
                why = " (" + ", ".join(f"{k}: {v}" for k, v in vc.items()) + ")"
            lines.append(f"dropout: {a.n_dropouts} animal(s) left early{why}; their measurements up to dropout "
                         "are used (valid if dropout depends on the observed sizes, i.e. missing at random)")
        lines += self._header()
        if self.factorial:
            s = self.synergy().iloc[0]
            lines.append(
                f"interaction r_AB - r_A - r_B + r_0 = {s['interaction_mean']:.4g} {s['unit']} "
                f"[{s['ci_low']:.4g}, {s['ci_high']:.4g}]; P(synergy) = P(interaction < 0) = {s['p_synergy']:.3f}"
            )
            lines.append(f"synergy_score = {s['synergy_score']:.4g} {s['unit']} [{s['score_ci_low']:.4g}, "
                         f"{s['score_ci_high']:.4g}]. {GROWTH_SIGN}")
        return "\n".join(lines)

    def plot(self, kind: str = "fit", ax=None, **kwargs):
        """Plot the fit; returns the Axes.

        Parameters
        ----------
        kind : {"fit", "rates", "interaction", "ppc", "trace"}
            ``fit``: data and posterior predictive bands per arm; ``rates``: arm rate
            intervals; ``interaction``: posterior of the interaction with P(synergy);
            ``ppc``: observed vs replicated log sizes; ``trace``: chains of key scalars.
        ax : matplotlib.axes.Axes, optional
        """
        from ...plot import bayes as pb

        return pb.plot_growth(self, kind=kind, ax=ax, **kwargs)


# =========================================================================================
# dose-response
# =========================================================================================
@dataclass(frozen=True)
class BayesDoseResponseResult(BayesResult):
    """Posterior of the hierarchical Hill model (see :func:`~comboplan.bayes.fit_dose_response`).

    Sign convention for combinations: ``interaction`` > 0 = synergy (more inhibition
    than Bliss independence); :meth:`p_synergy` = P(interaction > 0 | data); the
    package-wide ``synergy_score`` column of :meth:`synergy` is the interaction's posterior
    mean (> 0 means synergy).

    Attributes
    ----------
    arrays : DoseResponseArrays
        The data used in the likelihood and the curve / group / population indices.
    """

    arrays: Any = None

    @property
    def key_vars(self) -> list[str]:
        from .dose_response import _key_vars

        return _key_vars(self.meta)

    def _derived_unit(self, name: str) -> str:
        du = self.meta.get("dose_unit") or "dose"
        return {"ec50": du, "hill": "1", "imax": "fraction", "e0": "viability fraction",
                "curve_ec50": du, "curve_imax": "fraction", "curve_hill": "1", "curve_e0": "viability fraction",
                "alpha": "1"}.get(name, "")

    @property
    def combination(self) -> bool:
        """True for a two-agent fit with an interaction parameter."""
        return bool(self.meta.get("combination"))

    def p_synergy(self, by=None) -> pd.Series | float:
        """P(interaction > 0 | data) per population (``by`` level) or for one level."""
        if not self.combination:
            raise DataError("this fit has no combination interaction; pass dose=(dose_A, dose_B).")
        x = self.idata.posterior["interaction"]
        p = (x > 0).mean(("chain", "draw")).to_pandas()
        p.name = "p_synergy"
        if by is not None:
            return float(p.loc[str(by)])
        return p

    def synergy(self) -> pd.DataFrame:
        """Per population: interaction posterior mean, credible interval, P(synergy), convention;
        ``synergy_score`` (= ``mean``: the interaction already reads > 0 = synergy)."""
        if not self.combination:
            raise DataError("this fit has no combination interaction; pass dose=(dose_A, dose_B).")
        t = self._table(["interaction"]).rename(columns={"index": "population"})
        t["p_synergy"] = self.p_synergy().values
        t["synergy_score"] = t["mean"]
        t["kind"] = self.meta["combination"]
        t["sign_convention"] = ("interaction > 0 = synergy; " + (
            "kappa: log survival excess over Bliss, log f_AB = log f_A + log f_B - kappa I_A I_B"
            if self.meta["combination"] == "bliss" else
            "log alpha: potency shift, EC50 of each agent divided by alpha^(H of the other)"))
        return t[["population", "kind", "mean", "synergy_score", "ci_low", "ci_high", "p_synergy", "r_hat",
                  "ess_bulk", "sign_convention"]]

    def predict(self, dose, *, population=None, agent=None, dose_b=None, new_group: bool = True,
                noise: bool = False, seed=None, thin: int = 1):
        """Posterior predictive response at new doses, for a new experiment/plate or the population.

        Parameters
        ----------
        dose : array_like
            Doses (dose unit) of the single agent, or of agent A for combinations.
        population : str, optional
            Population (``by`` level); default all.
        agent : str, optional
            For combination fits: ``"A"`` or ``"B"`` to predict a single agent.
        dose_b : array_like, optional
            Doses of agent B (combination fits): predictions on the grid ``dose x dose_b``.
        new_group : bool
            Draw new experiment-level parameters (partial pooling: a future plate);
            False uses the population means.
        noise : bool
            Add residual noise (prediction interval for one well).
        seed : int or numpy.random.Generator
        thin : int

        Returns
        -------
        xarray.DataArray
            Response on the caller's scale, dims ``(chain, draw, population, dose[, dose_b])``.
        """
        from .dose_response import predict_dose_response

        return predict_dose_response(self, dose, population=population, agent=agent, dose_b=dose_b,
                                     new_group=new_group, noise=noise, seed=seed, thin=thin)

    def summary(self) -> str:
        """Text summary: model, data, posterior table, synergy and diagnostics."""
        m = self.meta
        a = self.arrays
        lines = [
            f"Bayesian hierarchical Hill model ({'combination: ' + m['combination'] if m.get('combination') else 'single agent'}), "
            f"{m['likelihood']} likelihood; response modelled as viability fraction of control "
            f"(input: {m['response_kind']}, {m['scale']})",
            f"data: {a.n_obs} observations, {a.n_curves} curves in {a.n_populations} population(s) "
            f"(pooled over {m.get('group') or 'no grouping'})",
        ]
        lines += self._header()
        if self.combination:
            s = self.synergy()
            for _, row in s.iterrows():
                lines.append(f"{row['population']}: interaction {row['mean']:.3g} [{row['ci_low']:.3g}, "
                             f"{row['ci_high']:.3g}], P(synergy) = {row['p_synergy']:.3f}")
            lines.append("sign: " + s["sign_convention"].iloc[0])
            lines.append(DOSE_RESPONSE_SIGN)
        return "\n".join(lines)

    def plot(self, kind: str = "curves", ax=None, **kwargs):
        """Plot the fit; returns the Axes.

        Parameters
        ----------
        kind : {"curves", "ec50", "interaction", "trace"}
        ax : matplotlib.axes.Axes, optional
        """
        from ...plot import bayes as pb

        return pb.plot_dose_response(self, kind=kind, ax=ax, **kwargs)


# =========================================================================================
def load_result(path) -> BayesResult:
    """Load a Bayesian result saved with ``result.to_netcdf(path)``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    BayesGrowthResult or BayesDoseResponseResult
    """
    import warnings

    import arviz as az

    idata = az.from_netcdf(str(path))
    idata.load() if hasattr(idata, "load") else None
    try:
        meta = json.loads(idata.posterior.attrs["comboplan_meta"])
    except KeyError:
        raise DataError(f"{path} was not written by comboplan (no 'comboplan_meta' attribute).") from None
    if meta["kind"] == "growth":
        from .growth import _arrays_from_idata, _key_vars

        arrays = _arrays_from_idata(idata, meta)
        diag = check_diagnostics(idata, _key_vars(meta), warn=False)
        return BayesGrowthResult(idata=idata, meta=meta, diagnostics=diag, arrays=arrays)
    if meta["kind"] == "dose_response":
        from .dose_response import _arrays_from_idata, _key_vars

        arrays = _arrays_from_idata(idata, meta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diag = check_diagnostics(idata, _key_vars(meta), warn=False)
        return BayesDoseResponseResult(idata=idata, meta=meta, diagnostics=diag, arrays=arrays)
    raise DataError(f"unknown result kind {meta['kind']!r} in {path}.")
