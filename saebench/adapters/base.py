"""What every adapter is, and the file readers they share.

An adapter turns one checkpoint format into a :class:`saebench.sae.Sae`. It is a class with
two class methods, named once: by its entry point in the ``saebench.adapters`` group of its
package (``myformat = "mypkg.adapter:MyAdapter"``), which sets ``MyAdapter.name``. Code
without a package (a notebook, a test) registers it with :func:`register_adapter` instead.

Example:
    >>> class MyAdapter(Adapter):
    ...     description = "my lab's .bin files"
    ...     @classmethod
    ...     def detect(cls, path): return (path / "weights.bin").exists()
    ...     @classmethod
    ...     def load(cls, location, device="cpu", dtype=None): ...

Nothing here imports torch at module level, so listing adapters stays light.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from saebench.errors import SaebenchError
from saebench.registry import adapters
from saebench.sae.metadata import SaeMetadata

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from saebench.sae import Sae


class Adapter:
    name: ClassVar[str] = ""  # set from the entry point (or register_adapter) on loading
    description: ClassVar[str] = ""

    @classmethod
    def detect(cls, path: Path) -> bool:
        """Whether the files at ``path`` are in this format (cheap: look at names only)."""
        return False

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        """The SAE stored at ``location`` (the part of the URI after ``scheme:``)."""
        raise NotImplementedError


def register_adapter(name: str):
    """Class decorator for an adapter without a package: loadable as ``name:LOCATION``.

    A package declares an entry point instead and uses no decorator; the entry point's
    name becomes the adapter's ``name``.

    Example:
        >>> @register_adapter("notebook_format")
        ... class NotebookAdapter(Adapter): ...
    """
    return adapters.decorator(name)


# -- readers that turn broken files into one-line errors ------------------------------------
def existing_path(location: str, adapter: str) -> Path:
    path = Path(location).expanduser()
    if not path.exists():
        raise SaebenchError(f"{location}: no such file or directory (adapter {adapter})")
    return path


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SaebenchError(f"{path}: file missing; the checkpoint folder needs it")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SaebenchError(f"{path}: not valid JSON ({exc}); fix or re-export the file") from exc
    if not isinstance(data, dict):
        raise SaebenchError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def require_keys(cfg: dict[str, Any], keys: list[str], path: Path) -> None:
    missing = [key for key in keys if key not in cfg or cfg[key] is None]
    if missing:
        raise SaebenchError(f"{path}: missing key(s) {', '.join(missing)}; add them to the file")


def read_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise SaebenchError(f"{path}: weights file missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SaebenchError(
            f"{path}: unreadable safetensors file ({exc}); it is truncated or not safetensors, "
            "download or export it again"
        ) from exc


def read_torch(path: Path) -> Any:
    """A ``.pt`` file loaded with ``weights_only=True``: pickled code is refused, never run."""
    import torch

    if not path.is_file():
        raise SaebenchError(f"{path}: weights file missing")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise SaebenchError(
            f"{path}: refused to load: the file holds pickled objects other than tensors, "
            "which could run code. Re-save it as a plain state dict of tensors "
            "(torch.save(model.state_dict(), path)) or as safetensors"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise SaebenchError(f"{path}: unreadable torch file ({exc}); it may be truncated") from exc


def read_npz(path: Path) -> dict[str, Tensor]:
    import zipfile

    import numpy as np
    import torch

    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: torch.from_numpy(np.array(data[key])) for key in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SaebenchError(f"{path}: unreadable npz file ({exc}); download it again") from exc


SIDECAR = "saebench.json"
# What a sidecar may set: where the SAE sits in the model, never how it computes.
SIDECAR_KEYS = {
    "hook_name",
    "hook_name_out",
    "hook_head_index",
    "model_name",
    "context_size",
    "prepend_bos",
    "dataset_path",
    "reshape_activations",
}


# -- shared by the adapters whose files do not say where the SAE sits ----------------------
def read_sidecar(folder: Path, lenient: tuple[str, ...] = ()) -> dict[str, Any]:
    """Placement overrides from ``saebench.json`` (strict) and ``lenient`` files beside it.

    ``saebench.json`` may only hold :data:`SIDECAR_KEYS`; the lenient files (a SAELens-style
    ``cfg.json``, say) contribute just those keys and may hold anything else. The strict
    sidecar wins.
    """
    found: dict[str, Any] = {}
    for name in lenient:
        if (folder / name).is_file():
            cfg = read_json(folder / name)
            cfg = {**cfg, **(cfg.get("metadata") or {})}
            found.update({k: v for k, v in cfg.items() if k in SIDECAR_KEYS and v is not None})
    file = folder / SIDECAR
    if file.is_file():
        data = read_json(file)
        unknown = sorted(set(data) - SIDECAR_KEYS)
        if unknown:
            raise SaebenchError(
                f"{file}: unknown key(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(SIDECAR_KEYS))}"
            )
        found.update(data)
    return found


def metadata_or_error(where: Path | str, **fields: Any) -> SaeMetadata:
    """``SaeMetadata(**fields)``, with a bad value reported against the file it came from."""
    try:
        return SaeMetadata(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SaebenchError(
            f"{where}: bad metadata ({problems}); fix the config or sidecar"
        ) from exc
