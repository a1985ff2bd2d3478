"""Result records: one JSON file per (SAE, evaluator), written atomically, resumable by key.

A record carries everything needed to trust and reproduce a number: the evaluator's name,
version and config (with a hash), the SAE's URI, metadata and weights hash, the model's
name, weights and tokenizer hashes, the token set (dataset fingerprint, token count, context
size, BOS and separator handling) or the task, saebench's version and git commit, package
versions, device and timing. Its key is a hash of exactly the fields that decide its
numbers, so it can be recomputed from the record itself (:meth:`EvalRecord.expected_key`).

Reading records needs no torch.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import warnings
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text
from saebench.identity import stable_hash

SCHEMA_VERSION = 3

# What a record is about: an SAE, a reference method measured beside SAEs (RAVEL's DAS, a
# supervised dictionary's PCA), or a control made from an SAE (a permuted decoder, say).
Role = Literal["sae", "reference", "control", "panel"]


class EvaluatorInfo(BaseModel):
    name: str
    version: str
    config: dict[str, Any]
    config_hash: str
    main_metric: str
    higher_is_better: dict[str, bool | None]
    headline: list[str] = Field(default_factory=list)  # metrics a leaderboard shows first
    llm_model: str | None = None  # the judge of an evaluator that asks an LLM (in the key)
    llm_seed: int | None = None  # the judge's sampling seed, when not 0 (in the key)
    # reference methods measured beside the SAE: name -> metric holding its main-metric value
    references: dict[str, str] = Field(default_factory=dict)


class Interval(BaseModel):
    """A confidence interval of one metric, from the evaluator's own sampling unit.

    ``method`` says how it was made ("block_bootstrap" over contexts, "bootstrap" over pairs,
    latents or test rows, "wilson" for a proportion, "seeds" for the spread over reseeded
    runs), ``unit`` what was resampled and ``n`` how many of them the estimate rests on.
    """

    low: float | None
    high: float | None
    level: float = 0.95
    method: str
    unit: str
    n: int

    @property
    def half_width(self) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2


class SaeInfo(BaseModel):
    uri: str  # canonical: scheme:location, local paths resolved
    name: str
    architecture: str
    hook_name: str
    d_in: int
    d_sae: int
    weights_hash: str
    metadata: dict[str, Any]
    role: Role = "sae"
    of: str | None = None  # a control's SAE (its URI); None for SAEs and references


class ModelInfo(BaseModel):
    name: str
    revision: str | None = None
    dtype: str
    weights_hash: str | None = None  # None only in records older than schema 2
    tokenizer_hash: str | None = None  # None for a model without a tokenizer


class DatasetInfo(BaseModel):
    """The token set a streamed evaluator saw."""

    name: str
    fingerprint: str
    # synthetic: samples of a tier; embedding: one sentence embedding per context
    kind: Literal["text", "tokens", "synthetic", "embedding"] = "text"
    n_tokens: int
    context_size: int
    prepend_bos: bool | None = None  # None: token ids used as given
    separator: int | None = None  # id put between packed documents; None: none
    special_ids: list[int] = Field(default_factory=list)


class TaskInfo(BaseModel):
    """The labelled prompt task a model-side evaluator ran on."""

    name: str
    version: str
    config: dict[str, Any]
    fingerprint: str


class Provenance(BaseModel):
    saebench_version: str
    git_commit: str | None
    packages: dict[str, str]
    python: str
    device: str
    created_at: str
    # where a record came from when saebench did not compute it (e.g. "saebench-json import")
    source: str | None = None


class EvalRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    key: str
    evaluator: EvaluatorInfo
    sae: SaeInfo
    model: ModelInfo
    dataset: DatasetInfo | None = None  # None for evaluators that stream no activations
    task: TaskInfo | None = None
    metrics: dict[str, float | None]
    intervals: dict[str, Interval] = Field(default_factory=dict)
    # what each metric should be read against: its value under the evaluator's own null
    # (chance accuracy, a permuted-label F1), measured on the same data
    nulls: dict[str, float | None] = Field(default_factory=dict)
    # sampling units the estimates rest on (contexts, pairs, latents, test rows)
    sample_sizes: dict[str, int] = Field(default_factory=dict)
    # "partial": some of the work failed (an LLM judge's lost requests, say); a resumed run
    # recomputes a partial record
    status: Literal["complete", "partial"] = "complete"
    # a panel evaluator's record: the SAEs it compared, as "URI#weights hash"
    panel: list[str] | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    seeds: dict[str, list[float]] = Field(default_factory=dict)
    provenance: Provenance
    timing: dict[str, float] = Field(default_factory=dict)
    content_hash: str | None = None  # over everything else in the record (None before schema 3)

    @property
    def main_value(self) -> float | None:
        return self.metrics.get(self.evaluator.main_metric)

    @property
    def main_interval(self) -> Interval | None:
        return self.intervals.get(self.evaluator.main_metric)

    def expected_content_hash(self) -> str:
        """The hash of what this record reports; differs from ``content_hash`` if edited."""
        return content_hash(self)

    def sealed(self) -> EvalRecord:
        """This record with its content hash set (records are written sealed)."""
        return self.model_copy(update={"content_hash": content_hash(self)})

    def expected_key(self) -> str:
        """The key this record's own content gives (differs from ``key`` if edited)."""
        return record_key(
            self.sae.uri, self.sae.weights_hash, self.model, self.evaluator, self.dataset, self.task
        )


def record_key(
    sae_uri: str,
    sae_weights: str,
    model: ModelInfo,
    evaluator: EvaluatorInfo,
    dataset: DatasetInfo | None,
    task: TaskInfo | None,
) -> str:
    """What makes two runs the same: equal keys mean the record can be reused.

    Labels (the dataset's file name, the model's revision string) are left out: the
    contents they name are in (fingerprints, weights and tokenizer hashes).
    """
    tokens = None
    if dataset is not None:
        tokens = dataset.model_dump(exclude={"name"})
    return stable_hash(
        {
            "sae": [sae_uri, sae_weights],
            "model": [model.name, model.weights_hash, model.tokenizer_hash, model.dtype],
            "evaluator": _evaluator_identity(evaluator),
            "tokens": tokens,
            "task": task.model_dump() if task is not None else None,
        }
    )


def content_hash(record: EvalRecord) -> str:
    """A hash over every field of the record but the hash itself: numbers, intervals,
    details, identity and provenance. It shows an edit; it cannot show a forgery made by
    someone who recomputes it (docs/leaderboards.md says what publish can and cannot tell)."""
    return stable_hash(record.model_dump(mode="json", exclude={"content_hash"}))


def _evaluator_identity(evaluator) -> list:
    """Name, version and config hash, and the judge model (and its seed when not 0) of an
    evaluator that asks an LLM (left out when there is none, so the keys of other evaluators
    stay as they were)."""
    parts: list = [evaluator.name, evaluator.version, evaluator.config_hash]
    judge = getattr(evaluator, "llm_model", None)
    if judge is not None:
        parts.append(judge)
    seed = getattr(evaluator, "llm_seed", None)
    if seed:
        parts.append(f"seed={seed}")
    return parts


# -- files ----------------------------------------------------------------------------------
def record_path(out_dir: Path, sae_name: str, evaluator: str, key: str) -> Path:
    return Path(out_dir) / f"{slug(sae_name)}__{evaluator}__{key[:10]}.json"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "sae"


def write_record(out_dir: Path, record: EvalRecord) -> Path:
    """Write a record (sealed with its content hash) atomically; return its path."""
    path = record_path(out_dir, record.sae.name, record.evaluator.name, record.key)
    atomic_write_text(path, record.sealed().model_dump_json(indent=2))
    return path


def find_record(out_dir: Path | None, key: str) -> EvalRecord | None:
    """The record with this key in ``out_dir``; a damaged one is reported and ignored (the run
    then recomputes it and replaces the file)."""
    if out_dir is None or not Path(out_dir).is_dir():
        return None
    for path in Path(out_dir).glob(f"*__{key[:10]}.json"):
        try:
            record = read_record(path)
        except SaebenchError as exc:
            warnings.warn(
                f"{exc}; it will be recomputed and replaced", SaebenchWarning, stacklevel=2
            )
            continue
        if record.key == key:
            return record
    return None


def load_records(location: Path | str, strict: bool = False) -> list[EvalRecord]:
    """Every record in a folder (recursively) or in one file, older schema versions included.

    JSON files that are not saebench records are skipped; a damaged record is skipped with a
    warning naming it, or raises with ``strict=True``.

    Example:
        >>> records = load_records("results/")
    """
    return [record for _, record in load_record_files(location, strict)]


def load_record_files(location: Path | str, strict: bool = False) -> list[tuple[Path, EvalRecord]]:
    """:func:`load_records` with the file each record was read from."""
    root = Path(location).expanduser()
    if root.is_file():
        return [(root, read_record(root))]
    if not root.is_dir():
        raise SaebenchError(f"{root}: no such results folder or record file")
    records = []
    for path in sorted(root.rglob("*.json")):
        try:
            records.append((path, read_record(path)))
        except SaebenchError as exc:
            if strict:
                raise
            if _looks_like_record(path):
                warnings.warn(
                    f"{exc}; skipped (delete it, or rerun the evaluation to rewrite it)",
                    SaebenchWarning,
                    stacklevel=2,
                )
    return records


def read_record(path: Path) -> EvalRecord:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SaebenchError(f"{path}: not a readable saebench record ({exc})") from exc
    if not isinstance(data, dict) or "evaluator" not in data or "key" not in data:
        raise SaebenchError(f"{path}: not a saebench record (no 'key' and 'evaluator' fields)")
    newest = data.get("schema_version", 1)
    if isinstance(newest, int) and newest > SCHEMA_VERSION:
        raise SaebenchError(
            f"{path}: record schema {newest} is newer than this saebench reads "
            f"({SCHEMA_VERSION}); upgrade saebench to read it"
        )
    try:
        return EvalRecord.model_validate(_upgrade(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SaebenchError(f"{path}: damaged saebench record ({where}: {first['msg']})") from exc


def _looks_like_record(path: Path) -> bool:
    """Named as :func:`record_path` names records (so damage is worth a warning)."""
    return path.name.count("__") >= 2


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 (before model weights were part of the identity) to the current one; schema 2
    (before intervals, roles and content hashes) needs nothing, its new fields default."""
    if data.get("schema_version", 1) >= 2:
        return data
    data = dict(data)
    model = dict(data.get("model") or {})
    data["model"] = {
        **model,
        "name": model.get("name") or "unknown",
        "dtype": model.get("dtype") or "float32",
    }
    return data


# -- provenance -----------------------------------------------------------------------------
_PACKAGES = ("torch", "transformer-lens", "transformers", "numpy", "safetensors", "sae-lens")


def provenance(device: str) -> Provenance:
    from saebench.version import __version__

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
