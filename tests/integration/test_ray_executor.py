"""The Ray executor on a local Ray instance (2 CPUs, started once for the module): the same
records as the local executor, resume without resubmitting, a failing group retried once and
reported while the other group's records are written. Also: a group restricted to its
missing records gives the records the whole group gave."""

import json
import os
import shutil

import pytest

from saebench.records import load_records
from saebench.run.executors import run_local
from saebench.run.group import run_group
from saebench.run.planning import plan
from saebench.run.ray_executor import GroupsFailed, pending_spec, run_ray
from saebench.zoo.catalog import saes_dir

TOKENS = 1024
EVALUATORS = ["reconstruction", "sparsity"]


def short_context_copy(folder, name="resid-topk-8", context_size=32):
    """A zoo SAE copied to a folder with a shorter training context: its own token set, so a
    plan with it and a zoo SAE has two groups."""
    shutil.copytree(saes_dir() / name, folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg.setdefault("metadata", {})["context_size"] = context_size
    cfg["context_size"] = context_size
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def two_groups(tmp_path):
    copy = short_context_copy(tmp_path / "short")
    groups = plan(
        ["zoo:resid-relu", str(copy)],
        model="zoo",
        dataset="zoo",
        evaluators=EVALUATORS,
        n_tokens=TOKENS,
        device="cpu",
        progress=False,
    )
    assert [g.tokens.context_size for g in groups] == [64, 32]
    return groups, copy


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    os.environ["RAY_DISABLE_USAGE_STATS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def assert_same_records(ours, theirs):
    assert [r.key for r in ours] == [r.key for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.metrics.keys() == b.metrics.keys()
        for metric, value in a.metrics.items():
            if value is None:  # a metric that does not apply (no pairs, say) on both sides
                assert b.metrics[metric] is None, metric
                continue
            assert b.metrics[metric] == pytest.approx(value, rel=1e-6, abs=1e-9), metric


def test_ray_gives_the_local_executors_records_and_resumes_without_tasks(ray_instance, tmp_path):
    groups, _ = two_groups(tmp_path)
    local = run_local(groups, tmp_path / "local")
    events = []
    remote = run_ray(
        groups, tmp_path / "ray", on_event=lambda kind, spec, info: events.append(kind)
    )
    assert_same_records(local, remote)
    assert sorted(events) == ["done", "done", "start", "start"]
    on_disk = {r.key for r in load_records(tmp_path / "ray")}
    assert on_disk == {r.key for r in local} and len(list((tmp_path / "ray").iterdir())) == 4
    # everything is there: nothing is submitted again, the same records come back
    events.clear()
    again = run_ray(groups, tmp_path / "ray", on_event=lambda kind, *_: events.append(kind))
    assert events == ["skip", "skip"]
    assert [r.model_dump() for r in again] == [r.model_dump() for r in remote]


def test_a_failing_group_is_retried_once_then_reported_and_the_other_kept(ray_instance, tmp_path):
    groups, copy = two_groups(tmp_path)
    shutil.rmtree(copy)  # planned, then gone: its task fails wherever it runs
    events = []
    with pytest.raises(GroupsFailed) as failed:
        run_ray(
            groups,
            tmp_path / "out",
            retries=1,
            on_event=lambda kind, spec, info: events.append((kind, spec.saes[0].name)),
        )
    (failure,) = failed.value.failures
    assert failure.attempts == 2 and "short" in failure.label
    assert "no such file" in failure.error or "short" in failure.error
    assert ("retry", "short") in events and ("failed", "short") in events
    assert events.count(("retry", "short")) == 1
    kept = load_records(tmp_path / "out")
    assert {r.sae.name for r in kept} == {"resid-relu"} and len(kept) == 2
    assert {r.key for r in failed.value.records} == {r.key for r in kept}
    assert "1 group(s) failed" in str(failed.value)


def test_a_group_restricted_to_its_missing_records_gives_the_same_records(tmp_path):
    """A record does not depend on its company: rerunning one (SAE, evaluator) pair alone
    gives the key and the numbers it got beside the others."""
    (group,) = plan(
        ["zoo:resid-relu", "zoo:resid-topk-8"],
        model="zoo",
        dataset="zoo",
        evaluators=EVALUATORS,
        n_tokens=TOKENS,
        device="cpu",
        progress=False,
    )
    out = tmp_path / "out"
    whole = run_group(group, out)
    target = next(
        r for r in whole if r.sae.name == "resid-topk-8" and r.evaluator.name == "sparsity"
    )
    next(out.glob(f"*__{target.key[:10]}.json")).unlink()
    todo, done = pending_spec(group, out)
    assert [s.name for s in todo.saes] == ["resid-topk-8"]
    assert [e.name for e in todo.evaluators] == ["sparsity"]
    assert {r.key for r in done} == {r.key for r in whole} - {target.key}
    (alone,) = run_group(todo, None)
    assert_same_records([target], [alone])
    assert pending_spec(group, tmp_path / "empty")[0] == group


def test_an_sae_object_with_no_file_is_refused_before_ray_starts(tmp_path):
    from saebench.adapters.resolve import load_sae
    from saebench.errors import SaebenchError

    sae = load_sae("zoo:resid-topk-8")
    sae.meta.source = None  # built in memory: no file a worker could load
    groups = plan(sae, model="zoo", dataset="zoo", evaluators=["sparsity"], n_tokens=TOKENS)
    with pytest.raises(SaebenchError, match="passed as objects.*save them to folders"):
        run_ray(groups, tmp_path)


def test_saebench_run_with_the_ray_executor(ray_instance, tmp_path, capsys):
    from saebench.cli.main import main

    short_context_copy(tmp_path / "short")
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "name: tiny\nsaes: [zoo:resid-relu, short]\nmodel: zoo\ndataset: zoo\n"
        "tokens: 1024\nevaluators: [reconstruction, sparsity]\nexecutor: {device: cpu}\n"
    )
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(suite), "--executor", "ray", "--num-cpus", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err
    assert len(load_records(out)) == 4 and "#  sae" in captured.out
    assert captured.err.count("record(s) written") == 2


@pytest.mark.slow
def test_ray_and_local_records_are_equal_for_every_offline_evaluator(ray_instance, tmp_path):
    """Issue 17 part 5: trained masks, probes and dictionaries follow the thread count unless
    fixed; a Ray worker runs one torch thread, a local run two. Every offline evaluator at
    its quickstart preset must give the same numbers either way."""
    from saebench.registry import evaluators

    names = [n for n in evaluators.names() if not evaluators.get(n).needs.llm]
    configs = {n: dict(evaluators.get(n).quickstart) for n in names}
    # smaller than the presets where the shared part dominates: equality, not size, is tested
    configs["supervised"].update(task_config={"n": 600}, n_eval=200, n_pairs=100)
    configs["ravel"].update(n_pairs=64, n_train_pairs=96, mask_steps=30, das_max_steps=40)
    groups = plan(
        ["zoo:resid-topk-16"],
        model="zoo",
        dataset="zoo",
        evaluators=names,
        configs=configs,
        n_tokens=4096,
        device="cpu",
        progress=False,
    )
    local = sorted(run_local(groups, tmp_path / "local"), key=lambda r: r.key)
    remote = sorted(run_ray(groups, tmp_path / "ray"), key=lambda r: r.key)
    assert_same_records(local, remote)
    assert {r.evaluator.name for r in local} == set(names)
    for ours, theirs in zip(local, remote, strict=True):
        assert ours.intervals == theirs.intervals, ours.evaluator.name
