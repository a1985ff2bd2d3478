"""The departures from RAVEL that issue 17 measured, each pinned by a test: the neuron
reference like for like, answers trained on every token, each target's probe and PCA on its
own prompts, a run at another position named so, and records independent of the thread
count."""

from __future__ import annotations

import pytest
import torch
from ravel_planted import HOOK, planted_world, plus_minus_sae

from saebench.evaluators import EvalContext
from saebench.evaluators.ravel import RavelConfig, RavelEvaluator
from saebench.evaluators.ravel.featurizers import linear_neurons, split_neurons
from saebench.models.interventions import ModelRunner

SMALL = {
    "position": "entity",
    "n_pairs": 16,
    "n_train_pairs": 16,
    "n_val_pairs": 8,
    "batch_size": 16,
    "mask_steps": 40,
    "mask_lr": 0.1,
    "das_max_steps": 30,
    "das_lr": 0.05,
    "das_dims": [1],
}


def _finish(sae, world, task=None, **overrides):
    config = RavelConfig(**{**SMALL, **overrides})
    runner = ModelRunner(world.model)
    context = EvalContext(sae=sae, model=world.model, runner=runner, task=task or world.task)
    return RavelEvaluator(config, context).finish()


# -- the neuron reference, like for like ----------------------------------------------------------
def test_the_split_neuron_basis_is_exact_and_swaps_each_sign_alone():
    meta = planted_world().right.meta
    split = split_neurons(meta, 4)
    base, source = torch.tensor([[1.0, -2.0, 3.0, -4.0]]), torch.tensor([[-5.0, 6.0, 7.0, 8.0]])
    assert torch.equal(split.decode(split.encode(base)), base)
    weights = torch.zeros(8)
    weights[2] = 1.0  # the positive part of neuron 2 only
    mixed = split.decode(weights * split.encode(source) + (1 - weights) * split.encode(base))
    assert mixed.tolist() == [[1.0, -2.0, 7.0, -4.0]]


def test_the_neuron_reference_scores_as_a_relu_sae_over_the_neurons():
    """A ReLU SAE whose latents are relu(+x_i) and relu(-x_i) (the zoo's resid-neurons) gets
    exactly the split reference's scores and mask (on the zoo it scored 0.840 where the
    linear neuron reference, the only one before, scored 0.652)."""
    from saebench.evaluators.ravel.instances import build_instances
    from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_mdbm
    from saebench.evaluators.ravel.prepared import build_hook_data
    from saebench.evaluators.ravel.selection import MaskSchedule

    world = planted_world()
    runner = ModelRunner(world.model)
    instances = build_instances(world.task, runner, n_pairs=16)
    data = build_hook_data(
        runner, instances, HOOK, targets=["country"], batch_size=16, seed=0, meta=world.right.meta
    )
    settings = RunSettings(MaskSchedule(steps=30, lr=0.1))
    sae = plus_minus_sae(torch.eye(32))  # latent i = relu(+x_i), latent 32 + i = relu(-x_i)
    results = {}
    for name, featurizer in [
        ("sae", sae),
        ("split", split_neurons(world.right.meta, 32)),
        ("linear", linear_neurons(world.right.meta, 32)),
    ]:
        results[name] = MethodResult()
        run_mdbm(runner, lambda t, f=featurizer: f, data, settings, "neurons", seed=0,
                 result=results[name])  # fmt: skip
    assert results["sae"].scores == results["split"].scores
    assert results["sae"].selected == results["split"].selected
    assert results["linear"].runs[0].outcomes["country"]["entity"]  # it runs beside them


# -- every answer token ---------------------------------------------------------------------------
def test_masks_learn_from_every_answer_token_teacher_forced(zoo_model):
    """The training loss is the mean cross-entropy of all the answer's tokens, read with the
    true tokens before them, as a full forward of prompt + answer gives it."""
    from saebench.evaluators.ravel.instances import RavelPair
    from saebench.evaluators.ravel.interventions import answer_loss, prepare_pairs
    from saebench.tasks.base import TaskPrompt

    def prompt(city):
        text = f"The city of {city} is in the country of"
        span = (text.index(city), text.index(city) + len(city))
        return TaskPrompt(text, {"entity": span}, "x", {"city": city}, "country", "train")

    pair = RavelPair(prompt("Paris"), prompt("Lima"), "country", "country", "cause",
                     "United States of America", "train")  # fmt: skip
    runner = ModelRunner(zoo_model)
    hook = "blocks.1.hook_resid_post"
    chunk = prepare_pairs(runner, hook, [pair], 4)[0]
    n = int(chunk.base.answer_lengths[0])
    assert n >= 3  # several answer tokens
    neurons = linear_neurons(SimpleMeta(hook), zoo_model.cfg.d_model)
    nothing = torch.zeros(neurons.d_sae)  # no swap: the clean model's loss
    loss = answer_loss(runner, chunk, neurons, nothing)
    tokens = chunk.forced[:1, : int(chunk.base.lengths[0]) + n]
    logits = zoo_model(tokens)[0]
    start = int(chunk.base.lengths[0]) - 1
    want = torch.nn.functional.cross_entropy(
        logits[start : start + n].float(), chunk.base.answer_ids[0, :n]
    )
    first = torch.nn.functional.cross_entropy(logits[start : start + 1].float(),
                                              chunk.base.answer_ids[0, :1])  # fmt: skip
    assert float(loss.detach()) == pytest.approx(float(want), rel=1e-4)
    assert abs(float(loss.detach()) - float(first)) > 1e-3  # not the first token alone


class SimpleMeta:
    def __init__(self, hook):
        self.hook_name = hook


# -- each target on its own prompts ---------------------------------------------------------------
def test_a_targets_probe_and_pca_do_not_depend_on_the_other_targets():
    """With few training pairs each target's prompts differ; PCA fitted on the prompts of
    every target asked moved country's PCA score from 0.333 (alone) to 0.667 (with
    continent) on this world before the fix."""
    world = planted_world()
    few = {"n_pairs": 3, "n_train_pairs": 3}
    alone = _finish(world.right, world, targets=["country"], **few)
    both = _finish(world.right, world, targets=["continent", "country"], **few)
    for name in ("probe",):
        assert alone.details["scores"][name]["country"] == both.details["scores"][name]["country"]
        assert (
            alone.details["selected_latents"][name]["country"]
            == both.details["selected_latents"][name]["country"]
        )
    pca = [{r.method: r for r in res.references}["pca"] for res in (alone, both)]
    assert pca[0].details["scores"]["country"] == pca[1].details["scores"]["country"]
    assert pca[0].details["selected"]["country"] == pca[1].details["selected"]["country"]


# -- the patched position -------------------------------------------------------------------------
def test_a_run_at_another_position_is_named_so():
    zoo = RavelConfig()  # zoo-cities: its model moves the city, so the last token by default
    assert zoo.patched_position() == "last" and "not RAVEL's position" in zoo.variant()
    ravel = RavelConfig(data_dir="D")
    assert ravel.patched_position() == "entity" and ravel.variant() is None
    moved = RavelConfig(data_dir="D", position="last")
    assert "position=last" in moved.variant()
    world = planted_world()
    record = _finish(world.right, world, position="last", references=["neurons"], mask_steps=2)
    assert record.details["position"] == "last"
    assert "not RAVEL's position" in record.details["variant"]
    assert "not RAVEL's position" in record.references[0].details["variant"]


# -- threads ---------------------------------------------------------------------------------------
class _FewCities:
    """zoo-cities on every 24th city, one phrasing per kind (the filter stays fast)."""

    @staticmethod
    def build():
        from saebench.tasks.zoo import ZooCitiesTask

        class Few(ZooCitiesTask):
            name = "zoo-cities-few"

            def build(self, split):
                prompts = super().build(split)
                keep = set(sorted({p.attributes["city"] for p in prompts})[::24])
                return [p for p in prompts if p.attributes["city"] in keep]

        return Few({"per_kind": 1})


def test_the_record_is_the_same_with_one_or_two_torch_threads(zoo_model):
    from saebench.adapters.zoo import ZooAdapter

    sae = ZooAdapter.load("resid-topk-16")
    task = _FewCities.build()
    config = RavelConfig(
        targets=["continent"],
        n_pairs=16,
        n_train_pairs=32,
        n_val_pairs=8,
        mask_steps=8,
        references=["neurons", "das"],
        das_dims=[2],
        das_max_steps=4,
    )
    records = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runner = ModelRunner(zoo_model)
            context = EvalContext(sae=sae, model=zoo_model, runner=runner, task=task)
            records.append(RavelEvaluator(config, context).finish())
    finally:
        torch.set_num_threads(before)
    one, two = records
    assert one.metrics == two.metrics and one.intervals == two.intervals
    assert [r.metrics for r in one.references] == [r.metrics for r in two.references]
    assert torch.get_num_threads() == before
