"""Test configuration: hypothesis runs derandomised (fixed examples) under CI, random locally; the
shared `raises_with` helper of the data-layer tests."""
import contextlib
import os

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
