"""Exceptions and warnings raised by comboplan.

Every error about the user's data (tables, columns, files) is a :class:`DataError`; an
option outside its allowed values (``ci_level=95``, ``alternative="bigger"``, a negative
``n_boot``) is an :class:`InvalidParameterError`.  Both subclass :class:`ValueError` so that
generic ``except ValueError`` handlers keep working, and neither is a subclass of the other.
Warnings subclass :class:`ComboplanWarning` so users can filter them as a group.
"""
from __future__ import annotations

__all__ = [
    "ComboplanError",
    "DataError",
    "InvalidParameterError",
    "FitError",
    "ComboplanWarning",
    "ConvergenceWarning",
    "ExtrapolationWarning",
    "DiagnosticsWarning",
]


class ComboplanError(Exception):
    """Base class of every exception raised by comboplan."""


class DataError(ComboplanError, ValueError):
    """Input data are malformed; the message names the column, the row and a fix."""


class InvalidParameterError(ComboplanError, ValueError):
    """An option (not the data) is outside its allowed values.

    Raised at the entry of a public function from its declared table of constraints
    (:func:`comboplan._params.validate_params`); the message names the function, the
    parameter, what it accepts, an example and the value received, e.g.
    ``fit_growth(): ci_level must be a number in (0, 1), e.g. 0.95; got 95 (a percentage?
    pass 0.95)``.
    """


class FitError(ComboplanError, RuntimeError):
    """A fit could not be carried out at all (not: did not converge; see ``converged``)."""


class ComboplanWarning(UserWarning):
    """Base class of every warning emitted by comboplan."""


class ConvergenceWarning(ComboplanWarning):
    """One or more fits did not converge; their rows carry ``converged=False`` and a reason."""


class ExtrapolationWarning(ComboplanWarning):
    """A requested quantity (e.g. an ECx) lies outside the tested dose range."""


class DiagnosticsWarning(ComboplanWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) indicate an unreliable posterior."""
