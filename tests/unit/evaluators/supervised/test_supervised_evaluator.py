"""The supervised evaluator end to end on the zoo model with small counts, on zoo-ioi and
on a task declared in Python and registered at runtime."""

from __future__ import annotations

import random

import pytest

import saebench
from saebench.errors import SaebenchError
from saebench.evaluators.supervised import QUICKSTART_CONFIG, SupervisedConfig, SupervisedEvaluator
from saebench.registry import tasks
from saebench.tasks import zoo_ioi
from saebench.tasks.base import Task, TaskConfig, TaskPrompt

SMALL = {
    "task_config": {"n": 600},  # enough prompts per name for some names to be edited
    "n_eval": 40,
    "n_pairs": 20,
    "edit_builders": ["swap_io_s", "change_s"],
    "aware_sizes": [1, 4],
    "agnostic_sizes": [4, 16],
}


def _run(uris, config, **kw):
    return saebench.evaluate(
        uris,
        model="zoo",
        dataset="zoo",
        evaluators=["supervised"],
        n_tokens=256,
        configs={"supervised": config},
        progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def records():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the one-thread autouse fixture
    try:
        return _run(["zoo:resid-topk-16", "zoo:transcoder-mlp", "zoo:resid-relu"], SMALL)
    finally:
        torch.set_num_threads(before)


def test_needs_and_defaults():
    needs = SupervisedEvaluator.needs_for(SupervisedConfig())
    assert not needs.activations and needs.model_runner
    assert needs.task.name == "zoo-ioi" and needs.task.config == {}
    quick = SupervisedConfig(**QUICKSTART_CONFIG)
    assert len(quick.aware_sizes) < len(SupervisedConfig().aware_sizes)
    assert SupervisedEvaluator.quickstart == QUICKSTART_CONFIG
    assert "references" not in vars(SupervisedEvaluator)  # references are records now


def _references(records) -> dict:
    return {r.sae.name: r for r in records if r.sae.role == "reference"}


def test_every_axis_is_scored_with_intervals_and_nulls(records):
    sae = records[0]
    m, d = sae.metrics, sae.details
    assert d["status"] == "ok" and d["position"] == "end" and d["metric_builder"] == "swap_io_s"
    for key in (
        "edit_accuracy_aware",
        "edit_accuracy_agnostic",
        "edit_accuracy_aware_normalised",
        "sufficiency",
        "necessity",
        "mean_best_f1",
        "fraction_values_covered",
    ):
        assert m[key] is not None, key
        iv = sae.intervals[key]
        assert iv.low <= m[key] <= iv.high, key
    for key in ("edit_accuracy_aware", "mean_best_f1"):
        assert 0.0 <= m[key] <= 1.0
    assert sae.intervals["edit_accuracy_aware"].unit == "pairs"
    assert sae.intervals["edit_accuracy_aware"].n == sae.sample_sizes["pairs"] == m["edit_pairs"]
    assert sae.intervals["sufficiency"].unit == "prompts"
    assert sae.intervals["mean_best_f1"].unit == "values"
    assert m["logit_diff_clean"] > m["logit_diff_mean_ablated"]
    # nulls: a no-op edit scores 0 on the kept pairs; F1 against permuted labels is above 0
    assert sae.nulls["edit_accuracy_aware"] == 0.0
    assert 0.0 < sae.nulls["mean_best_f1"] < 1.0
    assert not any(k.endswith(("_supervised", "_neurons", "_pca", "_random")) for k in m)


def test_the_supervised_dictionary_and_baselines_are_reference_records(records):
    refs = _references(records)
    assert sorted(refs) == ["neurons", "pca", "random", "supervised"]
    hook = "blocks.1.hook_resid_post"
    assert refs["pca"].sae.uri == f"reference:supervised/pca@{hook}"
    # the exact bases reconstruct exactly: sufficiency and necessity 1 on the real model
    for name in ("neurons", "pca"):
        assert refs[name].metrics["sufficiency"] == pytest.approx(1.0, abs=1e-4)
        assert refs[name].metrics["necessity"] == pytest.approx(1.0, abs=1e-4)
    # the supervised dictionary edits far better than a random dictionary
    supervised = refs["supervised"].metrics["edit_accuracy_aware"]
    assert supervised > refs["random"].metrics["edit_accuracy_aware"] + 0.3
    assert refs["supervised"].intervals["edit_accuracy_aware"].n == records[0].sample_sizes["pairs"]
    # the normalised score is the raw one over the supervised edit's, on the same pairs
    m = records[0].metrics
    assert m["edit_accuracy_aware_normalised"] == pytest.approx(
        m["edit_accuracy_aware"] / supervised
    )


def test_two_saes_at_one_hook_share_one_preparation(records):
    """The study, the supervised dictionary and the references are prepared once for both
    SAEs at blocks.1 (the job that prepared reports its CPU seconds), never for the
    transcoder, and each reference is one record."""
    saes = {r.sae.name: r for r in records if r.sae.role == "sae"}
    prepared = [n for n, r in saes.items() if "once_prepare_cpu_seconds" in r.timing]
    assert prepared == ["resid-topk-16"]
    assert saes["resid-relu"].details["status"] == "ok"
    assert saes["resid-relu"].metrics != saes["resid-topk-16"].metrics
    names = [r.sae.name for r in records if r.sae.role == "reference"]
    assert sorted(names) == ["neurons", "pca", "random", "supervised"]


def test_a_transcoder_gets_a_status_not_a_crash(records):
    rec = records[1]
    assert rec.sae.name == "transcoder-mlp"
    assert rec.details["status"].startswith("skipped: a transcoder")
    assert all(v is None for v in rec.metrics.values())


def test_a_record_does_not_depend_on_the_other_saes_of_the_run(records):
    alone = _run(["zoo:resid-topk-16"], SMALL)
    assert alone[0].metrics == pytest.approx(records[0].metrics, rel=1e-6)
    assert alone[0].intervals == records[0].intervals
    for name, ref in _references(records).items():
        assert _references(alone)[name].metrics == pytest.approx(ref.metrics, rel=1e-6)


def test_an_unknown_position_is_a_user_error():
    with pytest.raises(SaebenchError, match="no span 'nope'"):
        _run(["zoo:resid-topk-16"], {**SMALL, "position": "nope", "n_eval": 5})


class TinyIoi(Task):
    """IOI sentences under other names: attributes ``indirect`` / ``subject``, spans
    ``subject`` and ``final``, one builder ``swap``."""

    version = "1"
    splits = ("train", "test")

    class Config(TaskConfig):
        n: int = 80

    def build(self, split):
        return [self._prompt(p) for p in zoo_ioi.ioi_prompts(split, self.config.n)]

    @staticmethod
    def _prompt(p):
        return TaskPrompt(
            text=p.text,
            spans={"subject": p.spans["s2"], "final": p.spans["end"]},
            answer=p.io,
            attributes={"indirect": p.io, "subject": p.s},
            asks="indirect",
            split=p.split,
            tags={"order": p.order, "parts": f"{p.opening},{p.verb},{p.object},{p.place}"},
        )

    def attribute_values(self):
        names = sorted(zoo_ioi.ioi_names())
        return {"indirect": names, "subject": names}

    def pair_builders(self):
        def swap(base: TaskPrompt, rng: random.Random):
            opening, verb, obj, place = (int(x) for x in base.tags["parts"].split(","))
            a = base.attributes
            p = zoo_ioi.render_ioi(
                a["subject"],
                a["indirect"],
                base.tags["order"],
                opening,
                verb,
                obj,
                place,
                base.split,
            )
            return self._prompt(p)

        return {"swap": swap}


def test_a_task_declared_in_python_runs_unchanged():
    tasks.register("tiny-ioi-supervised", TinyIoi)
    try:
        config = {
            "task": "tiny-ioi-supervised",
            "task_config": {"n": 300},
            "n_eval": 30,
            "n_pairs": 20,
            "aware_sizes": [2],
            "agnostic_sizes": [8],
            "baselines": ["random"],
        }
        rec = _run(["zoo:resid-topk-16"], config)[0]
    finally:
        tasks._entries.pop("tiny-ioi-supervised", None)
    d = rec.details
    assert d["status"] == "ok", d["status"]
    assert d["position"] == "final" and d["metric_builder"] == "swap"
    assert d["attribute_sets"] == ["indirect", "subject"]
    assert rec.metrics["sufficiency"] is not None
    assert rec.task.name == "tiny-ioi-supervised"


@pytest.mark.slow  # two zoo runs, about a minute on a busy 2-core machine
def test_the_same_numbers_with_one_or_two_torch_threads():
    """Issue 17 part 5: a Ray worker runs one torch thread, a local run two."""
    import torch

    out = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        records = _run(["zoo:resid-topk-16"], SMALL)
        out.append({r.sae.uri: (r.metrics, r.intervals, r.nulls) for r in records})
    assert out[0] == out[1]
