"""The one lazy loader of comboplan's packages: public names imported on first use.

A package lists where its public names live and gets a module ``__getattr__`` and
``__dir__`` (PEP 562) that import the defining module on first access, so that importing
the package stays cheap (PyMC, pandas' plotting and the like load only when needed)::

    __getattr__, __dir__ = lazy_loader(globals(), {"fit_growth": "comboplan.growth.api"})

:func:`alias` does the same for a module that mirrors another one (``comboplan.bayes`` is
``comboplan.fitting.bayes``).
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping

__all__ = ["lazy_loader", "alias"]


def lazy_loader(namespace: dict, names: Mapping[str, str], modules: Mapping[str, str] | None = None, *,
                label: str | None = None) -> tuple[Callable, Callable]:
    """Module ``__getattr__`` and ``__dir__`` that import public names on first access.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``: an imported name is stored there, so that later
        accesses do not go through ``__getattr__``; its ``__all__`` is what ``dir()`` lists.
    names : mapping of str to str
        Public name -> module that defines it (the name is an attribute of that module).
    modules : mapping of str to str, optional
        Public name -> module that *is* the attribute (lazily imported subpackages).
    label : str, optional
        The package name the error message uses (default ``namespace["__name__"]``).

    Returns
    -------
    tuple of callable
        ``(__getattr__, __dir__)`` to bind in the package.
    """
    modules = modules or {}
    label = label or namespace["__name__"]

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in modules:
            value = importlib.import_module(modules[name])
        else:
            raise AttributeError(f"module {label!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__():
        return namespace["__all__"]

    return __getattr__, __dir__


def alias(target: str) -> tuple[list, Callable, Callable]:
    """``__all__``, ``__getattr__`` and ``__dir__`` of a module that mirrors ``target``.

    Parameters
    ----------
    target : str
        The module whose attributes the alias module forwards (imported now).

    Returns
    -------
    tuple
        ``(__all__, __getattr__, __dir__)``: ``__all__`` is the target's; every attribute
        is looked up on the target; ``dir()`` lists both.
    """
    impl = importlib.import_module(target)
    public = list(getattr(impl, "__all__", []))

    def __getattr__(name: str):
        return getattr(impl, name)

    def __dir__():
        return sorted(set(public) | set(dir(impl)))

    return public, __getattr__, __dir__
