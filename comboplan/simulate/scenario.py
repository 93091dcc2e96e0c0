"""TOML scenario files (read with :mod:`tomllib`).

A scenario declares the model, the arms, the study design and what to compute; see
``docs/simulate.md`` for the full reference and ``examples/scenario_paclitaxel.toml``.
Every problem (impossible schedule, negative dose, unknown unit or route, parameters
missing for the chosen model, unknown keys at any level, a value of the wrong TOML type
such as ``n_per_arm = 7.9``) raises :class:`~comboplan.exceptions.DataError` naming the
table and key (and, for an unknown key, the allowed ones); the accepted keys and types
are declared once, in ``_SCHEMA``.
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

__all__ = ["Scenario", "load_scenario", "parse_scenario", "load_design"]

_TOP = {"study", "model", "pk", "effects", "interaction", "products", "arms", "uncertainty", "explore", "power"}

# ----------------------------------------------------------------------------- schema
# The keys every table accepts and the TOML type of each value.  Kinds: "int", "num", "str",
# "table" (checked where it is used), "table[num]", "table[str]", "list[num]", "list[int]",
# "list[str]", "list[table]", "matrix" (list of lists of numbers), "schedule" (a phrase or a
# list of days), "any"; a kind may be a union "a|b"; a trailing ">=k" gives a minimum.
_SCHEMA: dict[str, dict[str, str]] = {
    "": {"study": "table", "model": "table", "pk": "table", "effects": "table", "interaction": "table",
         "products": "table", "arms": "list[table]", "uncertainty": "table", "explore": "table", "power": "table"},
    "study": {"days": "list[num]", "n_per_arm": "int>=1", "seed": "int>=0", "name": "str", "readout": "table",
              "dropout": "table"},
    "study.readout": {"kind": "str", "cv": "num>=0", "sd_add": "num>=0", "scale": "num", "background": "num",
                      "unit": "str"},
    "study.dropout": {"start": "num>=0", "hazard": "num>=0", "size_limit": "num"},
    "model": {"growth": "str", "params": "table[num]", "n_transit": "int>=0", "psi": "num", "size_unit": "str",
              "reference": "str", "variability": "table[num]"},
    "model (with fit)": {"fit": "str", "variability": "table[num]"},
    "pk": {"preset": "str", "bioavailability": "table[num]", "V1": "num", "k10": "num", "k12": "num", "k21": "num",
           "ka": "num", "molecular_weight": "num"},
    "effects": {"potency": "num|list[num]", "ec50": "num", "hill": "num"},
    "interaction": {"gamma": "num", "alpha": "num", "target": "str", "companion": "str", "occupancy_k": "num"},
    "products": {"kind": "str", "schedule": "schedule", "amount": "num", "unit": "str", "start": "num", "end": "num",
                 "half_life": "num", "mode": "str", "duration": "num", "potency": "num", "reference_amount": "num",
                 "paclitaxel_equivalent": "num", "carried_route": "str"},
    "arms": {"name": "str", "drugs": "list[table]", "products": "list[str]"},
    "arms.drugs": {"agent": "str", "amount": "num", "unit": "str", "route": "str", "schedule": "schedule",
                   "duration": "num>=0", "start": "num", "end": "num"},
    "uncertainty": {"n_draws": "int>=1", "covariance": "table", "posterior": "str", "group": "str",
                    "mapping": "table"},
    "uncertainty (with fit)": {"n_draws": "int>=1", "shrink_interaction": "num"},
    "uncertainty.covariance": {"params": "list[str]", "matrix": "matrix", "estimates": "table[num]"},
    "explore": {"doses": "list[num]", "companions": "list[str]", "reference": "table", "agent": "str",
                "schedule": "schedule", "route": "str", "unit": "str", "days": "list[num]", "endpoint": "str",
                "margin": "num", "target_probability": "num", "n_animals": "int>=1", "ci_level": "num", "level": "num",
                "in_vitro_dri": "num|table[num]"},
    "explore.reference": {"dose": "num>=0", "companion": "str"},
    "power": {"analysis": "str", "arms": "list[str]", "roles": "table[str]", "n_per_arm": "int>=1|list[int]",
              "n_studies": "int>=1", "alpha": "num", "margin": "num", "endpoint_day": "num", "target_power": "num"},
}

_KIND_WORDS = {"int": "an integer", "num": "a number", "str": "a string", "table": "a table",
               "table[num]": "a table of numbers", "table[str]": "a table of strings",
               "list[num]": "a list of numbers", "list[int]": "a list of integers", "list[str]": "a list of strings",
               "list[table]": "a list of tables", "matrix": "a list of lists of numbers",
               "schedule": "a schedule phrase or a list of days", "any": "any value"}


def _toml_type(v) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, Mapping):
        return "a table"
    if isinstance(v, (list, tuple)):
        return "a list"
    return type(v).__name__


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _matches(v, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "int":
        return _is_int(v)
    if kind == "num":
        return _is_num(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "table":
        return isinstance(v, Mapping)
    if kind.startswith("table["):
        return isinstance(v, Mapping) and all(_matches(x, kind[6:-1]) for x in v.values())
    if kind.startswith("list["):
        return isinstance(v, (list, tuple)) and all(_matches(x, kind[5:-1]) for x in v)
    if kind == "matrix":
        return isinstance(v, (list, tuple)) and all(_matches(r, "list[num]") for r in v)
    if kind == "schedule":
        return isinstance(v, str) or _matches(v, "list[num]")
    raise AssertionError(kind)  # pragma: no cover - a typo in _SCHEMA


def _check_value(v, spec: str, where: str, key: str) -> None:
    """Raise a DataError naming ``[where] key`` when ``v`` is not of the declared kind."""
    ok = False
    for alt in spec.split("|"):
        kind, _, low = alt.partition(">=")
        if _matches(v, kind):
            if low and kind in ("int", "num") and v < float(low):
                raise DataError(f"scenario: [{where}] {key} = {v!r} must be >= {low}.")
            ok = True
            break
    if not ok:
        if "|" not in spec and spec.startswith(("table[", "list[")):  # name the element at fault
            inner = spec[spec.index("[") + 1:-1]
            if isinstance(v, Mapping) and spec.startswith("table["):
                for k, x in v.items():
                    _check_value(x, inner, where, f"{key}.{k}")
            elif isinstance(v, (list, tuple)) and spec.startswith("list["):
                for i, x in enumerate(v):
                    _check_value(x, inner, where, f"{key}[{i}]")
        want = " or ".join(_KIND_WORDS[a.partition(">=")[0]] for a in spec.split("|"))
        raise DataError(f"scenario: [{where}] {key} = {v!r} must be {want}; got {_toml_type(v)}.")


def _check_table(tab, where: str, schema: str | None = None) -> dict:
    """Refuse a non-table, unknown keys (naming them and the allowed ones) and mistyped values.

    Parameters
    ----------
    tab : object
        The parsed TOML value.
    where : str
        Its name in messages (``"study"``, ``"pk.paclitaxel"``...).
    schema : str, optional
        Key of :data:`_SCHEMA` (default ``where``).

    Returns
    -------
    dict
        A copy of the table.
    """
    import difflib

    allowed = _SCHEMA[where if schema is None else schema]
    label = f"[{where}]" if where else "the scenario's top level"
    if not isinstance(tab, Mapping):
        raise DataError(f"scenario: {label} must be a table; got {_toml_type(tab)} ({tab!r}).")
    unknown = [k for k in tab if k not in allowed]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(str(k), list(allowed), n=1)
            if close:
                hints.append(f"{close[0]!r}" + (f" for {k!r}" if len(unknown) > 1 else ""))
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise DataError(f"scenario: {label} has unknown key(s) {sorted(map(str, unknown))}{hint}; "
                        f"allowed: {', '.join(sorted(allowed))}.")
    for k, v in tab.items():
        _check_value(v, allowed[k], where or "scenario", k)
    return dict(tab)


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
    fit: Any = None   # the population fit of ``[model] fit = ...`` (the model, draws and variability come from it)

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
                  "n_animals", "ci_level", "level", "in_vitro_dri"):
            if k in ex:
                args[k] = ex.pop(k)
        if ex:
            raise DataError(f"[explore] has unknown key(s) {sorted(ex)}.")
        if "doses" not in args:
            raise DataError("[explore] needs doses = [...] (the dose grid).")
        args.update(kw)
        doses = args.pop("doses")
        # with a fit, pass it (same model, the scenario's draws and variability) so that the result
        # names where the model came from
        return dose_reduction(self.fit if self.fit is not None else self.model, doses, **args)

    def power_analysis(self, **kw):
        """Run the ``[power]`` table (:func:`comboplan.simulate.sample_size`).

        With parameter uncertainty (``[uncertainty]``, or the draws of a fit given by ``[model]
        fit = ...``) the result carries the assurance (power averaged over the draws) beside the
        conditional power at the point estimate, and ``settings["n_required_assurance"]``.
        """
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
        # with parameter uncertainty ([uncertainty] or a fit), assurance is reported beside the
        # conditional power (power averaged over the draws)
        args = dict(variability=self.variability, readout=self.readout, dropout=self.dropout, seed=self.seed,
                    draws=self.draws)
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
    tab = _check_table(tab, f"pk.{name}", "pk")
    preset = tab.pop("preset", None)
    bio = tab.pop("bioavailability", None)
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
    tab = _check_table(tab, f"products.{name}", "products")
    kind = tab.pop("kind", "naive")
    schedule = tab.pop("schedule", "3x/week")
    tab.setdefault("end", end)
    p = secretome(kind, schedule, **tab)
    return ProductExposure(**{**p.__dict__, "agent": "secretome", "kind": name if kind != "none" else "none"})


def _regimen(d: Mapping, arm: str, end: float) -> Regimen:
    where = f"arms.{arm}.drugs"
    d = _check_table(d, where, "arms.drugs")
    agent = str(_need(d, "agent", where))
    amount = _float(_need(d, "amount", where), where, "amount")
    if amount < 0:
        raise DataError(f"scenario: arm {arm!r}: dose of {agent} is negative ({amount:g}); doses must be >= 0.")
    unit = d.get("unit", "mg/kg")
    route = d.get("route", "ip")
    times = parse_schedule(_need(d, "schedule", where), start=d.get("start"), end=d.get("end", end))
    return Regimen(amount=amount, unit=unit, times=tuple(times), route=route, duration=float(d.get("duration", 0.0)),
                   agent=agent)


def parse_scenario(cfg: Mapping, source: str = "") -> Scenario:
    """Build a :class:`Scenario` from a parsed TOML mapping."""
    cfg = _check_table(cfg, "", "")
    study = _check_table(cfg.get("study", {}), "study")
    days = np.asarray(_need(study, "days", "study"), dtype=float)
    if days.size < 1 or np.any(np.diff(days) <= 0) or np.any(days < 0) or days[0] != 0:
        raise DataError("scenario: [study] days must start at 0 and increase (imaging days).")
    end = float(days[-1])
    n_per_arm = study.get("n_per_arm", 7)
    seed = study.get("seed")
    readout = Readout(**_check_table(study.get("readout", {}), "study.readout"))
    dropout = Dropout(**_check_table(study.get("dropout", {}), "study.dropout"))
    explore = _check_table(cfg.get("explore", {}), "explore")
    if "reference" in explore:
        _check_table(explore["reference"], "explore.reference")
    _check_table(cfg.get("power", {}), "power")  # early: refuse a bad [power] before any work

    mod = dict(_need(cfg, "model", "model"))
    if "fit" in mod:
        return _scenario_from_fit(cfg, mod, study, days, end, n_per_arm, seed, readout, dropout, source)
    mod = _check_table(mod, "model")
    gname = _need(mod, "growth", "model")
    params = {k: _float(v, "model.params", k) for k, v in dict(mod.get("params", {})).items()}
    growth = GrowthModel(name=gname, params=params, n_transit=mod.get("n_transit"), psi=float(mod.get("psi", 20.0)),
                         size_unit=str(mod.get("size_unit", "mm3")), reference=str(mod.get("reference", "")))
    variability = Variability(dict(mod.get("variability", {})))

    pk = {a: _pk(a, t) for a, t in dict(cfg.get("pk", {})).items()}
    effects = {}
    for a, t in dict(cfg.get("effects", {})).items():
        t = _check_table(t, f"effects.{a}", "effects")
        if "potency" not in t:
            raise DataError(f"scenario: [effects.{a}] needs potency (1/(day x exposure unit), or kmax with ec50).")
        effects[a] = Effect(agent=a, potency=_float(t["potency"], f"effects.{a}", "potency", 0.0),
                            ec50=t.get("ec50"), hill=float(t.get("hill", 1.0)))
    inter = Interaction(**_check_table(cfg.get("interaction", {}), "interaction"))
    products = {n: _product(n, t, end) for n, t in dict(cfg.get("products", {})).items()}

    arms = _arms(cfg, pk, products, end)
    model = PKPDModel(growth=growth, effects=effects, interaction=inter, pk=pk)

    draws = None
    unc = _check_table(cfg.get("uncertainty", {}), "uncertainty")
    if unc:
        n_draws = int(unc.get("n_draws", 200))
        if "covariance" in unc:
            cov = _check_table(unc["covariance"], "uncertainty.covariance")
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
                    explore=_check_table(cfg.get("explore", {}), "explore"),
                    power=_check_table(cfg.get("power", {}), "power"), source=source)


def _arms(cfg, pk, products, end):
    arms = []
    for i, a in enumerate(cfg.get("arms", []), 1):
        a = _check_table(a, f"arms #{i}", "arms")
        name = str(_need(a, "name", f"arms #{i}"))
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
    mod = _check_table(mod, "model", "model (with fit)")
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
    unc = _check_table(cfg.get("uncertainty", {}), "uncertainty", "uncertainty (with fit)")
    draws = fit.draws(int(unc.get("n_draws", 200)), seed=seed, shrink_interaction=unc.get("shrink_interaction"))
    return Scenario(name=str(study.get("name", Path(source).stem if source else "scenario")), model=model,
                    arms=tuple(arms), days=days, n_per_arm=n_per_arm, variability=variability, readout=readout,
                    dropout=dropout, seed=seed, draws=draws, products=products,
                    explore=_check_table(cfg.get("explore", {}), "explore"),
                    power=_check_table(cfg.get("power", {}), "power"), source=source, fit=fit)


def _read_toml(p: Path, what: str) -> dict:
    """The tables of a TOML file.

    Parameters
    ----------
    p : pathlib.Path
        The file.
    what : str
        What the file is (``"scenario"``, ``"design"``), for messages.

    Returns
    -------
    dict
        The parsed TOML.

    Raises
    ------
    DataError
        The file does not exist or is not valid TOML.
    """
    if not p.exists():
        raise DataError(f"{what} file {str(p)!r} not found.")
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{what} file {str(p)!r} is not valid TOML: {exc}") from None


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
    cfg = _read_toml(p, "scenario")
    return parse_scenario(cfg, source=str(p))


def load_design(path, end: float) -> tuple[dict, dict]:
    """Read the treatments of a study from a TOML file, for a population TGI fit.

    The file holds the ``[pk.<drug>]``, ``[products.<name>]`` and ``[[arms]]`` tables of a
    scenario (``docs/simulate.md``), with every arm named as in the data's arm column; any other
    table is refused, so that a mistyped table name cannot be silently ignored.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    end : float
        Last study day (day 0 = first dose): the end of open-ended schedules.

    Returns
    -------
    (treatments, pk)
        ``{arm name: Arm}`` and ``{drug: PKModel}``, as :func:`comboplan.fit_tgi` takes them.
    """
    p = Path(path)
    cfg = _read_toml(p, "design")
    extra = sorted(set(cfg) - {"pk", "products", "arms"})
    if extra:
        raise DataError(f"design file {str(p)!r}: unknown table(s) {extra}; a design holds [pk.<drug>], "
                        "[products.<name>] and [[arms]] only.")
    pk = {a: _pk(a, t) for a, t in dict(cfg.get("pk", {})).items()}
    products = {n: _product(n, t, float(end)) for n, t in dict(cfg.get("products", {})).items()}
    arms = _arms(cfg, pk, products, float(end))
    return {a.name: a for a in arms}, pk
