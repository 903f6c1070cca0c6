"""Lazy package attributes (PEP 562), in the manner of scientific-python's ``lazy_loader`` (SPEC 1).

A package ``__init__`` keeps its public imports in an ``if TYPE_CHECKING:`` block -- type checkers and
readers see ordinary imports -- and calls :func:`attach`, which reads that block and imports a
submodule only when one of its names is first used. ``import mechanisms`` therefore costs almost
nothing, and a CLI's ``--help`` does not load numba, scipy, sympy, cvxpy or matplotlib.

The public names are listed once, in the ``TYPE_CHECKING`` block; ``__all__`` is derived from it.
``__version__`` is read from the installed distribution's metadata on first use.
"""
from __future__ import annotations

import ast
import importlib
import sys
import types

DISTRIBUTION = "feedback-mechanisms"


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return "0+unknown"
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:    # run from a source tree that was never installed
        return "0+unknown"


def _type_checking_imports(path: str) -> dict:
    """``{name: submodule}`` from the ``from .sub import a, b`` lines under ``if TYPE_CHECKING:``."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    table = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module:
                    for alias in stmt.names:
                        table[alias.asname or alias.name] = stmt.module
    return table


def attach(package: str, path: str, extra_all=()):
    """Return ``(__getattr__, __dir__, __all__)`` for the package ``package`` whose ``__init__`` is ``path``.

    >>> getattr_, dir_, all_ = attach("agents", __import__("agents").__file__)
    >>> "Strategy" in all_ and getattr_("Strategy").__name__
    'Strategy'
    """
    table = _type_checking_imports(path)
    names = list(table) + [n for n in extra_all if n not in table]

    def __getattr__(name):
        if name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
            setattr(sys.modules[package], name, value)       # later look-ups skip this function
            return value
        if name == "__version__":
            return _version()
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(names) | set(vars(sys.modules[package])) | {"__version__"})

    # A public name that is also its submodule's name (``equilibria.best_response``): once the submodule is
    # imported, the import system binds the *module* to the package attribute, and PEP 562's __getattr__ is
    # no longer consulted.  The package's module class resolves such names to the object itself.
    clash = {n for n, mod in table.items() if n == mod}
    mod = sys.modules.get(package)
    if clash and mod is not None and type(mod) is types.ModuleType:
        mod.__class__ = type("_LazyPackage", (types.ModuleType,), {"__getattribute__": _resolver(clash)})
    return __getattr__, __dir__, names


def _resolver(clash):
    def __getattribute__(self, name):
        value = types.ModuleType.__getattribute__(self, name)
        if name in clash and isinstance(value, types.ModuleType):
            return getattr(value, name)
        return value
    return __getattribute__
