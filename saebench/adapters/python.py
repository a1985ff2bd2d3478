"""Custom code: ``python:package.module:factory`` imports the module and calls ``factory()``.

The factory takes no arguments and returns a :class:`saebench.sae.Sae` (build one with
:func:`saebench.sae.build_sae`) or a live ``sae_lens.SAE``, which is converted. The
current working directory is importable, so a ``my_sae.py`` next to you works.

Example:
    >>> sae = load_sae("python:my_lab.saes:build_l12")
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import Adapter
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae


class PythonAdapter(Adapter):
    description = "custom code: python:package.module:factory returning a saebench Sae"

    @classmethod
    def detect(cls, path: Path) -> bool:
        return False  # only ever named explicitly

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        module_name, _, attr = location.rpartition(":")
        if not module_name or not attr:
            raise SaebenchError(
                f"python:{location}: expected python:package.module:factory, e.g. "
                "python:my_lab.saes:build_sae"
            )
        factory = _factory(module_name, attr, location)
        try:
            result = factory()
        except SaebenchError:
            raise
        except SystemExit as exc:  # user code must not end the whole run, least of all with 0
            raise SaebenchError(
                f"python:{location}: {attr}() called sys.exit({exc.code!r}) instead of returning "
                "an SAE; return the SAE (or raise an exception saying what is wrong)"
            ) from exc
        except Exception as exc:  # user code: report it against the URI, keep the cause
            raise SaebenchError(
                f"python:{location}: {attr}() raised {type(exc).__name__}: {exc}"
            ) from exc
        sae = _as_sae(result, location)
        return sae.to(device=device, dtype=dtype) if dtype else sae.to(device)


def _factory(module_name: str, attr: str, location: str) -> Any:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SaebenchError(
            f"python:{location}: cannot import module {module_name!r} ({exc}); install it or "
            "put it on PYTHONPATH"
        ) from exc
    except (Exception, SystemExit) as exc:
        raise SaebenchError(
            f"python:{location}: importing module {module_name!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    factory = getattr(module, attr, None)
    if factory is None:
        raise SaebenchError(f"python:{location}: module {module_name!r} has no attribute {attr!r}")
    if not callable(factory):
        raise SaebenchError(
            f"python:{location}: {module_name}.{attr} is a {type(factory).__name__}, not a "
            "function to call"
        )
    return factory


def _as_sae(result: Any, location: str) -> Sae:
    from saebench.sae import Sae

    if isinstance(result, Sae):
        return result
    if type(result).__module__.startswith("sae_lens") and hasattr(result, "cfg"):
        from saebench.adapters.saelens import from_saelens_object

        return from_saelens_object(result, where=f"python:{location}")
    raise SaebenchError(
        f"python:{location}: the factory returned a {type(result).__module__}."
        f"{type(result).__qualname__}; it must return a saebench.sae.Sae (see "
        "saebench.sae.build_sae) or a sae_lens.SAE"
    )
