"""Declarative parameter specifications shared by every comboplan model.

A model is a *pure* vectorised function plus a :class:`ModelSpec` that declares its
parameters (name, unit kind, bounds, fitting transform), its self-starting rule and,
where one exists, its analytic inverse.  The fitting engine reads only the spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["Param", "ModelSpec"]

_TRANSFORMS = ("identity", "log")


@dataclass(frozen=True)
class Param:
    """One model parameter.

    Parameters
    ----------
    name : str
        Parameter name as it appears in result tables.
    unit : str
        Unit *kind*: ``"response"`` (the unit of the response column), ``"dose"``
        (the unit of the dose column), ``"1"`` (dimensionless) or a literal unit.
    bounds : tuple of float
        Admissible interval on the natural scale, ``(-inf, inf)`` for unbounded.
    transform : {"identity", "log"}
        Scale on which the optimiser works.  ``"log"`` makes the fit invariant to
        rescaling of that parameter (e.g. dose units for EC50) and keeps it positive.
    description : str
        One line for docs and summaries.
    """

    name: str
    unit: str = "1"
    bounds: tuple[float, float] = (-np.inf, np.inf)
    transform: str = "identity"
    description: str = ""

    def __post_init__(self) -> None:
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {_TRANSFORMS}, got {self.transform!r}")
        if self.transform == "log" and self.bounds[0] < 0:
            raise ValueError(f"parameter {self.name!r} has a log transform but a negative lower bound")


@dataclass(frozen=True)
class ModelSpec:
    """A model: a pure function of ``independent`` variables and named parameters.

    ``func(x, *params)`` must broadcast: parameters arrive with shape ``(n_curves, 1)``
    and ``x`` with shape ``(n_curves, n_obs)`` in the batch engine.

    Attributes
    ----------
    name : str
        Registry name (``"hill4"``, ``"LL.4"``...).
    func : callable
        ``func(x, *params) -> response``.
    params : tuple of Param
        Declared parameters in call order.
    jacobian : callable or None
        ``jacobian(x, *params) -> array (..., n_obs, n_params)`` of derivatives with
        respect to the *natural* parameters; ``None`` means central differences.
    selfstart : callable or None
        ``selfstart(x, y, mask) -> array (n_curves, n_params)`` of initial values.
    inverse : callable or None
        ``inverse(x_rel, *params) -> dose`` at which the response has moved ``x_rel``
        percent of the way from the response at dose 0 to the asymptote.
    inverse_abs : callable or None
        ``inverse_abs(level, *params) -> dose`` at which the response equals ``level``.
    nested_in : tuple of str
        Names of models in which this one is nested (for F / LR tests).
    reference : str
        Literature reference and the correspondence to peer tools.
    alt_starts : callable or None
        ``alt_starts(p0) -> list of arrays``: equivalent representations of a start
        (e.g. drc's ``(b, c, d) -> (-b, d, c)``); the engine keeps the best one per
        curve once fixed parameters are imposed.
    direction : str
        Plain-language statement of the direction of effect.
    """

    name: str
    func: Callable[..., np.ndarray]
    params: tuple[Param, ...]
    jacobian: Callable[..., np.ndarray] | None = None
    selfstart: Callable[..., np.ndarray] | None = None
    inverse: Callable[..., np.ndarray] | None = None
    inverse_abs: Callable[..., np.ndarray] | None = None
    fixed_defaults: Mapping[str, float] = field(default_factory=dict)
    nested_in: tuple[str, ...] = ()
    reference: str = ""
    direction: str = ""
    formula: str = ""
    alt_starts: Callable[[np.ndarray], list] | None = None

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the parameters in call order."""
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        """Return the :class:`Param` called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"model {self.name!r} has no parameter {name!r}; it has {self.param_names}")

    def __call__(self, x, *args, **kwargs):
        """Evaluate the model (same as ``spec.func``)."""
        return self.func(x, *args, **kwargs)


def unit_of(param: Param, dose_unit: str | None, response_unit: str | None) -> str:
    """Resolve a parameter's unit kind to a concrete unit string."""
    if param.unit == "dose":
        return dose_unit or "dose unit"
    if param.unit == "response":
        return response_unit or "response unit"
    if param.unit == "1/dose":
        return f"1/{dose_unit}" if dose_unit else "1/dose unit"
    return param.unit


def numeric_jacobian(func: Callable, x: np.ndarray, params: Sequence[np.ndarray]) -> np.ndarray:
    """Central-difference Jacobian of ``func`` w.r.t. each parameter, vectorised.

    Returns an array with a trailing parameter axis.
    """
    cols = []
    for k, pk in enumerate(params):
        pk = np.asarray(pk, dtype=float)
        step = 1e-6 * np.maximum(np.abs(pk), 1e-3)
        up = list(params)
        dn = list(params)
        up[k] = pk + step
        dn[k] = pk - step
        cols.append((func(x, *up) - func(x, *dn)) / (2.0 * step))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)
