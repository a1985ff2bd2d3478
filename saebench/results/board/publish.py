"""``saebench leaderboard publish``: vouch for a built leaderboard, or refuse.

Refused, one line each naming the record (its file) and the field:
- missing provenance: saebench version, a clean git commit (none, ``+dirty`` or unknown
  refuses), package versions, model revision and weights hash, the dataset fingerprint of a
  streamed evaluator or the task fingerprint of a task evaluator, the config hash (present and
  equal to the hash of the config), the SAE's weights hash;
- a key that no longer matches the record's content (:meth:`EvalRecord.expected_key`);
- a content hash that is missing (a record older than schema 3) or does not match the
  record's content (:meth:`EvalRecord.expected_content_hash`): an edited number;
- a model name that its weights hash contradicts, for the models whose weights saebench can
  hash offline (the zoo model): another model's name on the zoo's weights, or the zoo's name
  on other weights;
- records imported from SAEBench JSON (we cannot vouch for numbers we did not compute);
- generated files (README, CSV, HTML, plots) that differ from a rebuild of ``records/``.

When nothing is refused, publishing writes ``PUBLISHED.json``: every file's SHA-256 and the
record count (no date, so publishing twice changes nothing). The folder is then ready to
commit; a later rebuild deletes the manifest.

Example:
    >>> problems = check_board(Path("leaderboards/zoo"))
    >>> publish_board(Path("leaderboards/zoo"))  # raises SaebenchError if any problem
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from functools import cache
from pathlib import Path

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text
from saebench.identity import stable_hash
from saebench.records import EvalRecord, read_record
from saebench.results.board.build import (
    GENERATED,
    MANIFEST,
    PLOTS,
    RECORDS,
    VIEWER,
    built_sort,
    write_board,
)

_UNKNOWN = {"", "unknown", "none", "null"}


def record_problems(record: EvalRecord) -> list[tuple[str, str]]:
    """(field, why) for every reason to refuse this record."""
    found = []
    prov = record.provenance
    if _missing(prov.saebench_version):
        found.append(("provenance.saebench_version", "missing"))
    commit = prov.git_commit
    if _missing(commit):
        found.append(("provenance.git_commit", "missing (not run from a git checkout)"))
    elif commit.endswith("+dirty"):
        found.append(("provenance.git_commit", f"{commit}: uncommitted changes"))
    if not prov.packages:
        found.append(("provenance.packages", "missing"))
    if _missing(record.model.revision):
        found.append(("model.revision", "missing"))
    if _missing(record.model.weights_hash):
        found.append(("model.weights_hash", "missing"))
    if record.dataset is not None and _missing(record.dataset.fingerprint):
        found.append(("dataset.fingerprint", "missing"))
    if record.task is not None and _missing(record.task.fingerprint):
        found.append(("task.fingerprint", "missing"))
    found += _config_problems(record)
    if _missing(record.sae.weights_hash):
        found.append(("sae.weights_hash", "missing"))
    if record.provenance.source is not None:
        found.append(("provenance.source", f"{record.provenance.source}, not computed here"))
    elif "saebench_import" in record.details:
        origin = record.details["saebench_import"].get("file", "a SAEBench result file")
        found.append(("details.saebench_import", f"imported from {origin}, not computed here"))
    expected = record.expected_key()
    if record.key != expected:
        found.append(("key", f"{record.key} but the content gives {expected} (edited?)"))
    found += _content_problems(record)
    found += _model_problems(record)
    return found


def _content_problems(record: EvalRecord) -> list[tuple[str, str]]:
    if record.content_hash is None:
        why = (
            f"missing (a schema {record.schema_version} record, made before records were "
            "sealed); move it out of the results and rerun its evaluation to regenerate it"
        )
        return [("content_hash", why)]
    if record.content_hash != record.expected_content_hash():
        why = "does not match the record's content (edited after it was written?)"
        return [("content_hash", f"{why}; rerun its evaluation to regenerate it")]
    return []


def _model_problems(record: EvalRecord) -> list[tuple[str, str]]:
    """The claimed model name against its weights hash, where saebench knows the name."""
    model = record.model
    known = known_models(model.dtype)
    if _missing(model.weights_hash) or not known:
        return []
    owners = sorted(name for name, (_, weights) in known.items() if weights == model.weights_hash)
    if owners and model.name not in owners:
        why = f"{model.weights_hash} are the weights of {owners[0]}, not of {model.name}"
        return [("model.weights_hash", why)]
    if model.name in known and not owners:
        revision, weights = known[model.name]
        if model.revision != revision:
            why = f"{model.revision}: not the installed {model.name} ({revision}); cannot check"
            return [("model.revision", f"{why} its weights, rerun with this saebench")]
        why = f"{model.weights_hash} is not {model.name}'s ({weights} in {model.dtype})"
        return [("model.weights_hash", why)]
    return []


_ZOO_NAMES = ("saebench-zoo", "zoo")


@cache
def known_models(dtype: str) -> dict[str, tuple[str | None, str]]:
    """``{name: (revision, weights hash)}`` of the models saebench can hash offline in
    ``dtype``: the zoo model, under its name and its alias ``zoo`` (empty if it cannot load)."""
    try:
        from saebench.identity import model_weights_hash
        from saebench.models.load import load_model
        from saebench.zoo.model import revision

        weights = model_weights_hash(load_model("zoo", "cpu", dtype))
    except (SaebenchError, OSError, ImportError, ValueError, RuntimeError, TypeError):
        return {}
    return {name: (revision(), weights) for name in _ZOO_NAMES}


def known_model_hashes(dtype: str) -> dict[str, str]:
    """``{name: weights hash}`` of :func:`known_models`."""
    return {name: weights for name, (_, weights) in known_models(dtype).items()}


def _config_problems(record: EvalRecord) -> list[tuple[str, str]]:
    info = record.evaluator
    if _missing(info.config_hash):
        return [("evaluator.config_hash", "missing")]
    if info.config_hash != stable_hash(info.config):
        return [("evaluator.config_hash", "does not match evaluator.config")]
    return []


def _missing(value) -> bool:
    return value is None or str(value).strip().lower() in _UNKNOWN


def check_board(board: Path) -> list[str]:
    """Every refusal as one line, ``<record or file>: <field>: <why>``; empty: publishable."""
    board = Path(board)
    folder = board / RECORDS
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise SaebenchError(f"{board}: no records/ folder; run `saebench leaderboard build` first")
    lines, records = [], []
    for path in files:
        try:
            record = read_record(path)
        except SaebenchError as exc:
            lines.append(f"{path.name}: file: {exc}")
            continue
        records.append(record)
        lines += [f"{path.name}: {field}: {why}" for field, why in record_problems(record)]
    if records:
        lines += rebuild_differences(board, records)
    return lines


def rebuild_differences(board: Path, records: list[EvalRecord]) -> list[str]:
    """Generated files that a rebuild of the board's own records would write differently."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", SaebenchWarning)
        fresh = Path(tmp) / board.name
        ranked_by = built_sort(board)
        write_board(sorted(records, key=lambda r: r.key), fresh, board.name, sort_by=ranked_by)
        want, have = _generated(fresh), _generated(board)
    lines = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            lines.append(f"{name}: file: missing; rebuild with `saebench leaderboard build`")
        elif name not in want:
            lines.append(f"{name}: file: not made by a rebuild; delete it or rebuild")
        elif want[name] != have[name]:
            lines.append(f"{name}: file: differs from a rebuild of records/; rebuild it")
    return lines


def _generated(root: Path) -> dict[str, str]:
    """Hashes of the files a build writes (records excluded: they are the input)."""
    found = {name: _sha256(root / name) for name in GENERATED if (root / name).is_file()}
    for folder in (PLOTS, VIEWER):
        for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            if path.is_file():
                found[path.relative_to(root).as_posix()] = _sha256(path)
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish_board(board: Path) -> Path:
    """Check the board; write ``PUBLISHED.json`` when nothing is refused, else print every
    refusal (one line each) and raise with their count."""
    board = Path(board)
    problems = check_board(board)
    if problems:
        for line in problems:
            print(line)
        raise SaebenchError(
            f"publish refused: {len(problems)} problem(s) in {board} (listed above); "
            "fix the records or rebuild, then publish again"
        )
    files = {
        p.relative_to(board).as_posix(): _sha256(p)
        for p in sorted(board.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    n_records = sum(1 for name in files if name.startswith(f"{RECORDS}/"))
    manifest = {"leaderboard": board.name, "records": n_records, "files": files}
    path = board / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path
