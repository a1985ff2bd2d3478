"""The reference circuit: head ablation finds a planted head, faithfulness is exact there."""

import copy

import numpy as np
import pytest
import torch

from saebench.tasks import build_task
from saebench.toolkit import circuits as C

PLANTED = (1, 2)


@pytest.fixture(scope="module")
def prompts():
    return build_task("zoo-ioi", {"n": 24}).prompts("test")


@pytest.fixture(scope="module")
def planted_model(zoo_model):
    """The zoo model with every head's output matrix zeroed but one: ablating any other
    head cannot change a logit."""
    model = copy.deepcopy(zoo_model)
    with torch.no_grad():
        for layer in range(model.cfg.n_layers):
            for head in range(model.cfg.n_heads):
                if (layer, head) != PLANTED:
                    model.blocks[layer].attn.W_O[head] = 0
    return model


def test_abc_prompts_replace_the_repeated_subject_by_a_third_name(prompts):
    names = build_task("zoo-ioi").attribute_values()["io"]
    for p, q in zip(prompts, C.abc_prompts(prompts, names), strict=True):
        third = q.attributes["c"]
        assert third not in (p.answer, p.attributes["s"])
        assert q.text[slice(*q.spans["s2"])] == third
        assert q.text[slice(*q.spans["end"])] == p.text[slice(*p.spans["end"])]
        start, end = q.spans["s2"]
        assert q.text[:start] + p.attributes["s"] + q.text[end:] == p.text


def test_ablation_finds_the_planted_head(planted_model, prompts):
    data = C.ioi_batch(planted_model, prompts)
    means = C.role_means(planted_model, data)
    effects = C.head_effects(planted_model, data, means)
    others = np.delete(effects.flatten(), PLANTED[0] * 4 + PLANTED[1])
    assert np.abs(others).max() == 0.0
    assert abs(effects[PLANTED]) > 0.01
    circuit = C.reference_circuit(planted_model, prompts, answered_only=False)
    assert circuit.heads == [PLANTED]
    assert circuit.faithfulness == pytest.approx(1.0, abs=1e-5)  # the rest does nothing


def test_one_stacked_run_equals_separate_runs(zoo_model, prompts):
    data = C.ioi_batch(zoo_model, prompts[:6])
    means = C.role_means(zoo_model, data)
    sets = [set(), {(0, 1)}, {(2, 0), (3, 3)}]
    stacked = C.logit_diffs(zoo_model, data, sets, means)
    for i, heads in enumerate(sets):
        alone = C.logit_diffs(zoo_model, data, [heads], means)[0]
        assert torch.allclose(stacked[i], alone, atol=1e-4)
    # a clean run is the model's own logit difference at the last token
    logits = zoo_model(data.batch.tokens, attention_mask=data.batch.attention_mask)
    rows = torch.arange(len(data.batch))
    at_end = logits[rows, data.batch.ends]
    direct = at_end[rows, data.io_ids] - at_end[rows, data.s_ids]
    assert torch.allclose(stacked[0], direct, atol=1e-3)
