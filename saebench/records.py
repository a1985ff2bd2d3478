"""Result records: one JSON file per (SAE, evaluator), written atomically, resumable by key.

A record carries everything needed to trust and reproduce a number: the evaluator's name,
version and config (with a hash), the SAE's metadata and a hash of its weights, the model
and its revision, the dataset fingerprint and token count, saebench's version and git
commit, package versions, device and timing.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from saebench.activations.cache import atomic_write_text
from saebench.errors import SaebenchError

SCHEMA_VERSION = 1


class EvaluatorInfo(BaseModel):
    name: str
    version: str
    config: dict[str, Any]
    config_hash: str
    main_metric: str
    higher_is_better: dict[str, bool | None]


class SaeInfo(BaseModel):
    uri: str
    name: str
    architecture: str
    hook_name: str
    d_in: int
    d_sae: int
    weights_hash: str
    metadata: dict[str, Any]


class DatasetInfo(BaseModel):
    name: str
    fingerprint: str
    n_tokens: int
    context_size: int


class Provenance(BaseModel):
    saebench_version: str
    git_commit: str | None
    packages: dict[str, str]
    python: str
    device: str
    created_at: str


class EvalRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    key: str
    evaluator: EvaluatorInfo
    sae: SaeInfo
    model: dict[str, str | None]
    dataset: DatasetInfo
    metrics: dict[str, float | None]
    details: dict[str, Any] = Field(default_factory=dict)
    seeds: dict[str, list[float]] = Field(default_factory=dict)
    provenance: Provenance
    timing: dict[str, float] = Field(default_factory=dict)

    @property
    def main_value(self) -> float | None:
        return self.metrics.get(self.evaluator.main_metric)


def stable_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def weights_hash(sae) -> str:
    """A hash of every tensor's name, shape, dtype and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(sae.named_tensors().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(dtype=_byte_dtype()).numpy())
    return digest.hexdigest()[:16]


def _byte_dtype():
    import torch

    return torch.uint8


def record_key(
    weights: str,
    evaluator: str,
    evaluator_version: str,
    config_hash: str,
    model: str,
    dataset: str,
    n_tokens: int,
    context_size: int,
) -> str:
    """What makes two runs the same: equal keys mean the record can be reused."""
    return stable_hash(
        [weights, evaluator, evaluator_version, config_hash, model, dataset, n_tokens, context_size]
    )


def record_path(out_dir: Path, sae_name: str, evaluator: str, key: str) -> Path:
    return Path(out_dir) / f"{slug(sae_name)}__{evaluator}__{key[:10]}.json"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "sae"


def write_record(out_dir: Path, record: EvalRecord) -> Path:
    path = record_path(out_dir, record.sae.name, record.evaluator.name, record.key)
    atomic_write_text(path, record.model_dump_json(indent=2))
    return path


def find_record(out_dir: Path | None, key: str) -> EvalRecord | None:
    if out_dir is None:
        return None
    for path in Path(out_dir).glob(f"*__{key[:10]}.json"):
        record = _read(path)
        if record.key == key:
            return record
    return None


def load_records(directory: Path | str) -> list[EvalRecord]:
    """Every record in a folder (recursively), oldest schema versions included.

    Example:
        >>> records = load_records("results/")
    """
    root = Path(directory)
    if not root.is_dir():
        raise SaebenchError(f"{root}: no such results folder")
    return [_read(path) for path in sorted(root.rglob("*.json")) if path.name != "key.json"]


def _read(path: Path) -> EvalRecord:
    try:
        return EvalRecord.model_validate_json(path.read_text())
    except (ValidationError, ValueError) as exc:
        raise SaebenchError(f"{path}: not a saebench record ({str(exc).splitlines()[0]})") from exc


# -- provenance -----------------------------------------------------------------------------
_PACKAGES = ("torch", "transformer-lens", "transformers", "numpy", "safetensors", "sae-lens")


def provenance(device: str) -> Provenance:
    from saebench import __version__

    return Provenance(
        saebench_version=__version__,
        git_commit=git_commit(),
        packages=package_versions(),
        python=platform.python_version(),
        device=str(device),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the saebench source itself (not of the user's working directory)."""
    source = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")
