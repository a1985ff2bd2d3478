"""Records <-> SAEBench's result JSON (``eval_results/<eval_type_id>/*_eval_results.json``).

Export: ``core`` (our ``reconstruction`` and ``sparsity`` records of one SAE on one token set,
merged into one file), ``autointerp``, ``ravel`` and ``sparse_probing``; other evaluators are
skipped with a note. Each file has SAEBench's top-level keys (``eval_type_id``,
``eval_config``, ``eval_id``, ``datetime_epoch_millis``, ``eval_result_metrics`` nested by
category, ``eval_result_details``, ``sae_bench_commit_hash``, ``sae_lens_id``,
``sae_lens_release_id``, ``sae_lens_version``, ``sae_cfg_dict``,
``eval_result_unstructured``). Metrics defined as SAEBench defines them go under its names;
ours that SAEBench defines differently (``mse``, ``explained_variance``, ``l1``) go under
names of their own (``mse_per_element``, ``explained_variance_centred``, ``l1_abs``), never
under SAEBench's. Every metric of the record is also kept in
``eval_result_unstructured["saebench_harness"]``.

Import: the reverse. SAEBench's metrics with our definition get our names; its ``mse``,
``explained_variance`` and ``l1`` become ``saebench_mse``, ``saebench_explained_variance``
and ``saebench_l1`` (flagged in ``details["saebench_import"]["differs"]`` with the reason),
and metrics we have no counterpart for become ``saebench_<name>``. Imported records say where
they came from (``details["saebench_import"]``, no git commit, unknown weights hash) and
``leaderboard publish`` refuses them.

Example:
    >>> export_saebench_json(load_records("results/"), Path("sae_bench_results"))
    >>> records = import_saebench_json(Path("sae_bench_results"))
"""

from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text
from saebench.identity import stable_hash
from saebench.records import (
    DatasetInfo,
    EvalRecord,
    EvaluatorInfo,
    ModelInfo,
    Provenance,
    SaeInfo,
    TaskInfo,
    record_key,
    slug,
)

IMPORTED_VERSION = "saebench-json"

# (our evaluator, our metric, SAEBench category, SAEBench metric, higher is better):
# the same definition on both sides
SAME = [
    ("reconstruction", "ce_loss_score", "model_performance_preservation", "ce_loss_score", True),
    (
        "reconstruction",
        "ce_loss_zero_ablated",
        "model_performance_preservation",
        "ce_loss_with_ablation",
        None,
    ),
    (
        "reconstruction",
        "ce_loss_spliced",
        "model_performance_preservation",
        "ce_loss_with_sae",
        False,
    ),
    (
        "reconstruction",
        "ce_loss_clean",
        "model_performance_preservation",
        "ce_loss_without_sae",
        None,
    ),
    ("reconstruction", "kl_div_score", "model_behavior_preservation", "kl_div_score", True),
    (
        "reconstruction",
        "kl_zero_ablated",
        "model_behavior_preservation",
        "kl_div_with_ablation",
        None,
    ),
    ("reconstruction", "kl_spliced", "model_behavior_preservation", "kl_div_with_sae", False),
    (
        "reconstruction",
        "explained_variance_legacy",
        "reconstruction_quality",
        "explained_variance_legacy",
        True,
    ),
    ("reconstruction", "cossim", "reconstruction_quality", "cossim", True),
    ("reconstruction", "l2_ratio", "shrinkage", "l2_ratio", None),
    (
        "reconstruction",
        "relative_reconstruction_bias",
        "shrinkage",
        "relative_reconstruction_bias",
        None,
    ),
    ("sparsity", "l0", "sparsity", "l0", None),
    ("sparsity", "alive_fraction", "misc_metrics", "frac_alive", True),
    ("ravel", "disentanglement", "ravel", "disentanglement_score", True),
    ("ravel", "cause", "ravel", "cause_score", True),
    ("ravel", "isolation", "ravel", "isolation_score", True),
    ("sparse_probing", "sae_accuracy_full", "sae", "sae_test_accuracy", True),
    ("sparse_probing", "raw_accuracy_full", "llm", "llm_test_accuracy", True),
    *[
        (ev, f"{ours}_accuracy_k{k}", cat, f"{cat}_top_{k}_test_accuracy", True)
        for ev, ours, cat in (("sparse_probing", "sae", "sae"), ("sparse_probing", "raw", "llm"))
        for k in (1, 2, 5)
    ],
]

# SAEBench's metrics whose definition differs from ours of the same name:
# (category, SAEBench metric) -> (our evaluator, imported name, higher is better, why)
DIFFERS = {
    ("reconstruction_quality", "mse"): (
        "reconstruction",
        "saebench_mse",
        False,
        "SAEBench divides each token's squared error by the batch's token count (it depends "
        "on the batch size); our mse is the mean per element",
    ),
    ("reconstruction_quality", "explained_variance"): (
        "reconstruction",
        "saebench_explained_variance",
        True,
        "SAEBench's denominator is built from E[x^2] (close to an uncentred variance); ours "
        "is centred on the mean of all evaluated tokens",
    ),
    ("sparsity", "l1"): (
        "sparsity",
        "saebench_l1",
        None,
        "SAEBench sums the signed codes; ours sums |codes| (equal for non-negative codes)",
    ),
}

# ours, exported under names of their own so no SAEBench reader takes them for its own
OURS_RENAMED = [
    ("reconstruction", "mse", "reconstruction_quality", "mse_per_element", False),
    (
        "reconstruction",
        "explained_variance",
        "reconstruction_quality",
        "explained_variance_centred",
        True,
    ),
    ("reconstruction", "fvu", "reconstruction_quality", "fvu_centred", False),
    ("sparsity", "l1", "sparsity", "l1_abs", None),
]

EVAL_TYPES = {
    "reconstruction": "core",
    "sparsity": "core",
    "autointerp": "autointerp",
    "ravel": "ravel",
    "sparse_probing": "sparse_probing",
}
MAIN = {
    "reconstruction": "ce_loss_score",
    "sparsity": "l0",
    "ravel": "disentanglement",
    "sparse_probing": "sae_accuracy_k1",
}
# SAEBench's categories of core that belong to each of our two core evaluators
CORE_CATEGORIES = {
    "model_performance_preservation": "reconstruction",
    "model_behavior_preservation": "reconstruction",
    "reconstruction_quality": "reconstruction",
    "shrinkage": "reconstruction",
    "sparsity": "sparsity",
    "misc_metrics": "sparsity",
    "token_stats": "sparsity",
}


_TOKEN_STATS = {"reconstruction": "reconstruction", "sparsity": "sparsity_variance"}


# -- export ---------------------------------------------------------------------------------
def export_saebench_json(records: list[EvalRecord], out: Path) -> list[Path]:
    """Write SAEBench result files for every record SAEBench has an eval for; returns the
    files. Records of other evaluators are skipped with one warning per evaluator."""
    groups: dict[tuple, list[EvalRecord]] = {}
    skipped: dict[str, int] = {}
    raw = _raw_probes(records)
    for record in sorted(records, key=lambda r: r.key):
        if record.sae.role not in ("sae", "control"):
            continue  # references and panels have no SAEBench file; raw probes join below
        eval_type = EVAL_TYPES.get(record.evaluator.name)
        if eval_type is None:
            skipped[record.evaluator.name] = skipped.get(record.evaluator.name, 0) + 1
            continue
        groups.setdefault(_export_group(record, eval_type), []).append(record)
    for name, count in sorted(skipped.items()):
        warnings.warn(
            f"{count} {name} record(s) not exported: no SAEBench result schema to map "
            f"{name} to (exported: core, autointerp, ravel, sparse_probing)",
            SaebenchWarning,
            stacklevel=2,
        )
    paths = []
    for (eval_type, *_), members in sorted(groups.items()):
        data = saebench_result(eval_type, members)
        _add_raw_probe(data, members, raw)
        first = members[0]
        path = Path(out) / eval_type / f"{slug(first.sae.name)}_{first.key[:10]}_eval_results.json"
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        paths.append(path)
    return paths


_RAW_METRICS = {"sae_accuracy_full": "llm_test_accuracy"} | {
    f"sae_accuracy_k{k}": f"llm_top_{k}_test_accuracy" for k in (1, 2, 5)
}


def _probe_origin(record: EvalRecord) -> tuple:
    task = record.task.fingerprint if record.task else None
    return (record.model.weights_hash, record.evaluator.config_hash, task, record.sae.hook_name)


def _raw_probes(records: list[EvalRecord]) -> dict[tuple, EvalRecord]:
    """sparse_probing's raw-activation probe records (references), by what they probed."""
    return {
        _probe_origin(r): r
        for r in records
        if r.evaluator.name == "sparse_probing" and r.sae.role == "reference"
        and r.sae.name == "raw_activations"
    }  # fmt: skip


def _add_raw_probe(data: dict, members: list[EvalRecord], raw: dict) -> None:
    """SAEBench's ``llm_*`` probe accuracies, from the raw-activation reference record."""
    for record in members:
        if record.evaluator.name != "sparse_probing":
            continue
        reference = raw.get(_probe_origin(record))
        if reference is None:
            continue
        llm = data["eval_result_metrics"].setdefault("llm", {})
        for ours, theirs in _RAW_METRICS.items():
            if reference.metrics.get(ours) is not None:
                llm[theirs] = reference.metrics[ours]


def _export_group(record: EvalRecord, eval_type: str) -> tuple:
    """Core merges one SAE's reconstruction and sparsity records on the same tokens."""
    tokens = record.dataset.fingerprint if record.dataset else None
    evaluator = "core" if eval_type == "core" else record.key
    return (
        eval_type,
        record.sae.uri,
        record.sae.weights_hash,
        record.model.name,
        tokens,
        evaluator,
    )


def saebench_result(eval_type: str, records: list[EvalRecord]) -> dict[str, Any]:
    """One SAEBench result file's content from the records of one SAE (one eval type)."""
    first = records[0]
    metrics: dict[str, dict[str, float | None]] = {}
    for record in records:
        for category, name, value in _exported_metrics(record):
            metrics.setdefault(category, {})[name] = value
    release, sae_id = _saelens_ids(first.sae)
    return {
        "eval_type_id": eval_type,
        "eval_config": _eval_config(eval_type, records),
        "eval_id": _eval_id(records),
        "datetime_epoch_millis": max(_millis(r.provenance.created_at) for r in records),
        "eval_result_metrics": metrics,
        "eval_result_details": [],
        "eval_result_unstructured": {
            "saebench_harness": {
                "note": "written by saebench (this harness), not by SAEBench; metric "
                "definitions are saebench's (see docs/leaderboards.md)",
                "records": {
                    r.evaluator.name: {"key": r.key, "metrics": r.metrics} for r in records
                },
            }
        },
        "sae_bench_commit_hash": first.provenance.git_commit or "Unknown",
        "sae_lens_id": sae_id,
        "sae_lens_release_id": release,
        "sae_lens_version": first.provenance.packages.get("sae-lens"),
        "sae_cfg_dict": _sae_cfg(first),
    }


def _exported_metrics(record: EvalRecord):
    name = record.evaluator.name
    for evaluator, ours, category, theirs, _ in [*SAME, *OURS_RENAMED]:
        if evaluator == name and ours in record.metrics:
            yield category, theirs, record.metrics[ours]
    if name in ("reconstruction", "sparsity") and record.dataset is not None:
        n_tokens = float(record.dataset.n_tokens)
        yield "token_stats", f"total_tokens_eval_{_TOKEN_STATS[name]}", n_tokens
    if name == "autointerp":  # SAEBench's headline: our main metric, under its name
        yield "autointerp", "autointerp_score", record.main_value


def _eval_config(eval_type: str, records: list[EvalRecord]) -> dict[str, Any]:
    first = records[0]
    config: dict[str, Any] = {"model_name": first.model.name, "llm_dtype": first.model.dtype}
    if first.dataset is not None:
        config.update(
            dataset=first.dataset.name,
            context_size=first.dataset.context_size,
            n_tokens=first.dataset.n_tokens,
        )
    if first.task is not None:
        config["task"] = f"{first.task.name}@{first.task.version}"
    config["saebench_harness_config"] = {
        r.evaluator.name: {"version": r.evaluator.version, **r.evaluator.config} for r in records
    }
    return config


def _eval_id(records: list[EvalRecord]) -> str:
    """A UUID4-shaped id derived from the records' keys (SAEBench draws one at random; a
    derived one keeps exports reproducible)."""
    digest = hashlib.sha256("|".join(sorted(r.key for r in records)).encode()).hexdigest()
    return str(uuid.UUID(digest[:32], version=4))


def _millis(created_at: str) -> int:
    return int(datetime.fromisoformat(created_at).timestamp() * 1000)


def _saelens_ids(sae: SaeInfo) -> tuple[str, str]:
    """SAELens's (release, id) for ``saelens:RELEASE/ID``; otherwise the URI's scheme and the
    SAE's name (SAEBench's custom SAEs likewise carry a made-up release)."""
    scheme, _, location = sae.uri.partition(":")
    if scheme == "saelens" and "/" in location and not location.startswith(("/", ".")):
        release, _, sae_id = location.partition("/")
        return release, sae_id
    return scheme, sae.name


def _sae_cfg(record: EvalRecord) -> dict[str, Any]:
    cfg = {k: v for k, v in record.sae.metadata.items() if v is not None}
    cfg.update(
        architecture=record.sae.architecture,
        d_in=record.sae.d_in,
        d_sae=record.sae.d_sae,
        hook_name=record.sae.hook_name,
        model_name=record.model.name,
    )
    return cfg


# -- import ---------------------------------------------------------------------------------
def import_saebench_json(folder: Path) -> list[EvalRecord]:
    """Records from every SAEBench result file under ``folder`` (core becomes a
    ``reconstruction`` and a ``sparsity`` record). Files of evals we have no counterpart for
    are skipped with a warning; files that are not SAEBench results are ignored."""
    folder = Path(folder)
    if not folder.exists():
        raise SaebenchError(f"{folder}: no such folder of SAEBench result files")
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.json"))
    records, skipped = [], {}
    for path in files:
        data = _read_result(path)
        if data is None:
            continue
        eval_type = data["eval_type_id"]
        if eval_type not in set(EVAL_TYPES.values()):
            skipped[eval_type] = skipped.get(eval_type, 0) + 1
            continue
        name = path.relative_to(folder).as_posix() if path != folder else path.name
        records += records_from_result(data, name)
    for eval_type, count in sorted(skipped.items()):
        warnings.warn(
            f"{count} SAEBench {eval_type} file(s) not imported: saebench has no such evaluator",
            SaebenchWarning,
            stacklevel=2,
        )
    return records


def _read_result(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SaebenchError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict) or "eval_type_id" not in data:
        return None
    if not isinstance(data.get("eval_result_metrics"), dict):
        raise SaebenchError(f"{path}: a SAEBench result without eval_result_metrics")
    return data


def records_from_result(data: dict[str, Any], source: str) -> list[EvalRecord]:
    """Our records from one SAEBench result (see the module docstring for names)."""
    per_evaluator: dict[str, dict] = {}
    for category, values in sorted(data["eval_result_metrics"].items()):
        if category == "token_stats":  # token counts: the dataset's n_tokens, not metrics
            continue
        for metric, value in sorted((values or {}).items()):
            evaluator, name, higher, why = _imported_name(data["eval_type_id"], category, metric)
            entry = per_evaluator.setdefault(
                evaluator, {"metrics": {}, "higher": {}, "differs": {}, "unmapped": []}
            )
            entry["metrics"][name] = None if value is None else float(value)
            entry["higher"][name] = higher
            if why:
                entry["differs"][name] = f"SAEBench {category}.{metric}: {why}"
            elif name.startswith("saebench_"):
                entry["unmapped"].append(f"{category}.{metric}")
    return [_record(data, ev, entry, source) for ev, entry in sorted(per_evaluator.items())]


def _imported_name(eval_type: str, category: str, metric: str):
    """(our evaluator, metric name, higher is better, why it differs or None)."""
    if (category, metric) in DIFFERS:
        evaluator, name, higher, why = DIFFERS[(category, metric)]
        return evaluator, name, higher, why
    for evaluator, ours, cat, theirs, higher in [*SAME, *OURS_RENAMED]:
        if (cat, theirs) == (category, metric) and EVAL_TYPES[evaluator] == eval_type:
            return evaluator, ours, higher, None
    if eval_type == "core":
        evaluator = CORE_CATEGORIES.get(category, "reconstruction")
    else:
        evaluator = eval_type
    higher = True if (eval_type, metric) == ("autointerp", "autointerp_score") else None
    return evaluator, f"saebench_{metric}", higher, None


def _record(data: dict, evaluator: str, entry: dict, source: str) -> EvalRecord:
    config = data.get("eval_config") or {}
    cfg = data.get("sae_cfg_dict") or {}
    metrics = entry["metrics"]
    main = MAIN.get(evaluator)
    if main not in metrics:
        main = "saebench_autointerp_score" if evaluator == "autointerp" else sorted(metrics)[0]
    info = EvaluatorInfo(
        name=evaluator,
        version=IMPORTED_VERSION,
        config=config,
        config_hash=stable_hash(config),
        main_metric=main,
        higher_is_better=entry["higher"],
    )
    sae = _imported_sae(data, cfg)
    model = ModelInfo(
        name=str(cfg.get("model_name") or config.get("model_name") or "unknown"),
        dtype=str(config.get("llm_dtype") or cfg.get("dtype") or "float32"),
    )
    dataset, task = _imported_data(data, config)
    key = record_key(sae.uri, sae.weights_hash, model, info, dataset, task)
    details = {
        "saebench_import": {
            "file": source,
            "eval_type_id": data["eval_type_id"],
            "eval_id": data.get("eval_id"),
            "sae_bench_commit_hash": data.get("sae_bench_commit_hash"),
            "differs": entry["differs"],
            "unmapped": entry["unmapped"],
        }
    }
    return EvalRecord(
        key=key,
        evaluator=info,
        sae=sae,
        model=model,
        dataset=dataset,
        task=task,
        metrics=metrics,
        details=details,
        provenance=_imported_provenance(data),
    )


def _imported_sae(data: dict, cfg: dict) -> SaeInfo:
    release, sae_id = data.get("sae_lens_release_id"), data.get("sae_lens_id")
    name = str(sae_id or cfg.get("hook_name") or "sae")
    return SaeInfo(
        uri=f"saelens:{release}/{sae_id}" if release and sae_id else f"saebench-json:{name}",
        name=name,
        architecture=str(cfg.get("architecture") or "unknown"),
        hook_name=str(cfg.get("hook_name") or "unknown"),
        d_in=int(cfg.get("d_in") or 0),
        d_sae=int(cfg.get("d_sae") or 0),
        weights_hash="unknown",  # SAEBench records no hash of the weights
        metadata=cfg,
    )


def _imported_data(data: dict, config: dict) -> tuple[DatasetInfo | None, TaskInfo | None]:
    eval_type = data["eval_type_id"]
    if eval_type in ("ravel", "sparse_probing"):
        return None, TaskInfo(
            name=f"saebench:{eval_type}", version="unknown", config={}, fingerprint="unknown"
        )
    stats = (data.get("eval_result_metrics") or {}).get("token_stats") or {}
    n_tokens = stats.get("total_tokens_eval_reconstruction") or config.get("n_tokens") or 0
    dataset = DatasetInfo(
        name=str(config.get("dataset") or config.get("dataset_name") or "unknown"),
        fingerprint="unknown",  # SAEBench records the dataset's name, not its content
        n_tokens=int(n_tokens),
        context_size=int(config.get("context_size") or 128),
    )
    return dataset, None


def _imported_provenance(data: dict) -> Provenance:
    from saebench.version import __version__

    millis = data.get("datetime_epoch_millis")
    when = (
        datetime.fromtimestamp(millis / 1000, timezone.utc)
        if millis
        else datetime.fromtimestamp(0, timezone.utc)
    )
    packages = {"sae-lens": str(data["sae_lens_version"])} if data.get("sae_lens_version") else {}
    return Provenance(
        saebench_version=__version__,
        git_commit=None,  # not computed by this checkout: nothing to vouch for
        packages=packages,
        python="unknown",
        device="unknown",
        created_at=when.isoformat(timespec="seconds"),
        source="saebench-json import",
    )
