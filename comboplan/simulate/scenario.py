"""TOML scenario files (read with :mod:`tomllib`).

A scenario declares the model, the arms, the study design and what to compute; see
``docs/simulate.md`` for the full reference and ``examples/scenario_paclitaxel.toml``.
Every problem (impossible schedule, negative dose, unknown unit or route, parameters
missing for the chosen model, unknown keys) raises :class:`~comboplan.exceptions.DataError`
naming the table and key.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..exceptions import DataError
from ..models.pk import PKModel, Regimen, paclitaxel_mouse, parse_schedule
from .cohort import Arm, Dropout, ParameterDraws, PKPDModel, Readout, Variability, draws_from_covariance
from .exposure import ProductExposure, secretome
from .pd import Effect, GrowthModel, Interaction

__all__ = ["Scenario", "load_scenario", "parse_scenario"]

_TOP = {"study", "model", "pk", "effects", "interaction", "products", "arms", "uncertainty", "explore", "power"}


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: model, arms, design and planning settings."""

    name: str
    model: PKPDModel
    arms: tuple
    days: np.ndarray
    n_per_arm: int
    variability: Variability
    readout: Readout
    dropout: Dropout
    seed: int | None
    draws: ParameterDraws | None = None
    products: Mapping[str, ProductExposure] = field(default_factory=dict)
    explore: Mapping[str, Any] = field(default_factory=dict)
    power: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def simulate(self, **kw):
        """Virtual cohort of the scenario (:func:`comboplan.simulate.simulate_cohort`)."""
        from .cohort import simulate_cohort

        args = dict(variability=self.variability, readout=self.readout, dropout=self.dropout, draws=self.draws,
                    seed=self.seed)
        args["n_animals"] = self.n_per_arm
        args.update(kw)
        return simulate_cohort(self.model, self.arms, self.days, **args)

    def dose_reduction(self, **kw):
        """Run the ``[explore]`` table (:func:`comboplan.simulate.dose_reduction`)."""
        from .explore import dose_reduction

        ex = dict(self.explore)
        comps = {}
        for c in ex.pop("companions", ["none"]):
            if c == "none":
                comps["none"] = None
            elif c in self.products:
                comps[c] = self.products[c]
            else:
                raise DataError(f"[explore] companion {c!r} is not 'none' nor a product in [products] "
                                f"({', '.join(self.products) or 'none defined'}).")
        ref = ex.pop("reference", {"dose": 10.0, "companion": "none"})
        args = dict(companions=comps, reference=(float(ref.get("dose", 10.0)), str(ref.get("companion", "none"))),
                    variability=self.variability, draws=self.draws, seed=self.seed)
        for k in ("doses", "agent", "schedule", "route", "unit", "days", "endpoint", "margin", "target_probability",
                  "n_animals", "level", "in_vitro_dri"):
            if k in ex:
                args[k] = ex.pop(k)
        if ex:
            raise DataError(f"[explore] has unknown key(s) {sorted(ex)}.")
        if "doses" not in args:
            raise DataError("[explore] needs doses = [...] (the dose grid).")
        args.update(kw)
        doses = args.pop("doses")
        return dose_reduction(self.model, doses, **args)

    def power_analysis(self, **kw):
        """Run the ``[power]`` table (:func:`comboplan.simulate.sample_size`)."""
        from .power import sample_size

        pw = dict(self.power)
        n_values = pw.pop("n_per_arm", [self.n_per_arm])
        if np.ndim(n_values) == 0:
            n_values = [n_values]
        arm_names = pw.pop("arms", [a.name for a in self.arms])
        by_name = {a.name: a for a in self.arms}
        missing = [a for a in arm_names if a not in by_name]
        if missing:
            raise DataError(f"[power] arms {missing} are not defined in [[arms]] ({', '.join(by_name)}).")
        args = dict(variability=self.variability, readout=self.readout, dropout=self.dropout, seed=self.seed)
        for k in ("analysis", "roles", "n_studies", "alpha", "margin", "endpoint_day", "target_power"):
            if k in pw:
                args[k] = pw.pop(k)
        if pw:
            raise DataError(f"[power] has unknown key(s) {sorted(pw)}.")
        args.update(kw)
        return sample_size(self.model, [by_name[a] for a in arm_names], self.days, n_values=n_values, **args)


def _need(tab: Mapping, key: str, where: str):
    if key not in tab:
        raise DataError(f"scenario: [{where}] needs {key!r}.")
    return tab[key]


def _float(v, where: str, key: str, minimum: float | None = None) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise DataError(f"scenario: [{where}] {key} = {v!r} is not a number.") from None
    if not np.isfinite(f):
        raise DataError(f"scenario: [{where}] {key} must be finite.")
    if minimum is not None and f < minimum:
        raise DataError(f"scenario: [{where}] {key} = {v!r} must be >= {minimum:g}.")
    return f


def _pk(name: str, tab: Mapping) -> PKModel:
    tab = dict(tab)
    preset = tab.pop("preset", None)
    bio = tab.pop("bioavailability", None)
    allowed = {"V1", "k10", "k12", "k21", "ka", "molecular_weight"}
    unknown = set(tab) - allowed
    if unknown:
        raise DataError(f"scenario: [pk.{name}] unknown key(s) {sorted(unknown)}; allowed: preset, bioavailability, "
                        f"{', '.join(sorted(allowed))} (V1 in L/kg, rates in 1/day).")
    try:
        if preset is not None:
            over = dict(tab)
            if bio is not None:
                over["bioavailability"] = dict(bio)
            return paclitaxel_mouse(preset, **over)
        if "V1" not in tab or "k10" not in tab:
            raise DataError(f"scenario: [pk.{name}] needs preset = 'simeoni2004' | 'eiseman1994' or V1 (L/kg) and "
                            "k10 (1/day).")
        return PKModel(name=name, bioavailability=dict(bio or {}), **tab)
    except TypeError as exc:
        raise DataError(f"scenario: [pk.{name}]: {exc}") from None


def _product(name: str, tab: Mapping, end: float) -> ProductExposure:
    tab = dict(tab)
    kind = tab.pop("kind", "naive")
    schedule = tab.pop("schedule", "3x/week")
    allowed = {"amount", "unit", "start", "end", "half_life", "mode", "duration", "potency", "reference_amount",
               "paclitaxel_equivalent", "carried_route"}
    unknown = set(tab) - allowed
    if unknown:
        raise DataError(f"scenario: [products.{name}] unknown key(s) {sorted(unknown)}; allowed: kind, schedule, "
                        f"{', '.join(sorted(allowed))}.")
    tab.setdefault("end", end)
    p = secretome(kind, schedule, **tab)
    return ProductExposure(**{**p.__dict__, "agent": "secretome", "kind": name if kind != "none" else "none"})


def _regimen(d: Mapping, arm: str, end: float) -> Regimen:
    d = dict(d)
    where = f"arms.{arm}.drugs"
    agent = str(_need(d, "agent", where))
    amount = _float(_need(d, "amount", where), where, "amount")
    if amount < 0:
        raise DataError(f"scenario: arm {arm!r}: dose of {agent} is negative ({amount:g}); doses must be >= 0.")
    unit = d.get("unit", "mg/kg")
    route = d.get("route", "ip")
    unknown = set(d) - {"agent", "amount", "unit", "route", "schedule", "duration", "start", "end"}
    if unknown:
        raise DataError(f"scenario: [{where}] unknown key(s) {sorted(unknown)}.")
    times = parse_schedule(_need(d, "schedule", where), start=d.get("start"), end=d.get("end", end))
    return Regimen(amount=amount, unit=unit, times=tuple(times), route=route, duration=float(d.get("duration", 0.0)),
                   agent=agent)


def parse_scenario(cfg: Mapping, source: str = "") -> Scenario:
    """Build a :class:`Scenario` from a parsed TOML mapping."""
    cfg = dict(cfg)
    unknown = set(cfg) - _TOP
    if unknown:
        raise DataError(f"scenario: unknown table(s) {sorted(unknown)}; allowed: {', '.join(sorted(_TOP))}.")
    study = dict(cfg.get("study", {}))
    days = np.asarray(_need(study, "days", "study"), dtype=float)
    if days.size < 1 or np.any(np.diff(days) <= 0) or np.any(days < 0) or days[0] != 0:
        raise DataError("scenario: [study] days must start at 0 and increase (imaging days).")
    end = float(days[-1])
    n_per_arm = int(study.get("n_per_arm", 7))
    if n_per_arm < 1:
        raise DataError("scenario: [study] n_per_arm must be >= 1.")
    seed = study.get("seed")
    readout = Readout(**dict(study.get("readout", {})))
    dropout = Dropout(**dict(study.get("dropout", {})))

    mod = dict(_need(cfg, "model", "model"))
    if "fit" in mod:
        return _scenario_from_fit(cfg, mod, study, days, end, n_per_arm, seed, readout, dropout, source)
    gname = _need(mod, "growth", "model")
    params = {k: _float(v, "model.params", k) for k, v in dict(mod.get("params", {})).items()}
    growth = GrowthModel(name=gname, params=params, n_transit=mod.get("n_transit"), psi=float(mod.get("psi", 20.0)),
                         size_unit=str(mod.get("size_unit", "mm3")), reference=str(mod.get("reference", "")))
    variability = Variability(dict(mod.get("variability", {})))

    pk = {a: _pk(a, t) for a, t in dict(cfg.get("pk", {})).items()}
    effects = {}
    for a, t in dict(cfg.get("effects", {})).items():
        t = dict(t)
        if "potency" not in t:
            raise DataError(f"scenario: [effects.{a}] needs potency (1/(day x exposure unit), or kmax with ec50).")
        effects[a] = Effect(agent=a, potency=_float(t["potency"], f"effects.{a}", "potency", 0.0),
                            ec50=t.get("ec50"), hill=float(t.get("hill", 1.0)))
    inter = Interaction(**dict(cfg.get("interaction", {})))
    products = {n: _product(n, t, end) for n, t in dict(cfg.get("products", {})).items()}

    arms = _arms(cfg, pk, products, end)
    model = PKPDModel(growth=growth, effects=effects, interaction=inter, pk=pk)

    draws = None
    unc = dict(cfg.get("uncertainty", {}))
    if unc:
        n_draws = int(unc.get("n_draws", 200))
        if "covariance" in unc:
            cov = dict(unc["covariance"])
            names = list(_need(cov, "params", "uncertainty.covariance"))
            typ = model.typical()
            miss = [n for n in names if n not in typ]
            if miss:
                raise DataError(f"scenario: [uncertainty.covariance] unknown parameter(s) {miss}.")
            est = {n: float(cov.get("estimates", {}).get(n, typ[n])) for n in names}
            draws = draws_from_covariance(est, np.asarray(_need(cov, "matrix", "uncertainty.covariance"), float),
                                          n_draws, seed=seed)
        elif "posterior" in unc:
            import xarray as xr

            from .cohort import draws_from_posterior

            path = Path(source).parent / unc["posterior"] if source else Path(unc["posterior"])
            ds = xr.open_dataset(path, group=unc.get("group", "posterior"))
            draws = draws_from_posterior(ds, unc.get("mapping"), n_draws=n_draws, seed=seed)
    return Scenario(name=str(study.get("name", Path(source).stem if source else "scenario")), model=model,
                    arms=tuple(arms), days=days, n_per_arm=n_per_arm, variability=variability, readout=readout,
                    dropout=dropout, seed=seed, draws=draws, products=products,
                    explore=dict(cfg.get("explore", {})), power=dict(cfg.get("power", {})), source=source)


def _arms(cfg, pk, products, end):
    arms = []
    for a in cfg.get("arms", []):
        a = dict(a)
        name = str(_need(a, "name", "arms"))
        regs = tuple(_regimen(d, name, end) for d in a.get("drugs", []))
        prods = []
        for pn in a.get("products", []):
            if pn not in products:
                raise DataError(f"scenario: arm {name!r} uses product {pn!r}, which is not defined in [products].")
            prods.append(products[pn])
        for r in regs:
            if r.agent not in pk:
                raise DataError(f"scenario: arm {name!r} gives {r.agent!r} but there is no [pk.{r.agent}] table.")
        arms.append(Arm(name, regs, tuple(prods)))
    if not arms:
        raise DataError("scenario: define at least one [[arms]] entry.")
    return arms


def _scenario_from_fit(cfg, mod, study, days, end, n_per_arm, seed, readout, dropout, source) -> Scenario:
    """``[model] fit = "tgi.nc"``: the model, its between-animal variability and its parameter
    uncertainty come from a population TGI fit (:meth:`comboplan.TGIFit.to_netcdf`); PK and arms
    from the scenario (the fit's PK is fixed, not stored: give the same [pk] tables)."""
    from ..growth.tgi import load_tgi_fit

    extra = set(mod) - {"fit", "variability"}
    if extra:
        raise DataError(f"scenario: [model] with fit = ... takes only 'fit' (and optionally 'variability'); "
                        f"remove {sorted(extra)}: growth and potencies come from the fit.")
    path = Path(source).parent / str(mod["fit"]) if source else Path(str(mod["fit"]))
    pk = {a: _pk(a, t) for a, t in dict(cfg.get("pk", {})).items()}
    fit = load_tgi_fit(path, pk=pk)
    products = {n: _product(n, t, end) for n, t in dict(cfg.get("products", {})).items()}
    product_agents = {p.agent for p in products.values()}
    missing = [a for a in fit.settings["agents"] if a not in pk and a not in product_agents]
    if missing:
        raise DataError(f"scenario: the fit {str(path)!r} has drug(s) {missing} without a [pk.<drug>] table; give "
                        "the PK the fit used.")
    for key in ("effects", "interaction"):
        if key in cfg:
            raise DataError(f"scenario: [{key}] cannot be combined with [model] fit = ...: the fit provides them.")
    model = fit.model()
    variability = Variability(dict(mod["variability"])) if "variability" in mod else fit.variability()
    arms = _arms(cfg, pk, products, end)
    unc = dict(cfg.get("uncertainty", {}))
    bad = set(unc) - {"n_draws", "shrink_interaction"}
    if bad:
        raise DataError(f"scenario: [uncertainty] with a fit takes n_draws and shrink_interaction; remove {sorted(bad)}.")
    draws = fit.draws(int(unc.get("n_draws", 200)), seed=seed, shrink_interaction=unc.get("shrink_interaction"))
    return Scenario(name=str(study.get("name", Path(source).stem if source else "scenario")), model=model,
                    arms=tuple(arms), days=days, n_per_arm=n_per_arm, variability=variability, readout=readout,
                    dropout=dropout, seed=seed, draws=draws, products=products,
                    explore=dict(cfg.get("explore", {})), power=dict(cfg.get("power", {})), source=source)


def load_scenario(path) -> Scenario:
    """Read a TOML scenario file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Scenario

    Raises
    ------
    DataError
        Unreadable TOML or an invalid scenario (the message names the table and key).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"scenario file {str(p)!r} not found.")
    try:
        with open(p, "rb") as fh:
            cfg = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"scenario file {str(p)!r} is not valid TOML: {exc}") from None
    return parse_scenario(cfg, source=str(p))
