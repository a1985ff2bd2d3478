"""The Ray executor: each group of a plan is one Ray task, records are written by the driver.

A task gets its group spec as JSON, loads the model and SAEs itself (files and URIs only:
objects passed in memory cannot cross processes), runs :func:`~saebench.run.group.run_group`
without writing, and returns the records as JSON. Before submitting, the driver drops the
(SAE, evaluator) pairs whose records it already has (:func:`pending_spec`), so a resumed run
only computes what is missing. A task that fails is submitted again ``retries`` times; a group
that still fails is reported and the other groups' records are kept. Ray is optional
(``pip install 'saebench[ray]'``) and imported only here, only when a run starts.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from saebench.errors import SaebenchError
from saebench.records import EvalRecord, find_record, write_record
from saebench.run.planning import GroupSpec, in_plan_order

INSTALL_HINT = "pip install 'saebench[ray]'"
PROBE_SECONDS = 5.0  # a reachable head answers a TCP connect at once; this is the margin


@dataclass
class GroupFailure:
    """A group whose task failed on every attempt."""

    label: str
    error: str
    attempts: int

    def line(self) -> str:
        return f"group {self.label} failed after {self.attempts} attempt(s): {self.error}"


class GroupsFailed(SaebenchError):
    """Some groups failed; the records of the others were written (``records``)."""

    def __init__(self, failures: list[GroupFailure], records: list[EvalRecord]) -> None:
        self.failures, self.records = failures, records
        super().__init__(
            f"{len(failures)} group(s) failed ({'; '.join(f.line() for f in failures)}); "
            f"{len(records)} record(s) kept; fix the cause and rerun to resume"
        )


def group_label(spec: GroupSpec) -> str:
    """A short name for progress lines: model, first SAE and SAE count."""
    names = [sae.name for sae in spec.saes]
    more = f" +{len(names) - 1}" if len(names) > 1 else ""
    return f"{spec.model.name}[{names[0]}{more}]" if names else spec.model.name


def pending_spec(
    spec: GroupSpec, out_dir: str | Path | None
) -> tuple[GroupSpec | None, list[EvalRecord]]:
    """The group restricted to SAEs and evaluators with a missing record, and the records
    already in ``out_dir``. None when nothing is missing. A record does not depend on the
    other SAEs of its group, so the smaller group gives the same records.

    Example:
        >>> todo, done = pending_spec(groups[0], "results/")
    """
    done: list[EvalRecord] = []
    saes, evaluators = [], []
    for sae in spec.saes:
        for evaluator in spec.evaluators:
            found = find_record(Path(out_dir), spec.key(sae, evaluator)) if out_dir else None
            if found is not None and found.status != "partial":  # a partial one is redone
                done.append(found)
                continue
            saes += [sae] if sae not in saes else []
            evaluators += [evaluator] if evaluator not in evaluators else []
    if not saes:
        return None, done
    order = {e.name: i for i, e in enumerate(spec.evaluators)}
    evaluators.sort(key=lambda e: order[e.name])
    return spec.model_copy(update={"saes": saes, "evaluators": evaluators}), done


def _run_group_json(spec_json: str) -> list[str]:
    """The task body (in a Ray worker): one group's records, as JSON."""
    from saebench.run.group import run_group

    spec = GroupSpec.model_validate_json(spec_json)
    return [record.model_dump_json() for record in run_group(spec, None, resume=False)]


def import_ray():
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise SaebenchError(
            f"--executor ray needs Ray, which is not installed; {INSTALL_HINT}"
        ) from exc
    return ray


def check_address(address: str | None, where: str, seconds: float = PROBE_SECONDS) -> None:
    """Refuse a Ray address nothing answers at, with a short TCP connect (``ray.init`` would
    wait minutes). None, ``auto`` and ``local`` are left to Ray, which finds or starts one.

    Example:
        >>> check_address("127.0.0.1:6379", "--address")
    """
    if address is None or address in ("auto", "local"):
        return
    host, port = _host_port(address, where)
    try:
        socket.create_connection((host, port), timeout=seconds).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__  # a timeout has no strerror
        raise SaebenchError(
            f"{where} {address}: no Ray cluster answers there ({reason}); start one with "
            f"`ray start --head` and pass the address it prints, or leave the address out to "
            "start a local Ray"
        ) from None


def _host_port(address: str, where: str) -> tuple[str, int]:
    location = address.removeprefix("ray://").rstrip("/")
    host, _, port = location.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SaebenchError(
            f"{where} {address}: not a Ray address; give host:port (e.g. 127.0.0.1:6379, "
            "ray://HOST:10001), auto, or leave it out to start a local Ray"
        )
    return host.strip("[]"), int(port)


def run_ray(
    groups: Sequence[GroupSpec],
    out_dir: str | Path | None,
    *,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    retries: int = 1,
    resume: bool = True,
    on_event: Callable[[str, GroupSpec, dict], None] | None = None,
) -> list[EvalRecord]:
    """Every group's records, each group run as one Ray task; new records written here.

    ``address`` is a Ray cluster (``auto``, ``ray://host:10001``); None starts a local Ray
    instance, unless one is already running in this process. ``num_cpus``/``num_gpus`` are
    reserved per task. ``on_event(kind, group, info)`` is told of ``start``/``done``/``retry``/
    ``failed`` (for progress lines). Raises :class:`GroupsFailed` after writing every record
    of the groups that succeeded, if any group failed ``1 + retries`` times.

    Example:
        >>> records = run_ray(plan("zoo:*", model="zoo", dataset="zoo"), "results/")
    """
    _check_loadable(groups)
    ray = import_ray()
    if not ray.is_initialized():
        check_address(address, "address")
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(_run_group_json).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)
    out = Path(out_dir) if out_dir is not None else None
    records: dict[str, EvalRecord] = {}
    running: dict = {}  # object ref -> (planned group, the spec sent, attempt, start time)
    for spec in groups:
        todo, done = pending_spec(spec, out) if resume else (spec, [])
        records.update({record.key: record for record in done})
        if todo is None:
            _tell(on_event, "skip", spec, {"records": len(done)})
            continue
        # tqdm bars from workers would interleave; the driver prints a line per group instead
        quiet = todo.model_copy(
            update={"settings": todo.settings.model_copy(update={"progress": False})}
        )
        running[task.remote(quiet.model_dump_json())] = (spec, quiet, 1, time.perf_counter())
        _tell(on_event, "start", spec, {"pending": len(todo.saes) * len(todo.evaluators)})
    failures = _collect(ray, task, running, records, out, retries, on_event)
    ordered = in_plan_order(list(records.values()), groups)
    if failures:
        raise GroupsFailed(failures, ordered)
    return ordered


def _check_loadable(groups: Sequence[GroupSpec]) -> None:
    """Objects passed in memory with no file behind them exist only in this process (one
    loaded from a URI is loaded again from it, its weights hash checked)."""
    for spec in groups:
        inline = [sae.name for sae in spec.saes if sae.uri == "inline"]
        if spec.model.location == "inline":
            inline.insert(0, f"model {spec.model.name}")
        if inline:
            raise SaebenchError(
                f"{', '.join(inline)}: passed as objects, which a Ray worker cannot load; "
                "save them to folders (saebench.save_model, save_saelens) and plan with the paths"
            )


def _collect(ray, task, running: dict, records: dict, out, retries: int, on_event):
    failures: list[GroupFailure] = []
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        ref = ready[0]
        planned, spec, attempt, began = running.pop(ref)
        try:
            returned = [EvalRecord.model_validate_json(text) for text in ray.get(ref)]
        except Exception as exc:  # a task's own error or a lost worker: retry, then report
            error = _cause(exc)
            if attempt <= retries:
                _tell(on_event, "retry", planned, {"attempt": attempt, "error": error})
                retry = task.remote(spec.model_dump_json())
                running[retry] = (planned, spec, attempt + 1, time.perf_counter())
            else:
                failures.append(GroupFailure(group_label(planned), error, attempt))
                _tell(on_event, "failed", planned, {"attempts": attempt, "error": error})
            continue
        new = [record for record in returned if record.key not in records]
        for record in new:
            if out is not None:
                write_record(out, record)
            records[record.key] = record
        seconds = time.perf_counter() - began
        _tell(on_event, "done", planned, {"records": len(new), "seconds": seconds})
    return failures


def _cause(exc: Exception) -> str:
    """The task's own exception in one line (Ray wraps it with the remote traceback)."""
    cause = getattr(exc, "cause", None) or exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    if isinstance(cause, SaebenchError):
        return text
    return f"{type(cause).__name__}: {text}"[:400]


def _tell(on_event, kind: str, spec: GroupSpec, info: dict) -> None:
    if on_event is not None:
        on_event(kind, spec, info)
