"""Test configuration: hypothesis runs derandomised (fixed examples) under CI, random locally; the
shared `raises_with` helper of the data-layer tests."""
import contextlib
import os

import numpy as np
import pytest
from hypothesis import settings

from comboplan.exceptions import DataError

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@contextlib.contextmanager
def raises_with(*parts):
    """Context manager: a ``DataError`` whose message contains every one of ``parts`` (str).

    Shared by the data-layer tests (``from conftest import raises_with``); yields pytest's
    ``ExceptionInfo``.
    """
    with pytest.raises(DataError) as info:
        yield info
    msg = str(info.value)
    for p in parts:
        assert p in msg, f"{p!r} not in message: {msg}"


def dense_gls_loglik(X, y, V, reml):
    """Marginal (RE)ML log-likelihood of ``y = X beta + e``, ``e ~ N(0, V)``, written out densely.

    The independent reference of the growth mixed-model tests (no optimiser, no peer defaults).

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Fixed-effects design (rate per arm x time: time unit).
    y : ndarray, shape (n,)
        Responses (natural-log relative size, dimensionless).
    V : ndarray, shape (n, n)
        Marginal covariance of ``y`` (squared response unit).
    reml : bool
        Restricted (REML) instead of plain ML.

    Returns
    -------
    (ll, beta, cov)
        Log-likelihood (nats), GLS estimate of ``beta`` (response unit per time unit) and its
        covariance ``(X' V^-1 X)^-1``.
    """
    Vi = np.linalg.inv(V)
    A = X.T @ Vi @ X
    beta = np.linalg.solve(A, X.T @ Vi @ y)
    r = y - X @ beta
    n, p = X.shape
    ll = -0.5 * (np.linalg.slogdet(V)[1] + r @ Vi @ r)
    ll -= 0.5 * ((n - p) * np.log(2 * np.pi) + np.linalg.slogdet(A)[1]) if reml else 0.5 * n * np.log(2 * np.pi)
    return ll, beta, np.linalg.inv(A)
