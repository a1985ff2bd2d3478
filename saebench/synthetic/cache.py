"""Synthetic models on disk: built once per config, then read back in a fraction of a second.

A model lives in ``<root>/synthetic/<name>-<key>/`` (root: ``cache_dir``, else
``$SAEBENCH_CACHE``, else ``~/.cache/saebench``) as ``model.safetensors`` plus
``model.json`` (config, key, generator version). The folder is written under a temporary
name and renamed, so a reader never sees half a model.

Example:
    >>> model = load_model("synth-4k")          # builds once, then reads the cache
    >>> model = load_model(my_config, cache_dir="/tmp/cache")
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from saebench.errors import SaebenchError
from saebench.synthetic.config import GENERATOR_VERSION, SynthConfig, tier, tier_name
from saebench.synthetic.model import TENSORS, SyntheticModel

CACHE_ENV = "SAEBENCH_CACHE"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``$SAEBENCH_CACHE``, else ``~/.cache/saebench``."""
    root = cache_dir or os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "saebench"


def resolve(name_or_config: str | SynthConfig) -> tuple[SynthConfig, str]:
    """(config, name) of a tier name or a config (named after its tier when it is one)."""
    if isinstance(name_or_config, SynthConfig):
        return name_or_config, tier_name(name_or_config)
    if isinstance(name_or_config, str):
        return tier(name_or_config), name_or_config
    raise SaebenchError(f"synthetic model {name_or_config!r}: give a tier name or a SynthConfig")


def model_folder(config: SynthConfig, name: str, cache_dir: str | Path | None = None) -> Path:
    return cache_root(cache_dir) / "synthetic" / f"{name}-{config.key()[:16]}"


def load_model(
    name_or_config: str | SynthConfig, cache_dir: str | Path | None = None
) -> SyntheticModel:
    """The synthetic model of a tier name or config, read from the cache, or built and
    cached on first use."""
    from saebench.synthetic.build import build_model

    config, name = resolve(name_or_config)
    folder = model_folder(config, name, cache_dir)
    model = read_model(folder, config, name)
    if model is None:
        model = build_model(config, name)
        write_model(model, folder)
    return model


def read_model(folder: Path, config: SynthConfig, name: str) -> SyntheticModel | None:
    """The cached model in ``folder``, or None when it is missing, stale or unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        meta = json.loads((folder / "model.json").read_text())
        if meta.get("key") != config.key():
            return None
        tensors = load_file(folder / "model.safetensors")
        return SyntheticModel(**{k: tensors[k] for k in TENSORS}, config=config, name=name)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError):
        return None  # rebuilt and rewritten by the caller


def write_model(model: SyntheticModel, folder: Path) -> None:
    """Write ``model`` into ``folder`` atomically (a temporary folder renamed into place)."""
    from safetensors.torch import save_file

    meta = {
        "name": model.name,
        "key": model.config.key(),
        "generator_version": GENERATOR_VERSION,
        "config": model.config.model_dump(mode="json"),
    }
    staging = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        tensors = {k: t.contiguous() for k, t in model.tensors().items()}
        save_file(tensors, staging / "model.safetensors")
        (staging / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        if folder.exists():
            shutil.rmtree(folder)
        _move(staging, folder)
    except OSError as exc:
        raise SaebenchError(
            f"{folder}: cannot write the synthetic model ({exc.strerror or exc}); free space "
            f"there or set {CACHE_ENV} (or cache_dir=) to a writable folder"
        ) from exc
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _move(staging: Path, folder: Path) -> None:
    try:
        staging.rename(folder)
    except OSError:
        if not (folder / "model.json").is_file():  # else another process wrote it first
            raise
