"""Packages whose public names import their module on first use, so that importing the
package (and ``saebench --help``) loads nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for a package: each name of ``exports`` (name -> module) is
    imported from its module when first asked for.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"Sae": "saebench.sae.base"})
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
