"""Prior specifications for the Bayesian models: small, documented, overridable.

A prior is a :class:`Prior` (distribution name, parameters on the *natural* scale of
the quantity, unit, one-line description).  Every model has a table of defaults
(:func:`growth_priors`, :func:`dose_response_priors`); users override any entry by
passing ``priors={"name": ...}`` to the fit, where the value is

* a :class:`Prior`,
* a tuple ``("normal", mu, sigma)`` (distribution name, then its parameters in the
  order of :data:`DISTRIBUTIONS`), or
* a mapping of the parameters to change, e.g. ``{"sigma": 0.05}`` (the distribution
  and the other parameters are kept).

Nothing here imports PyMC: :meth:`Prior.to_pymc` imports it when a model is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd

from ...exceptions import DataError

__all__ = [
    "Prior",
    "DISTRIBUTIONS",
    "growth_priors",
    "dose_response_priors",
    "resolve_priors",
    "prior_table",
    "TIME_UNITS_PER_DAY",
]

#: supported distributions and the order of their parameters (natural scale)
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mu", "sigma"),
    "halfnormal": ("sigma",),
    "lognormal": ("mu", "sigma"),
    "student_t": ("nu", "mu", "sigma"),
    "halfstudent_t": ("nu", "sigma"),
    "gamma": ("alpha", "beta"),
    "exponential": ("lam",),
}

#: how many time units make one day (priors for rates are stated per day)
TIME_UNITS_PER_DAY: dict[str, float] = {
    "day": 1.0, "days": 1.0, "d": 1.0,
    "h": 24.0, "hour": 24.0, "hours": 24.0, "hr": 24.0,
    "week": 1 / 7, "weeks": 1 / 7, "wk": 1 / 7, "w": 1 / 7,
}

_POSITIVE = {"sigma", "nu", "alpha", "beta", "lam"}


@dataclass(frozen=True)
class Prior:
    """A prior distribution on the natural scale of one model quantity.

    Parameters
    ----------
    dist : str
        One of :data:`DISTRIBUTIONS` (``"normal"``, ``"halfnormal"``, ``"lognormal"``,
        ``"student_t"``, ``"halfstudent_t"``, ``"gamma"``, ``"exponential"``).
    params : dict
        Distribution parameters by name, e.g. ``{"mu": 0.1, "sigma": 0.1}``.
    unit : str
        Unit of the quantity (``"1/day"``, ``"log(size)"``...).
    description : str
        What the quantity is, one line.
    """

    dist: str
    params: Mapping[str, float] = field(default_factory=dict)
    unit: str = "1"
    description: str = ""

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            raise DataError(
                f"unknown prior distribution {self.dist!r}; use one of {sorted(DISTRIBUTIONS)}."
            )
        need = DISTRIBUTIONS[self.dist]
        missing = [p for p in need if p not in self.params]
        extra = [p for p in self.params if p not in need]
        if missing or extra:
            raise DataError(
                f"prior {self.dist!r} takes parameters {need}; got {tuple(self.params)}. "
                f"Example: Prior({self.dist!r}, {{{', '.join(repr(p) + ': ...' for p in need)}}})."
            )
        clean = {}
        for k, v in self.params.items():
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise DataError(f"prior parameter {k!r} must be a number; got {v!r}.") from None
            if not np.isfinite(fv) or (k in _POSITIVE and fv <= 0):
                raise DataError(
                    f"prior parameter {k!r} of a {self.dist!r} prior must be finite"
                    f"{' and > 0' if k in _POSITIVE else ''}; got {v!r}."
                )
            clean[k] = fv
        object.__setattr__(self, "params", dict(clean))

    @property
    def positive(self) -> bool:
        """True if the distribution's support is (0, inf)."""
        return self.dist in ("halfnormal", "lognormal", "halfstudent_t", "gamma", "exponential")

    def scaled(self, factor: float) -> "Prior":
        """The prior of ``factor * X`` (for location-scale families), e.g. a rate per hour."""
        p = dict(self.params)
        if self.dist == "lognormal":
            p["mu"] = p["mu"] + np.log(factor)
        elif self.dist == "gamma":
            p["beta"] = p["beta"] / factor
        elif self.dist == "exponential":
            p["lam"] = p["lam"] / factor
        else:
            for k in ("mu", "sigma"):
                if k in p:
                    p[k] = p[k] * factor
        return replace(self, params=p)

    def to_pymc(self, name: str, dims=None):
        """Create the PyMC random variable (inside a ``with pm.Model()`` block)."""
        import pymc as pm

        p = self.params
        if self.dist == "normal":
            return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], dims=dims)
        if self.dist == "halfnormal":
            return pm.HalfNormal(name, sigma=p["sigma"], dims=dims)
        if self.dist == "lognormal":
            return pm.LogNormal(name, mu=p["mu"], sigma=p["sigma"], dims=dims)
        if self.dist == "student_t":
            return pm.StudentT(name, nu=p["nu"], mu=p["mu"], sigma=p["sigma"], dims=dims)
        if self.dist == "halfstudent_t":
            return pm.HalfStudentT(name, nu=p["nu"], sigma=p["sigma"], dims=dims)
        if self.dist == "gamma":
            return pm.Gamma(name, alpha=p["alpha"], beta=p["beta"], dims=dims)
        return pm.Exponential(name, lam=p["lam"], dims=dims)

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """Draw from the prior with numpy (used by prior-predictive checks)."""
        p = self.params
        if self.dist == "normal":
            return rng.normal(p["mu"], p["sigma"], size)
        if self.dist == "halfnormal":
            return np.abs(rng.normal(0.0, p["sigma"], size))
        if self.dist == "lognormal":
            return np.exp(rng.normal(p["mu"], p["sigma"], size))
        if self.dist == "student_t":
            return p["mu"] + p["sigma"] * rng.standard_t(p["nu"], size)
        if self.dist == "halfstudent_t":
            return np.abs(p["sigma"] * rng.standard_t(p["nu"], size))
        if self.dist == "gamma":
            return rng.gamma(p["alpha"], 1.0 / p["beta"], size)
        return rng.exponential(1.0 / p["lam"], size)

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Central prior interval (natural scale) at ``level``, for tables."""
        from scipy import stats

        p = self.params
        d = {
            "normal": lambda: stats.norm(p.get("mu"), p.get("sigma")),
            "halfnormal": lambda: stats.halfnorm(scale=p.get("sigma")),
            "lognormal": lambda: stats.lognorm(s=p.get("sigma"), scale=np.exp(p.get("mu", 0.0))),
            "student_t": lambda: stats.t(p.get("nu"), p.get("mu"), p.get("sigma")),
            "halfstudent_t": lambda: stats.halfcauchy(scale=p.get("sigma"))
            if p.get("nu") == 1
            else _HalfT(p["nu"], p["sigma"]),
            "gamma": lambda: stats.gamma(p.get("alpha"), scale=1.0 / p.get("beta", 1.0)),
            "exponential": lambda: stats.expon(scale=1.0 / p.get("lam", 1.0)),
        }[self.dist]()
        a = (1 - level) / 2
        return float(d.ppf(a)), float(d.ppf(1 - a))

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({args})"


class _HalfT:
    def __init__(self, nu, sigma):
        from scipy import stats

        self._t = stats.t(nu, 0.0, sigma)

    def ppf(self, q):
        return self._t.ppf(0.5 + q / 2)


def _coerce(name: str, value, default: Prior | None) -> Prior:
    if isinstance(value, Prior):
        return value
    if isinstance(value, Mapping):
        if default is None:
            raise DataError(f"prior {name!r}: give a full Prior or a tuple (dist, *params).")
        params = dict(default.params)
        unknown = [k for k in value if k not in params]
        if unknown:
            raise DataError(
                f"prior {name!r} is {default}; it has no parameter(s) {unknown}. "
                f"Change one of {tuple(params)} or pass a new prior as a tuple, e.g. ('normal', 0, 1)."
            )
        params.update(value)
        return replace(default, params=params)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], str):
        dist = value[0].lower()
        if dist not in DISTRIBUTIONS:
            raise DataError(f"prior {name!r}: unknown distribution {dist!r}; use one of {sorted(DISTRIBUTIONS)}.")
        names = DISTRIBUTIONS[dist]
        if len(value) - 1 != len(names):
            raise DataError(f"prior {name!r}: {dist!r} takes {len(names)} parameter(s) {names}; got {tuple(value[1:])}.")
        unit = default.unit if default else "1"
        desc = default.description if default else ""
        return Prior(dist, dict(zip(names, value[1:])), unit=unit, description=desc)
    raise DataError(
        f"prior {name!r}: expected a Prior, a tuple like ('normal', 0.0, 0.1) or a dict of "
        f"parameters like {{'sigma': 0.1}}; got {value!r}."
    )


def resolve_priors(defaults: Mapping[str, Prior], overrides: Mapping | None) -> dict[str, Prior]:
    """Merge user overrides into the default prior table.

    Parameters
    ----------
    defaults : mapping of str to Prior
        The model's default priors.
    overrides : mapping or None
        User priors (see module docstring for accepted forms).

    Returns
    -------
    dict of str to Prior

    Raises
    ------
    DataError
        For an unknown prior name or a malformed specification.
    """
    out = dict(defaults)
    if overrides is None:
        return out
    if not isinstance(overrides, Mapping):
        raise DataError(f"priors must be a dict {{name: prior}}; got {type(overrides).__name__}.")
    for name, value in overrides.items():
        if name not in defaults:
            raise DataError(
                f"unknown prior {name!r} for this model; the priors are {sorted(defaults)}."
            )
        out[name] = _coerce(name, value, defaults[name])
        if defaults[name].positive and not out[name].positive:
            raise DataError(
                f"prior {name!r} must have positive support (it is a scale or a rate); got "
                f"{out[name]}. Use halfnormal, lognormal, gamma, exponential or halfstudent_t."
            )
    return out


def growth_priors(
    *,
    log_baseline_center: float = np.log(100.0),
    time_unit: str = "day",
    model: str = "exponential",
    likelihood: str = "normal",
    factorial: bool = True,
) -> dict[str, Prior]:
    """Default priors of the hierarchical growth model.

    Rates are weakly informative on the natural scale of per-day growth rates of
    subcutaneous xenografts (doubling times of days to weeks) and are rescaled for
    other time units.

    Parameters
    ----------
    log_baseline_center : float
        Centre of the prior of the mean log baseline size, in log(size unit); the fit
        passes the log of the median size observed at the first time point (so the
        prior does not depend on the size unit).
    time_unit : str
        Unit of the time column (``"day"``, ``"h"``, ``"week"``).
    model : {"exponential", "gompertz"}
    likelihood : {"normal", "student_t"}
    factorial : bool
        True when the design has control / A / B / AB arms (rates parametrised by
        control rate, single-agent effects and the interaction).

    Returns
    -------
    dict of str to Prior
    """
    if time_unit not in TIME_UNITS_PER_DAY:
        raise DataError(f"time_unit {time_unit!r} not understood; use one of {sorted(TIME_UNITS_PER_DAY)}.")
    f = 1.0 / TIME_UNITS_PER_DAY[time_unit]  # days per time unit: rate/day * f = rate/unit
    ru = f"1/{time_unit}"
    pr: dict[str, Prior] = {}
    if factorial:
        pr["r_control"] = Prior("normal", {"mu": 0.1, "sigma": 0.1}, ru,
                                "growth rate of the control arm (log-size per time)").scaled(f)
        pr["effect_A"] = Prior("normal", {"mu": 0.0, "sigma": 0.1}, ru,
                               "change of growth rate by agent A alone (r_A - r_0)").scaled(f)
        pr["effect_B"] = Prior("normal", {"mu": 0.0, "sigma": 0.1}, ru,
                               "change of growth rate by agent B alone (r_B - r_0)").scaled(f)
        pr["interaction"] = Prior("normal", {"mu": 0.0, "sigma": 0.1}, ru,
                                  "Bliss interaction on rates r_AB - r_A - r_B + r_0 (< 0 = synergy)").scaled(f)
    pr["r_arm"] = Prior("normal", {"mu": 0.1, "sigma": 0.1}, ru,
                        "growth rate of an arm outside the factorial design").scaled(f)
    pr["log_baseline_mean"] = Prior("normal", {"mu": float(log_baseline_center), "sigma": 2.0}, "log(size)",
                                    "mean log tumour size at time origin")
    pr["sigma_baseline"] = Prior("halfnormal", {"sigma": 0.5}, "log(size)",
                                 "between-animal sd of log baseline size")
    pr["sigma_animal"] = Prior("halfnormal", {"sigma": 0.05}, ru,
                               "between-animal sd of the growth rate within an arm").scaled(f)
    pr["sigma"] = Prior("halfnormal", {"sigma": 0.3}, "log(size)", "residual sd of log size (measurement + noise)")
    if model == "gompertz":
        pr["beta"] = Prior("halfnormal", {"sigma": 0.1}, ru,
                           "Gompertz deceleration rate (0 = exponential)").scaled(f)
    if likelihood == "student_t":
        pr["nu"] = Prior("gamma", {"alpha": 2.0, "beta": 0.1}, "1", "Student-t degrees of freedom")
    return pr


def dose_response_priors(
    *,
    log_dose_center: float = 0.0,
    log_dose_scale: float = 2.5,
    combination: str | None = None,
    likelihood: str = "normal",
) -> dict[str, Prior]:
    """Default priors of the hierarchical Hill model.

    Responses are modelled on the viability-fraction scale (1 = untreated control);
    EC50 priors are centred on the geometric middle of the tested dose range so that
    results do not depend on the dose unit.

    Parameters
    ----------
    log_dose_center : float
        log of the geometric mean of the positive tested doses (dose unit).
    log_dose_scale : float
        Prior sd of the mean log EC50 (natural-log units); the fit uses
        ``max(2.5, log(max dose / min dose))``.
    combination : {None, "bliss", "potency"}
        Combination interaction, if the data contain two agents.
    likelihood : {"normal", "student_t"}

    Returns
    -------
    dict of str to Prior
    """
    pr: dict[str, Prior] = {
        "log_ec50_mean": Prior("normal", {"mu": float(log_dose_center), "sigma": float(log_dose_scale)},
                               "log(dose/dref)", "population mean of log(EC50 / dref); dref = geometric mean "
                               "of the positive tested doses"),
        "log_ec50_sd": Prior("halfnormal", {"sigma": 0.5}, "log(dose)",
                             "between-experiment sd of log EC50 (0.5 = factor 1.6)"),
        "log_hill_mean": Prior("normal", {"mu": 0.0, "sigma": 0.7}, "log(1)",
                               "population mean of the log Hill slope (slope 0.25-4)"),
        "log_hill_sd": Prior("halfnormal", {"sigma": 0.3}, "log(1)", "between-experiment sd of log slope"),
        "logit_imax_mean": Prior("normal", {"mu": 1.5, "sigma": 1.5}, "logit(fraction)",
                                 "population mean of logit maximal inhibition"),
        "logit_imax_sd": Prior("halfnormal", {"sigma": 0.5}, "logit(fraction)",
                               "between-experiment sd of logit maximal inhibition"),
        "e0_mean": Prior("normal", {"mu": 1.0, "sigma": 0.2}, "viability fraction",
                         "population mean of the untreated response"),
        "e0_sd": Prior("halfnormal", {"sigma": 0.05}, "viability fraction",
                       "between-experiment sd of the untreated response"),
        "sigma": Prior("halfnormal", {"sigma": 0.1}, "viability fraction", "residual sd"),
    }
    if combination == "bliss":
        pr["interaction_mean"] = Prior("normal", {"mu": 0.0, "sigma": 1.0}, "log(fraction)",
                                       "Bliss log-survival excess kappa (> 0 = synergy)")
        pr["interaction_sd"] = Prior("halfnormal", {"sigma": 0.3}, "log(fraction)",
                                     "between-experiment sd of kappa")
    elif combination == "potency":
        pr["interaction_mean"] = Prior("normal", {"mu": 0.0, "sigma": 1.0}, "log(1)",
                                       "log potency interaction log(alpha) (> 0 = synergy)")
        pr["interaction_sd"] = Prior("halfnormal", {"sigma": 0.3}, "log(1)",
                                     "between-experiment sd of log(alpha)")
    if likelihood == "student_t":
        pr["nu"] = Prior("gamma", {"alpha": 2.0, "beta": 0.1}, "1", "Student-t degrees of freedom")
    return pr


def prior_table(priors: Mapping[str, Prior], level: float = 0.9) -> pd.DataFrame:
    """Tidy table of priors: name, distribution, unit, central interval, description.

    Parameters
    ----------
    priors : mapping of str to Prior
    level : float
        Level of the central prior interval shown (default 0.9).

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for name, p in priors.items():
        lo, hi = p.interval(level)
        rows.append({"name": name, "prior": str(p), "unit": p.unit,
                     f"low_{int(level * 100)}": lo, f"high_{int(level * 100)}": hi,
                     "description": p.description})
    return pd.DataFrame(rows)
