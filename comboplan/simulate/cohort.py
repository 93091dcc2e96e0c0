"""Virtual cohorts: arms, between-animal variability, readout noise, dropout, uncertainty.

:func:`simulate_cohort` returns a :class:`CohortResult` whose ``dataset`` is an
``xarray.Dataset`` with dims ``(scenario, draw, subject, time)`` (the package's vocabulary:
``subject`` indexes the virtual animals):

* ``size``: true tumour size (``model.growth.size_unit``);
* ``observed``: the readout (volume with proportional + additive noise, or luminescence
  with log-normal noise and background), NaN after an animal dropped out;
* ``dropout_day``: day the animal left the study (inf = completed).

``draw`` indexes parameter-uncertainty draws (population values drawn from a
least-squares covariance, :func:`draws_from_covariance`, or a Bayesian posterior,
:func:`draws_from_posterior`); ``subject`` indexes virtual animals, whose individual
parameters are log-normal around the draw's population values.

Reproducibility: every random number comes from ``numpy.random.default_rng(seed)``
split with :class:`numpy.random.SeedSequence`; with ``common_animals=True`` (default)
the same virtual animals (random effects, noise, dropout) are reused in every scenario,
which makes between-scenario differences much less noisy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .._params import Integral, Interval, Real, invalid, validate_params
from ..exceptions import DataError
from ..models.pk import PKModel, Regimen
from ..results import ResultIO, check_kind
from .exposure import DrugExposure, ProductExposure
from .pd import NO_INTERACTION, Effect, GrowthModel, Interaction, simulate_growth
from .seeds import as_seed_sequence

__all__ = [
    "Arm",
    "PKPDModel",
    "Variability",
    "Readout",
    "Dropout",
    "ParameterDraws",
    "draws_from_covariance",
    "draws_from_posterior",
    "CohortResult",
    "simulate_cohort",
    "simulate_arms",
    "resolve_model",
]


@dataclass(frozen=True)
class Arm:
    """A treatment arm: drug regimens and biological products given together.

    Parameters
    ----------
    name : str
    regimens : tuple of Regimen
        Drug administrations (agent taken from ``Regimen.agent``).
    products : tuple of ProductExposure
        Products (secretome...), possibly carrying a drug.
    """

    name: str
    regimens: tuple = ()
    products: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "regimens", tuple(self.regimens))
        object.__setattr__(self, "products", tuple(self.products))
        for r in self.regimens:
            if not isinstance(r, Regimen):
                raise DataError(f"arm {self.name!r}: regimens must be Regimen objects; got {type(r).__name__}.")
        for p in self.products:
            if not isinstance(p, ProductExposure):
                raise DataError(f"arm {self.name!r}: products must be ProductExposure objects; got {type(p).__name__}.")

    def exposures(self, pk: Mapping[str, PKModel], conc_unit: str = "ug/mL") -> dict:
        """Exposure of every agent of the arm (drug regimens + drug carried by products)."""
        drugs: dict[str, list] = {}
        for r in self.regimens:
            drugs.setdefault(r.agent, []).append(r)
        out: dict = {}
        for p in self.products:
            if p.scale:
                if p.agent in out:
                    raise DataError(f"arm {self.name!r}: product {p.agent!r} given twice; merge the schedules.")
                out[p.agent] = p
            cr = p.carried_regimen()
            if cr is not None:
                drugs.setdefault(cr.agent, []).append(cr)
        for agent, regs in drugs.items():
            if agent not in pk:
                raise DataError(f"arm {self.name!r}: no PK model for drug {agent!r}; give one (e.g. "
                                f"comboplan.models.pk.paclitaxel_mouse()) under pk[{agent!r}].")
            out[agent] = DrugExposure(agent, tuple(regs), pk[agent], conc_unit)
        return out

    def describe(self) -> str:
        """Plain-language description of the arm."""
        parts = [r.describe() for r in self.regimens if r.amount] + [p.describe() for p in self.products if p.scale]
        return f"{self.name}: " + ("; ".join(parts) if parts else "untreated (vehicle)")


@dataclass(frozen=True)
class PKPDModel:
    """Everything needed to turn arms into tumour trajectories.

    Parameters
    ----------
    growth : GrowthModel
    effects : mapping agent -> Effect
    interaction : Interaction
        Default: Bliss-independent null.
    pk : mapping agent -> PKModel
    conc_unit : str
        Concentration unit the drug potencies refer to (``"ug/mL"``).
    """

    growth: GrowthModel
    effects: Mapping[str, Effect] = field(default_factory=dict)
    interaction: Interaction = NO_INTERACTION
    pk: Mapping[str, PKModel] = field(default_factory=dict)
    conc_unit: str = "ug/mL"

    def __post_init__(self) -> None:
        object.__setattr__(self, "effects", dict(self.effects))
        object.__setattr__(self, "pk", dict(self.pk))

    def parameter_names(self) -> list[str]:
        """Names usable in :class:`Variability` and parameter draws."""
        names = list(self.growth.required)
        names += [f"potency.{a}" for a in self.effects]
        for a, pk in self.pk.items():
            names += [f"pk.{a}.{f}" for f in ("V1", "k10", "k12", "k21", "ka") if getattr(pk, f) is not None]
        names += ["interaction.gamma", "interaction.alpha"]
        return names

    def typical(self) -> dict[str, float]:
        """Typical (population) value of every parameter."""
        out = {k: float(np.asarray(self.growth.params[k])) for k in self.growth.required}
        out.update({f"potency.{a}": float(np.asarray(e.potency)) for a, e in self.effects.items()})
        for a, pk in self.pk.items():
            for f in ("V1", "k10", "k12", "k21", "ka"):
                v = getattr(pk, f)
                if v is not None:
                    out[f"pk.{a}.{f}"] = float(np.asarray(v))
        out["interaction.gamma"] = self.interaction.gamma
        out["interaction.alpha"] = self.interaction.alpha
        return out

    def with_values(self, values: Mapping[str, float]) -> "PKPDModel":
        """Copy with typical values replaced (scalars)."""
        gp = dict(self.growth.params)
        effects = dict(self.effects)
        pk = dict(self.pk)
        inter = self.interaction
        for k, v in values.items():
            if k in self.growth.required or k in gp:
                gp[k] = float(v)
            elif k.startswith("potency."):
                a = k.split(".", 1)[1]
                if a not in effects:
                    raise DataError(f"parameter {k!r}: no effect for agent {a!r}.")
                effects[a] = replace(effects[a], potency=float(v))
            elif k.startswith("pk."):
                _, a, f = k.split(".", 2)
                pk[a] = pk[a].with_params(**{f: float(v)})
            elif k == "interaction.gamma":
                inter = replace(inter, gamma=float(v))
            elif k == "interaction.alpha":
                inter = replace(inter, alpha=float(v))
            else:
                raise DataError(f"unknown parameter {k!r}; known: {', '.join(self.parameter_names())}.")
        return replace(self, growth=replace(self.growth, params=gp), effects=effects, pk=pk, interaction=inter)


@dataclass(frozen=True)
class Variability:
    """Between-animal variability: log-normal with the given coefficient of variation.

    Parameters
    ----------
    cv : mapping name -> float
        CV (fraction, e.g. 0.3 = 30 %) per parameter name (``"lambda0"``, ``"w0"``,
        ``"potency.paclitaxel"``, ``"pk.paclitaxel.k10"``...).  Individual value =
        typical x exp(omega z), omega^2 = log(1 + CV^2), z ~ N(0, 1).
    """

    cv: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k, v in dict(self.cv).items():
            if not (np.isfinite(v) and v >= 0):
                raise DataError(f"variability CV of {k!r} must be >= 0 (a fraction, 0.3 = 30 %); got {v!r}.")
            if v > 5:
                raise DataError(f"variability CV of {k!r} is {v!r}: CVs are fractions (0.3 = 30 %), not percent.")
        object.__setattr__(self, "cv", dict(self.cv))

    def omega(self, name: str) -> float:
        """Log-scale SD of ``name``."""
        cv = self.cv.get(name, 0.0)
        return math.sqrt(math.log1p(cv * cv))


@dataclass(frozen=True)
class Readout:
    """How tumour size is measured.

    Parameters
    ----------
    kind : {"volume", "luminescence", "none"}
        Calipers/ultrasound volume, bioluminescence, or the true size (no noise).
    cv : float
        Proportional (log-normal) noise, fraction: ~0.15 for calipers, ~0.4 for IVIS
        luminescence (assumptions; estimate from replicate images).
    sd_add : float
        Additive noise SD in size units (volume only).
    scale : float
        Readout per size unit (e.g. photons/s per g); 1 keeps the model's size unit.
    background : float
        Luminescence background added to every image (readout units).
    unit : str, optional
        Readout unit for tables.
    """

    kind: str = "volume"
    cv: float = 0.15
    sd_add: float = 0.0
    scale: float = 1.0
    background: float = 0.0
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("volume", "luminescence", "none"):
            raise DataError(f"readout kind must be 'volume', 'luminescence' or 'none'; got {self.kind!r}.")
        for nm in ("cv", "sd_add", "background"):
            v = getattr(self, nm)
            if not (np.isfinite(v) and v >= 0):
                raise DataError(f"readout {nm} must be >= 0; got {v!r}.")
        if not self.scale > 0:
            raise DataError("readout scale must be > 0.")

    def measure(self, size: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy readout of ``size`` (same shape)."""
        if self.kind == "none":
            return size.copy()
        y = self.scale * size * np.exp(self.cv * rng.standard_normal(size.shape))
        if self.kind == "volume":
            if self.sd_add:
                y = y + self.sd_add * rng.standard_normal(size.shape)
            return np.maximum(y, 0.0)
        return y + self.background


@dataclass(frozen=True)
class Dropout:
    """Animals leaving the study (necrosis, ulceration, humane endpoints).

    Parameters
    ----------
    start : float
        Day from which dropout can occur (the papers lost tumours to necrosis from about
        day 21; Eiró et al. 2024).
    hazard : float
        Constant dropout hazard after ``start`` (1/day).  Default 0: nobody drops out.
    size_limit : float, optional
        Humane endpoint: the animal leaves after the first measurement whose true size
        exceeds this (size units).
    """

    start: float = 21.0
    hazard: float = 0.0
    size_limit: float | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.hazard) and self.hazard >= 0):
            raise DataError("dropout hazard must be >= 0 (1/day).")
        if self.size_limit is not None and not self.size_limit > 0:
            raise DataError("dropout size_limit must be > 0.")

    def draw_days(self, shape, rng: np.random.Generator) -> np.ndarray:
        """Dropout day per animal (inf = stays)."""
        if self.hazard == 0:
            return np.full(shape, np.inf)
        return self.start + rng.exponential(1.0 / self.hazard, size=shape)


@dataclass(frozen=True)
class ParameterDraws:
    """Population-parameter uncertainty: ``values[name]`` is an array of n_draws values.

    Names are the model's typical values (``lambda0``, ``potency.<agent>``,
    ``interaction.gamma``...) and, optionally, ``omega.<name>``: the between-animal SD of log
    ``<name>`` in that draw, which then replaces the :class:`Variability` of that parameter
    (uncertainty of the between-animal variability itself)."""

    values: Mapping[str, np.ndarray]
    source: str = ""

    def __post_init__(self) -> None:
        vals = {k: np.asarray(v, dtype=float).ravel() for k, v in dict(self.values).items()}
        sizes = {v.size for v in vals.values()}
        if len(sizes) > 1:
            raise DataError(f"parameter draws must all have the same length; got {sorted(sizes)}.")
        for k, v in vals.items():
            if not np.all(np.isfinite(v)):
                raise DataError(f"parameter draws of {k!r} contain non-finite values.")
        object.__setattr__(self, "values", vals)

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return next(iter(self.values.values())).size if self.values else 1

    def row(self, i: int) -> dict[str, float]:
        """Values of draw ``i``."""
        return {k: float(v[i]) for k, v in self.values.items()}


def draws_from_covariance(estimates: Mapping[str, float], cov, n_draws: int, seed=None, *,
                          log_scale: bool = True) -> ParameterDraws:
    """Parameter uncertainty from a least-squares fit (estimates + covariance).

    Parameters
    ----------
    estimates : mapping name -> float
        Point estimates (natural scale), e.g. ``{"lambda0": 0.27, "potency.paclitaxel": 0.6}``.
    cov : array (p, p)
        Covariance on the natural scale, in the order of ``estimates``.
    n_draws : int
    seed : int or numpy.random.Generator
    log_scale : bool
        Draw on the log scale (delta method: cov_log = cov / (est est')), which keeps
        positive parameters positive.  Needs positive estimates.

    Returns
    -------
    ParameterDraws
    """
    names = list(estimates)
    est = np.asarray([estimates[k] for k in names], dtype=float)
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (len(names), len(names)):
        raise DataError(f"covariance must be {len(names)} x {len(names)} (one row per estimate); got {cov.shape}.")
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-14):
        raise DataError("covariance must be finite and symmetric.")
    if int(n_draws) < 1:
        raise DataError("n_draws must be >= 1.")
    rng = np.random.default_rng(seed)
    if log_scale:
        if np.any(est <= 0):
            bad = names[int(np.flatnonzero(est <= 0)[0])]
            raise DataError(f"log-scale draws need positive estimates; {bad!r} is {estimates[bad]!r}. "
                            "Use log_scale=False.")
        c = cov / np.outer(est, est)
        z = rng.multivariate_normal(np.log(est), c, size=int(n_draws), method="eigh")
        z = np.exp(z)
    else:
        z = rng.multivariate_normal(est, cov, size=int(n_draws), method="eigh")
    return ParameterDraws({k: z[:, i] for i, k in enumerate(names)}, source="least-squares covariance")


def draws_from_posterior(posterior, mapping: Mapping[str, str] | None = None, n_draws: int | None = None,
                         seed=None, transform: Mapping[str, object] | None = None) -> ParameterDraws:
    """Parameter uncertainty from Bayesian posterior draws.

    Parameters
    ----------
    posterior : arviz.InferenceData, xarray.Dataset, mapping of arrays, or a result with ``.idata``
        Posterior draws (dims chain/draw are flattened; other dims must be absent).
    mapping : mapping model-parameter -> posterior variable, optional
        E.g. ``{"lambda0": "r_control"}``; default: identical names.
    n_draws : int, optional
        Subsample this many draws (without replacement; all when None).
    seed : int or Generator
    transform : mapping name -> callable, optional
        Applied to the draws (e.g. ``np.exp`` for log-scale variables).

    Returns
    -------
    ParameterDraws
    """
    post = posterior
    if hasattr(post, "idata"):
        post = post.idata
    if hasattr(post, "posterior"):
        post = post.posterior
    mapping = dict(mapping or {})
    if not mapping:
        keys = list(post.data_vars) if hasattr(post, "data_vars") else list(post)
        mapping = {k: k for k in keys}
    vals = {}
    for name, var in mapping.items():
        try:
            arr = post[var]
        except KeyError:
            have = list(post.data_vars) if hasattr(post, "data_vars") else list(post)
            raise DataError(f"posterior has no variable {var!r} (for {name!r}); available: {have[:20]}.") from None
        a = np.asarray(getattr(arr, "values", arr), dtype=float)
        extra = [d for d in getattr(arr, "dims", ()) if d not in ("chain", "draw")]
        if extra:
            raise DataError(f"posterior variable {var!r} has extra dims {extra}; select one element "
                            f"(e.g. posterior[{var!r}].sel(arm='control')) before passing it.")
        a = a.ravel()
        if transform and name in transform:
            a = np.asarray(transform[name](a), dtype=float)
        vals[name] = a
    n_total = next(iter(vals.values())).size
    if n_draws is not None and n_draws < n_total:
        idx = np.sort(np.random.default_rng(seed).choice(n_total, size=int(n_draws), replace=False))
        vals = {k: v[idx] for k, v in vals.items()}
    return ParameterDraws(vals, source="posterior draws")


@dataclass(frozen=True)
class CohortResult(ResultIO):
    """Simulated virtual cohort (immutable).

    Attributes
    ----------
    dataset : xarray.Dataset
        ``size``, ``observed`` (scenario, draw, subject, time) and ``dropout_day``
        (scenario, draw, subject); ``subject`` numbers the virtual animals (column
        ``animal`` of :meth:`to_frame`); attrs record units, readout, seed and model.
    arms : tuple of Arm
    """

    dataset: object
    arms: tuple = ()

    def to_xarray(self):
        """The :class:`xarray.Dataset`."""
        return self.dataset

    def to_frame(self, observed_only: bool = True) -> pd.DataFrame:
        """Tidy table: scenario, draw, animal, day, size, observed (dropped rows removed)."""
        ds = self.dataset
        df = (ds[["size", "observed"]].to_dataframe().reset_index()
              .rename(columns={"time": "day", "subject": "animal"}))
        if observed_only:
            df = df[np.isfinite(df["observed"].to_numpy())].reset_index(drop=True)
        return df

    def summary(self) -> str:
        """Median and 90 % range of the true size per scenario at the last day."""
        ds = self.dataset
        last = ds["size"].isel(time=-1)
        lines = [f"Virtual cohort: {ds.sizes['scenario']} scenario(s) x {ds.sizes['draw']} draw(s) x "
                 f"{ds.sizes['subject']} animal(s); days {', '.join(f'{d:g}' for d in ds['time'].values)}; "
                 f"size unit {ds.attrs.get('size_unit')}; readout {ds.attrs.get('readout')}; seed {ds.attrs.get('seed')}."]
        for s in ds["scenario"].values:
            v = last.sel(scenario=s).values.ravel()
            drop = (ds["dropout_day"].sel(scenario=s).values <= ds["time"].values[-1]).mean()
            lines.append(f"  {s}: day {ds['time'].values[-1]:g} size median {np.median(v):.4g} "
                         f"(5-95 %: {np.quantile(v, 0.05):.4g}-{np.quantile(v, 0.95):.4g}); dropped {drop:.0%}")
        return "\n".join(lines)

    def plot(self, ax=None, *, kind: str = "trajectories", **kwargs):
        """Median trajectories with bands per scenario (``kind="trajectories"``, the only kind; see
        :func:`comboplan.plot.simulate.plot_trajectories`)."""
        from ..plot.simulate import plot_trajectories

        check_kind(kind, ("trajectories",), "CohortResult")
        return plot_trajectories(self, ax=ax, **kwargs)


def _individual(model: PKPDModel, var: Variability, pop: Mapping[str, np.ndarray], z: Mapping[str, np.ndarray]):
    """Per-animal parameter arrays from population values (arrays over animals) and N(0,1) z.

    A parameter without variability that equals its typical value in every animal keeps the
    scalar (fast path); any other value is passed per animal."""
    params, pots, pk_over = {}, {}, {}
    inter_vals = {}
    typ = model.typical()
    for name, v in pop.items():
        if name.startswith("interaction."):
            inter_vals[name] = v
            continue
        if name.startswith("omega."):
            continue
        om_draw = pop.get(f"omega.{name}")
        om = var.omega(name) if om_draw is None else om_draw
        if np.all(om == 0) and (v.size == 0 or np.all(v == typ[name])):
            continue  # identical to the typical value in every animal
        val = v * np.exp(om * z[name]) if np.any(om > 0) else v
        if name in model.growth.required:
            params[name] = val
        elif name.startswith("potency."):
            pots[name.split(".", 1)[1]] = val
        elif name.startswith("pk."):
            _, a, f = name.split(".", 2)
            pk_over.setdefault(a, {})[f] = val
    pk_models = {a: model.pk[a].with_params(**kw) for a, kw in pk_over.items()}
    return params, pots, pk_models, inter_vals


def _check_names(model: PKPDModel, var: Variability, draws: ParameterDraws | None):
    """Typical values and the names that get per-animal normals (every non-interaction parameter)."""
    typ = model.typical()
    names = [k for k in typ if not k.startswith("interaction.")]
    unknown = [k for k in var.cv if k not in typ]
    if unknown:
        raise DataError(f"variability given for unknown parameter(s) {unknown}; known: {', '.join(names)}.")
    inter = [k for k, v in var.cv.items() if k.startswith("interaction.") and v > 0]
    if inter:
        raise DataError(f"variability of {inter} between animals is not supported: the interaction is a population "
                        "parameter; give its uncertainty as parameter draws (draws=...) instead.")
    if draws is not None:
        unknown = [k for k in draws.values if k not in typ and not (k.startswith("omega.") and k[6:] in names)]
        if unknown:
            raise DataError(f"parameter draws for unknown parameter(s) {unknown}; known: {', '.join(typ)}, and "
                            f"omega.<name> (between-animal log-scale SD) for {', '.join(names)}.")
        neg = [k for k, v in draws.values.items() if k.startswith("omega.") and np.any(v < 0)]
        if neg:
            raise DataError(f"parameter draws of {neg[0]!r} (a log-scale SD) must be >= 0.")
    return typ, names


def _varying(names, var: Variability, draws: ParameterDraws | None = None):
    """``names`` up to the last one with between-animal variability, from ``var`` or per-draw
    ``omega.<name>`` values in ``draws`` (the normals of later names would be drawn after, and
    are never used)."""
    per_draw = {k[6:] for k, v in (draws.values.items() if draws is not None else ()) if k.startswith("omega.")
                and np.any(v > 0)}
    last = max([i for i, k in enumerate(names) if var.omega(k) > 0 or k in per_draw], default=-1)
    return list(names[:last + 1])


def _population(typ: Mapping[str, float], draws: ParameterDraws | None, n_animals: int, rows=None):
    """Population value of every parameter per (draw, animal): arrays (n_draws, n_animals).

    ``rows`` selects draws (default all)."""
    if draws is None:
        return {k: np.full((1, n_animals), typ[k]) for k in typ}
    idx = np.arange(draws.n_draws) if rows is None else np.asarray(rows)
    pop = {k: np.full((idx.size, n_animals), typ[k]) for k in typ}
    for k, v in draws.values.items():
        pop[k] = np.broadcast_to(v[idx][:, None], (idx.size, n_animals)).copy()
    return pop


def _animal_normals(names, n_arms: int, shape, ss: np.random.SeedSequence, common_animals: bool):
    """Standard normals of every animal: one dict name -> array ``shape`` per arm.

    With ``common_animals`` every arm gets the same numbers (from ``ss`` itself), otherwise arm
    ``i`` uses the ``i``-th child of ``ss``.  ``names`` are drawn in order, one block each, so
    leaving out trailing names (those without variability) changes no other number."""
    arm_seeds = ss.spawn(n_arms)
    if common_animals:
        rng = np.random.default_rng(ss)
        z = {k: rng.standard_normal(shape) for k in names}
        return [z] * n_arms
    out = []
    for i in range(n_arms):
        rng = np.random.default_rng(arm_seeds[i])
        out.append({k: rng.standard_normal(shape) for k in names})
    return out


def _simulate_from_normals(model: PKPDModel, arms: Sequence[Arm], days, var: Variability, pop, z_arms,
                           max_step: float) -> np.ndarray:
    """True sizes (n_arms, n_draws, n_animals, n_days) from population values and normals.

    Every draw's interaction values go to :func:`simulate_growth` as per-animal arrays, so the
    draws are one batch (no loop over draws)."""
    days = np.asarray(days, dtype=float)
    n_draws, n_animals = next(iter(pop.values())).shape
    out = np.empty((len(arms), n_draws, n_animals, days.size))
    inter = model.interaction
    iparams = {}
    for key, cur in (("gamma", inter.gamma), ("alpha", inter.alpha)):
        v = pop.get(f"interaction.{key}")
        if v is not None and np.any(v != cur):
            iparams[key] = v.ravel()
    flat_pop = {k: v.ravel() for k, v in pop.items()}
    for i, arm in enumerate(arms):
        z = {k: v.ravel() for k, v in z_arms[i].items()}
        params, pots, pk_models, _ = _individual(model, var, flat_pop, z)
        exps = arm.exposures(model.pk, model.conc_unit)
        w = simulate_growth(days, model.growth, exps, model.effects, inter, params=params, potencies=pots,
                            pk_override=pk_models or None, interaction_params=iparams or None,
                            n_animals=n_draws * n_animals, max_step=max_step)
        out[i] = w.reshape(n_draws, n_animals, days.size)
    return out


def _cohort_inputs(model: PKPDModel, n_arms: int, n_animals: int, variability: Variability | None,
                   draws: ParameterDraws | None, seed, common_animals: bool):
    """The random inputs of a cohort: checked variability, population values and animal normals.

    What :func:`simulate_arms` (and its Dask twin in :mod:`comboplan.distributed_plan`) feed to
    :func:`_simulate_from_normals`, so that both draw the same numbers from the same seed.

    Parameters
    ----------
    model : PKPDModel
    n_arms : int
        Number of arms.
    n_animals : int
        Virtual animals per arm and draw.
    variability : Variability, optional
        Between-animal CVs (fractions); None = no variability.
    draws : ParameterDraws, optional
        Population-parameter draws.
    seed : None, int, SeedSequence or Generator
        See :func:`comboplan.simulate.seeds.as_seed_sequence`.
    common_animals : bool
        Same virtual animals (normals) in every arm.

    Returns
    -------
    (var, pop, z)
        The :class:`Variability` used; population values ``{name: (n_draws, n_animals)}`` (units of
        each parameter); per arm, standard normals ``{name: (n_draws, n_animals)}`` (dimensionless).
    """
    var = variability or Variability()
    typ, names = _check_names(model, var, draws)
    names = _varying(names, var, draws)
    n_draws = draws.n_draws if draws is not None else 1
    pop = _population(typ, draws, int(n_animals))
    z = _animal_normals(names, n_arms, (n_draws, int(n_animals)), as_seed_sequence(seed), common_animals)
    return var, pop, z


def simulate_arms(model: PKPDModel, arms: Sequence[Arm], days, n_animals: int, *, variability: Variability | None = None,
                  draws: ParameterDraws | None = None, seed=None, common_animals: bool = True,
                  max_step: float = 0.2) -> np.ndarray:
    """True tumour sizes of virtual animals in every arm and parameter draw (the engine behind
    :func:`simulate_cohort`, :func:`~comboplan.simulate.dose_reduction` and the power functions).

    Parameters
    ----------
    model : PKPDModel
    arms : sequence of Arm
    days : array_like
        Output days (increasing; day 0 = start of treatment).
    n_animals : int
        Virtual animals per arm and draw.
    variability : Variability, optional
        Between-animal CVs (fractions).
    draws : ParameterDraws, optional
        Population-parameter draws, including ``interaction.gamma`` / ``interaction.alpha``;
        all draws are simulated as one vectorised batch (draws are the leading axis).
    seed : None, int, SeedSequence or Generator
        See :func:`comboplan.simulate.seeds.as_seed_sequence`.
    common_animals : bool
        Same virtual animals (normals) in every arm.
    max_step : float
        Integration step, days.

    Returns
    -------
    numpy.ndarray, shape (n_arms, n_draws, n_animals, n_days)
        Sizes in ``model.growth.size_unit``.
    """
    days = np.asarray(days, dtype=float)
    var, pop, z = _cohort_inputs(model, len(arms), n_animals, variability, draws, seed, common_animals)
    return _simulate_from_normals(model, arms, days, var, pop, z, max_step)


#: last simulated day accepted (10 years): a preclinical study runs weeks, and the integration
#: cost grows with the span (``days[-1] / max_step`` steps per animal)
MAX_STUDY_DAY = 3650.0


@validate_params({
    "days": [Interval(Real, 0, None), "nonempty array-like"],
    "n_animals": [Interval(Integral, 1, None)],
    "seed": ["seed"],
    "common_animals": ["boolean"],
    "max_step": [Interval(Real, 0, None, closed="neither")],
}, fixes={"days": "e.g. [0, 7, 14, 21]", "n_animals": "e.g. 10", "max_step": "e.g. 0.2"})
def simulate_cohort(model: PKPDModel, arms: Sequence[Arm], days, n_animals: int = 10, *,
                    variability: Variability | None = None, readout: Readout | None = None,
                    dropout: Dropout | None = None, draws: ParameterDraws | None = None, seed=None,
                    common_animals: bool = True, max_step: float = 0.2, client=None) -> CohortResult:
    """Simulate virtual animals in every arm.

    Parameters
    ----------
    model : PKPDModel
    arms : sequence of Arm
        Scenarios (names must be unique).
    days : array_like
        Measurement days (increasing, >= 0, at most :data:`MAX_STUDY_DAY` = 3650; day 0 =
        start of treatment, size = w0).
    n_animals : int
        Virtual animals per arm and draw (>= 1).
    variability : Variability, optional
        Between-animal CVs (default: none).
    readout : Readout, optional
        Measurement model (default: volume, CV 15 %).
    dropout : Dropout, optional
        Default: no dropout.
    draws : ParameterDraws, optional
        Population-parameter uncertainty (default: one draw at the typical values).
    seed : int or numpy.random.Generator
        Same seed -> identical output.
    common_animals : bool
        Reuse the same virtual animals in every arm (default True).
    max_step : float
        Integration step, days.
    client : dask.distributed.Client, optional
        Simulate the arms (and blocks of draws) as tasks on Dask
        (:func:`comboplan.distributed_plan.simulate_arms`; needs ``comboplan[dask]``), with
        the same numbers as in memory.  Default: the active client if there is one, else in
        memory.

    Returns
    -------
    CohortResult

    Raises
    ------
    InvalidParameterError
        An option outside its allowed values: ``days`` not increasing, negative or beyond
        day 3650; ``n_animals < 1``; ``max_step <= 0``.
    """
    import xarray as xr

    arms = list(arms)
    if not arms:
        raise DataError("give at least one arm.")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise DataError(f"arm names must be unique; got {names}.")
    raw = days
    try:
        days = np.asarray(days, dtype=float).ravel()
    except (TypeError, ValueError):
        days = np.array([np.nan])
    if (not np.all(np.isfinite(days)) or np.any(np.diff(days) <= 0) or np.any(days < 0)
            or days[-1] > MAX_STUDY_DAY):
        raise invalid("simulate_cohort", "days", f"increasing numbers from 0 (start of treatment) to at most "
                      f"{MAX_STUDY_DAY:g} (10 years)", raw, "e.g. [0, 7, 14, 21]")
    readout = readout or Readout()
    dropout = dropout or Dropout()
    ss = as_seed_sequence(seed)
    s_sim, s_noise = ss.spawn(2)
    sim_kw = dict(variability=variability, draws=draws, seed=int(s_sim.generate_state(1)[0]),
                  common_animals=common_animals, max_step=max_step)
    from ..distributed_plan import active_client

    if active_client(client) is not None:
        from ..distributed_plan import simulate_arms as on_dask

        size = on_dask(model, arms, days, int(n_animals), client=client, **sim_kw)
    else:
        size = simulate_arms(model, arms, days, int(n_animals), **sim_kw)
    n_arms, n_draws = size.shape[:2]
    rng = np.random.default_rng(s_noise)
    if common_animals:
        state = rng.bit_generator.state  # the same noise pattern for each arm's virtual animals
        obs = np.empty_like(size)
        for i in range(n_arms):
            rng.bit_generator.state = state
            obs[i] = readout.measure(size[i], rng)
        drop_day = np.broadcast_to(dropout.draw_days((1, n_draws, int(n_animals)), rng), size.shape[:3]).copy()
    else:
        obs = readout.measure(size, rng)
        drop_day = dropout.draw_days(size.shape[:3], rng)
    if dropout.size_limit is not None:
        over = size > dropout.size_limit
        first = np.where(over.any(axis=-1), np.argmax(over, axis=-1), -1)
        lim_day = np.where(first >= 0, days[np.maximum(first, 0)] + 1e-9, np.inf)
        drop_day = np.minimum(drop_day, lim_day)
    obs = np.where(days[None, None, None, :] > drop_day[..., None], np.nan, obs)
    unit = readout.unit or (model.growth.size_unit if readout.scale == 1 else "readout units")
    ds = xr.Dataset(
        {"size": (("scenario", "draw", "subject", "time"), size),
         "observed": (("scenario", "draw", "subject", "time"), obs),
         "dropout_day": (("scenario", "draw", "subject"), drop_day)},
        coords={"scenario": names, "draw": np.arange(n_draws), "subject": np.arange(int(n_animals)), "time": days},
        attrs={"size_unit": model.growth.size_unit, "observed_unit": unit, "time_unit": "day",
               "readout": readout.kind, "readout_cv": readout.cv, "seed": str(seed),
               "growth_model": model.growth.name, "interaction": model.interaction.describe(),
               "uncertainty": draws.source if draws is not None else "none (typical values)",
               "arms": " | ".join(a.describe() for a in arms)},
    )
    ds["size"].attrs["units"] = str(model.growth.size_unit)
    ds["observed"].attrs["units"] = str(unit)
    ds["dropout_day"].attrs["units"] = "day"
    return CohortResult(dataset=ds, arms=tuple(arms))


def resolve_model(model, draws=None, variability=None, *, n_draws: int = 200, seed=None):
    """Accept a fitted population model wherever a :class:`PKPDModel` is expected.

    Parameters
    ----------
    model : PKPDModel or a fit
        A :class:`PKPDModel`, or a population fit with ``.model()``, ``.draws(n, seed)`` and
        ``.variability()`` (:func:`comboplan.fit_tgi`, its Bayesian counterpart, or a fit
        read back with :func:`comboplan.growth.tgi.load_tgi_fit`).
    draws : ParameterDraws, optional
        Parameter uncertainty; for a fit, default: ``model.draws(n_draws, seed)`` (the fit's
        uncertainty, so that planning answers carry it).
    variability : Variability, optional
        Between-animal variability; for a fit, default: ``model.variability()``.
    n_draws : int
        Draws taken from a fit when ``draws`` is not given.
    seed : int, optional
        Seed of those draws.

    Returns
    -------
    (PKPDModel, ParameterDraws or None, Variability or None, str)
        The model, draws, variability and a label naming where they came from.
    """
    if isinstance(model, PKPDModel):
        return model, draws, variability, "model given"
    if all(callable(getattr(model, k, None)) for k in ("model", "draws", "variability")):
        m = model.model()
        if draws is None:
            draws = model.draws(int(n_draws), seed=seed)
        if variability is None:
            variability = model.variability()
        est = getattr(model, "settings", {}).get("estimator", "population fit")
        return m, draws, variability, f"fitted population model ({est})"
    raise DataError(f"model must be a PKPDModel or a population fit (comboplan.fit_tgi); got {type(model).__name__}.")
