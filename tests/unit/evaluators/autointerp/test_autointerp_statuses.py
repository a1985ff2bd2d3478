"""Latent statuses, example sets and config errors, without a judge."""

import pytest
import torch

from saebench.activations.examples import LatentWindows, Window
from saebench.errors import SaebenchError
from saebench.evaluators.autointerp import AutointerpConfig, AutointerpEvaluator
from saebench.evaluators.autointerp.render import PieceDecoder
from saebench.evaluators.autointerp.run import plan_latent, sampled_latents
from saebench.run.planning import parse_config


class Tokens:
    """The two fields of a TokenSet that example building reads."""

    def __init__(self, tokens, special_ids=(0, 1, 2)):
        self.tokens, self.special_ids = tokens, special_ids


@pytest.fixture(scope="module")
def decoder():
    from saebench.zoo.model import model_dir
    from saebench.zoo.tokenizer import load_tokenizer

    return PieceDecoder(load_tokenizer(model_dir()))


def window(context, start, peak, position=None):
    acts = [0.0] * 6
    acts[4] = peak
    return Window(context, start, acts, peak, start + 4 if position is None else position)


def test_dead_rare_and_scored(decoder):
    tokens = Tokens(torch.arange(40 * 8).view(40, 8) % 300 + 4)
    config = AutointerpConfig(min_firing=10, explain_top=2, explain_quantile=1, score_activating=3)
    assert plan_latent(LatentWindows(3, 0), config, tokens, decoder).status == "dead"
    few = LatentWindows(3, 5, top=[window(0, 0, 2.0)], sampled=[window(1, 0, 1.0)])
    assert plan_latent(few, config, tokens, decoder).status == "rare"
    found = LatentWindows(
        7,
        50,
        top=[window(0, 0, 9.0), window(1, 0, 8.0)],
        sampled=[window(c, 0, float(c)) for c in range(2, 12)],
        negatives=[Window(20 + c, 0, [0.0] * 6, 0.0) for c in range(4)],
    )
    plan = plan_latent(found, config, tokens, decoder)
    assert plan.status == "scored" and plan.latent_max == 9.0
    assert [e.kind for e in plan.explain] == ["top", "top", "quantile"]
    assert len(plan.activating) == 3 and len(plan.negatives) == 4
    explain_contexts = {e.context for e in plan.explain}
    assert not explain_contexts & {e.context for e in plan.activating}  # held out
    ex = plan.activating[0]
    assert len(ex.tokens) == len(ex.acts) == 6
    assert ex.special == [False] * 6


def test_latent_sample_is_seeded_and_explicit_latents_are_checked():
    a = sampled_latents(AutointerpConfig(n_latents=5, seed=1), 100)
    assert a == sampled_latents(AutointerpConfig(n_latents=5, seed=1), 100) == sorted(a)
    assert a != sampled_latents(AutointerpConfig(n_latents=5, seed=2), 100)
    assert sampled_latents(AutointerpConfig(n_latents=500), 100) == list(range(100))
    assert sampled_latents(AutointerpConfig(latents=[9, 3, 3]), 100) == [3, 9]
    with pytest.raises(SaebenchError, match="out of range"):
        sampled_latents(AutointerpConfig(latents=[100]), 100)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"scorers": []}, "scorers"),
        ({"scorers": ["simulation"]}, "scorers"),
        ({"n_latents": 0}, "n_latents"),
        ({"highlight_fraction": 0}, "highlight_fraction"),
        ({"target_kl": -1}, "target_kl"),
        ({"latents": [-1]}, "latents"),
        ({"explain_top": 0, "explain_quantile": 0}, "explain_top"),
        ({"window": 3}, "window"),
    ],
)
def test_bad_configs_are_one_line_errors(values, field):
    AutointerpEvaluator.name = "autointerp"
    with pytest.raises(SaebenchError) as info:
        parse_config(AutointerpEvaluator, values)
    message = str(info.value)
    assert "\n" not in message and "autointerp" in message
    if field != "explain_top":
        assert field in message
