"""Declarative validation of options (not data) at the entry of public functions.

Every public function declares what its options accept in one table, and a decorator
checks the call against it before any work is done::

    @validate_params({
        "ci_level": [Interval(Real, 0, 1, closed="neither")],
        "n_boot": [Interval(Integral, 0, None)],
        "alternative": [StrOptions({"two-sided", "less", "greater"})],
        "seed": ["seed"],
        "weights": [str, None],
    })
    def fit_x(data, *, ci_level=0.95, n_boot=1000, alternative="two-sided", seed=None, weights=None):
        ...

A parameter is valid when it satisfies *any* of its constraints.  A constraint is a
:class:`Constraint` (:class:`Interval`, :class:`Options` / :class:`StrOptions`,
:class:`ArrayLike`, :class:`Check`), a type (``isinstance``), ``None`` (the value ``None``)
or one of the strings ``"boolean"``, ``"array-like"``, ``"nonempty array-like"``,
``"seed"``, ``"callable"``.  A violation raises
:class:`~comboplan.exceptions.InvalidParameterError` whose message names the function, the
parameter, what it accepts, an example of a valid value and the value received::

    InvalidParameterError: fit_growth(): ci_level must be a number in (0, 1), e.g. 0.95;
    got 95 (a percentage? pass 0.95)

Bad *data* (columns, tables, files) stay :class:`~comboplan.exceptions.DataError`.
Parameters not named in the table are not checked; ``*args`` entries are checked one by one.
"""
from __future__ import annotations

import functools
import inspect
from numbers import Integral, Real
from typing import Any, Callable, Mapping

import numpy as np

from .exceptions import InvalidParameterError

__all__ = [
    "Constraint",
    "Interval",
    "Options",
    "StrOptions",
    "ArrayLike",
    "Check",
    "check_param",
    "invalid",
    "validate_params",
    "renamed_params",
    "FIXES",
    "Integral",
    "Real",
]

#: examples / fixes of the package-wide options, appended to every message about them
FIXES: dict[str, str] = {
    "ci_level": "e.g. 0.95",
    "ci": "e.g. 0.95",
    "level": "e.g. 0.95",
    "alpha": "e.g. 0.05",
    "n_boot": "e.g. 1000 (0 where bootstrapping can be switched off)",
    "seed": "e.g. 42",
}


class Constraint:
    """One allowed set of values: ``is_satisfied_by(value)`` and a phrase for messages."""

    def is_satisfied_by(self, value) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _is_none(v) -> bool:
    return v is None


class Interval(Constraint):
    """Numbers of one kind within bounds.

    Parameters
    ----------
    kind : numbers.Integral or numbers.Real
        ``Integral``: Python or numpy integers (not bool, not floats such as ``7.9`` or
        ``7.0``); ``Real``: any real number except bool and NaN.
    left, right : float or None
        Bounds; ``None`` for an open end.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, kind, left=None, right=None, *, closed: str = "both"):
        if kind not in (Integral, Real):
            raise TypeError("Interval kind must be numbers.Integral or numbers.Real")
        if closed not in ("both", "left", "right", "neither"):
            raise TypeError(f"closed must be 'both', 'left', 'right' or 'neither', got {closed!r}")
        if left is not None and right is not None and not left <= right:
            raise TypeError(f"Interval bounds in the wrong order: {left!r} > {right!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        if _is_bool(value) or not isinstance(value, self.kind):
            return False
        if self.kind is Real and value != value:  # NaN
            return False
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.left is not None and not (value >= self.left if lo_in else value > self.left):
            return False
        if self.right is not None and not (value <= self.right if hi_in else value < self.right):
            return False
        return True

    def describe(self) -> str:
        what = "an integer" if self.kind is Integral else "a number"
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.left is None and self.right is None:
            return what
        if self.right is None:
            return f"{what} {'>=' if lo_in else '>'} {self.left:g}"
        if self.left is None:
            return f"{what} {'<=' if hi_in else '<'} {self.right:g}"
        return f"{what} in {'[' if lo_in else '('}{self.left:g}, {self.right:g}{']' if hi_in else ')'}"

    def percent_hint(self, value) -> str:
        """``" (a percentage? pass 0.95)"`` when a (0, 1) fraction was given as a percent."""
        if (self.kind is Real and self.left == 0 and self.right == 1 and isinstance(value, Real)
                and not _is_bool(value) and 50 <= value < 100):
            return f" (a percentage? pass {value / 100:g})"
        return ""


class Options(Constraint):
    """One of a fixed set of values (compared with ``==``; strings are case-sensitive)."""

    def __init__(self, options):
        self.options = tuple(sorted(options, key=repr))

    def is_satisfied_by(self, value) -> bool:
        try:
            return any(value is o or (type(value) is type(o) and bool(value == o)) for o in self.options)
        except (TypeError, ValueError):  # arrays and other values without a truth value
            return False

    def describe(self) -> str:
        if len(self.options) == 1:
            return repr(self.options[0])
        return "one of " + ", ".join(repr(o) for o in self.options)


class StrOptions(Options):
    """One of a fixed set of strings (case-sensitive); the message suggests the intended
    option for a different case or a close typo (``'two_sided'`` -> ``'two-sided'``)."""

    def __init__(self, options):
        options = set(options)
        if not all(isinstance(o, str) for o in options):
            raise TypeError("StrOptions takes strings only")
        super().__init__(options)

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    def suggestion(self, value) -> str:
        import difflib

        if not isinstance(value, str):
            return ""
        low = {o.lower(): o for o in self.options}
        if value.lower() in low:
            return f" (did you mean {low[value.lower()]!r}?)"
        close = difflib.get_close_matches(value, self.options, n=1, cutoff=0.75)
        return f" (did you mean {close[0]!r}?)" if close else ""


class ArrayLike(Constraint):
    """A list, tuple, numpy array or pandas Series/Index of values (not a string).

    Parameters
    ----------
    nonempty : bool
        Require at least one element.
    finite : bool
        Require every element to be a finite number.
    """

    def __init__(self, *, nonempty: bool = False, finite: bool = False):
        self.nonempty, self.finite = nonempty, finite

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
            return False
        if not hasattr(value, "__iter__") and not hasattr(value, "__array__"):
            return False
        try:
            n = len(value)
        except TypeError:  # 0-d numpy array
            return False
        if self.nonempty and n == 0:
            return False
        if self.finite:
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                return False
            if not np.all(np.isfinite(arr)):
                return False
        return True

    def describe(self) -> str:
        what = "a non-empty list or array" if self.nonempty else "a list or array"
        return what + (" of finite numbers" if self.finite else "")


class Check(Constraint):
    """A custom predicate with its description, e.g. ``Check(lambda v: v.ndim == 1, "a 1-D array")``."""

    def __init__(self, predicate: Callable[[Any], bool], description: str):
        self.predicate, self.description = predicate, description

    def is_satisfied_by(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # a predicate that cannot even look at the value: not satisfied
            return False

    def describe(self) -> str:
        return self.description


class _Seed(Constraint):
    def is_satisfied_by(self, value) -> bool:
        if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
            return True
        if isinstance(value, (list, tuple)):  # entropy as a sequence of integers (numpy accepts it)
            return len(value) > 0 and all(self.is_satisfied_by(v) and v is not None for v in value)
        return isinstance(value, Integral) and not _is_bool(value) and value >= 0

    def describe(self) -> str:
        return "None, an integer >= 0, a numpy SeedSequence or a numpy Generator"


class _InstanceOf(Constraint):
    def __init__(self, kind: type):
        self.kind = kind

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.kind) and not (self.kind in (int, float) and _is_bool(value))

    def describe(self) -> str:
        names = {str: "a string", int: "an integer", float: "a number", dict: "a dict", list: "a list",
                 tuple: "a tuple"}
        return names.get(self.kind, f"a {self.kind.__name__}")


_NAMED = {
    "boolean": lambda: Check(_is_bool, "True or False"),
    "array-like": ArrayLike,
    "nonempty array-like": lambda: ArrayLike(nonempty=True),
    "seed": _Seed,
    "callable": lambda: Check(callable, "a callable"),
}


def _make(c) -> Constraint:
    if isinstance(c, Constraint):
        return c
    if c is None:
        return Check(_is_none, "None")
    if isinstance(c, str):
        if c not in _NAMED:
            raise TypeError(f"unknown constraint name {c!r}; use one of {sorted(_NAMED)}")
        return _NAMED[c]()
    if isinstance(c, type):
        return _InstanceOf(c)
    raise TypeError(f"not a constraint: {c!r}")


def _short(value) -> str:
    """The value received, short enough for a one-line message."""
    try:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return f"a pandas DataFrame ({value.shape[0]} rows x {value.shape[1]} columns)"
        if isinstance(value, pd.Series):
            return f"a pandas Series of length {len(value)}"
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"a numpy array of shape {value.shape}"
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    if len(text) > 80:
        text = text[:60] + "..." + f" ({type(value).__name__})"
    return text


def _message(func: str, name: str, value, constraints, fix: str | None) -> str:
    phrases = [c.describe() for c in constraints]
    # "None" last reads best: "a number in (0, 1) or None"
    phrases = [p for p in phrases if p != "None"] + [p for p in phrases if p == "None"]
    what = ", ".join(phrases[:-1]) + (" or " if len(phrases) > 1 else "") + phrases[-1]
    hints = ""
    for c in constraints:
        if isinstance(c, Interval):
            hints += c.percent_hint(value)
        elif isinstance(c, StrOptions):
            hints += c.suggestion(value)
    return f"{func}(): {name} must be {what}{', ' + fix if fix else ''}; got {_short(value)}{hints}."


def check_param(value, constraints, *, name: str, func: str, fix: str | None = None) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` satisfies one of ``constraints``.

    Parameters
    ----------
    value : object
        The value received.
    constraints : sequence
        Allowed alternatives (see the module docstring).
    name : str
        The parameter's name, as the user wrote it (``"combination"``, ``"results[1]"``).
    func : str
        The public function's name (``"fit_growth"``).
    fix : str, optional
        An example or fix appended to the message; default from :data:`FIXES`.

    Raises
    ------
    InvalidParameterError
    """
    cs = [_make(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in cs):
        return
    raise InvalidParameterError(_message(func, name, value, cs, fix if fix is not None else FIXES.get(name)))


def invalid(func: str, name: str, requirement: str, value, fix: str | None = None) -> InvalidParameterError:
    """An :class:`InvalidParameterError` for checks that need more than one parameter or the
    data (e.g. ``combination`` must name every dose column): same message layout."""
    fix = fix if fix is not None else FIXES.get(name)
    return InvalidParameterError(f"{func}(): {name} must be {requirement}{', ' + fix if fix else ''}; "
                                 f"got {_short(value)}.")


def validate_params(table: Mapping[str, list], *, fixes: Mapping[str, str] | None = None):
    """Decorator: check a function's options against a declarative ``table`` on every call.

    Parameters
    ----------
    table : dict
        ``{parameter name: [constraint, ...]}``; the value must satisfy one constraint.
        Every name must be a parameter of the decorated function (checked once, at import).
    fixes : dict, optional
        ``{parameter name: example or fix}`` overriding :data:`FIXES`.

    Returns
    -------
    callable
        The decorator; the wrapped function keeps its name, docstring and signature and
        exposes the table as ``__param_constraints__``.
    """
    compiled = {k: [_make(c) for c in v] for k, v in table.items()}
    extra = dict(fixes or {})

    def deco(fn):
        sig = inspect.signature(fn)
        params = sig.parameters
        missing = [k for k in compiled if k not in params]
        if missing:
            raise TypeError(f"validate_params on {fn.__qualname__}: no parameter(s) {missing}")
        star = {k for k, p in params.items() if p.kind is inspect.Parameter.VAR_POSITIONAL}
        name = fn.__qualname__.rsplit("<locals>.", 1)[-1]
        # the common call (no *args parameter, every positional argument a named parameter, no
        # keyword naming a positional-only one) maps the arguments to names without
        # ``Signature.bind`` (~15 us a call); anything else goes through ``bind``
        P = inspect.Parameter
        positional = [k for k, p in params.items() if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
        pos_only = {k for k, p in params.items() if p.kind is P.POSITIONAL_ONLY}
        at = {k: positional.index(k) for k in compiled if k in positional}
        simple = not star

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if simple and len(args) <= len(positional) and not (pos_only and pos_only & kwargs.keys()):
                got = {}
                for k in compiled:
                    i = at.get(k)
                    if i is not None and i < len(args):
                        if k in kwargs:
                            return fn(*args, **kwargs)  # given twice: let Python raise its own message
                        got[k] = args[i]
                    elif k in kwargs:
                        got[k] = kwargs[k]
            else:
                try:
                    got = sig.bind(*args, **kwargs).arguments
                except TypeError:
                    return fn(*args, **kwargs)  # let Python raise its own message
            for k, cs in compiled.items():
                if k not in got:
                    continue  # default values are trusted
                v = got[k]
                if k in star:
                    for i, item in enumerate(v):
                        if not any(c.is_satisfied_by(item) for c in cs):
                            raise InvalidParameterError(_message(name, f"{k}[{i}]", item, cs,
                                                                 extra.get(k, FIXES.get(k))))
                elif not any(c.is_satisfied_by(v) for c in cs):
                    raise InvalidParameterError(_message(name, k, v, cs, extra.get(k, FIXES.get(k))))
            return fn(*args, **kwargs)

        wrapper.__param_constraints__ = compiled
        return wrapper

    return deco


def renamed_params(**old_to_new: str):
    """Decorator: accept old option names as deprecated aliases of the package-wide names.

    ``@renamed_params(ci="ci_level")`` lets ``f(..., ci=0.9)`` keep working: the value is
    passed on as ``ci_level`` with a :class:`FutureWarning` that names the replacement.
    Giving both names raises :class:`~comboplan.exceptions.InvalidParameterError`.  Apply it
    outside :func:`validate_params`, so that the new name is what gets validated.

    Parameters
    ----------
    **old_to_new : str
        ``old name="new name"``; the new name must be a parameter of the decorated function.

    Returns
    -------
    callable
        The decorator; the wrapped function keeps its name, docstring and signature (which
        lists the new names only) and exposes the aliases as ``__renamed_params__``.
    """
    def deco(fn):
        params = inspect.signature(fn).parameters
        missing = [n for n in old_to_new.values() if n not in params]
        clash = [o for o in old_to_new if o in params]
        if missing or clash:
            raise TypeError(f"renamed_params on {fn.__qualname__}: no parameter(s) {missing}; still a "
                            f"parameter: {clash}")
        name = fn.__qualname__.rsplit("<locals>.", 1)[-1]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise InvalidParameterError(f"{name}(): {old} is a deprecated alias of {new}; give {new} "
                                                f"only; got both {old}={_short(kwargs[old])} and "
                                                f"{new}={_short(kwargs[new])}.")
                import warnings

                warnings.warn(f"{name}(): the option {old}= is deprecated and will be removed; use {new}= "
                              "(the name every comboplan function uses).", FutureWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__renamed_params__ = dict(old_to_new)
        return wrapper

    return deco
