"""Exceptions and warnings raised by comboplan.

Every error about the user's input is a :class:`DataError`, which subclasses
:class:`ValueError` so that generic ``except ValueError`` handlers keep working.
Warnings subclass :class:`ComboplanWarning` so users can filter them as a group.
"""
from __future__ import annotations

__all__ = [
    "ComboplanError",
    "DataError",
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
