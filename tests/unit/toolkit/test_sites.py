"""toolkit.sites: which column each Position reads, the activations there against an
independent capture (run_with_cache), independence from the chunk size, the distinct-prompt
reduction and the error for an unknown span."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.toolkit.sites import (
    LAST,
    Position,
    activations_at,
    default_position,
    distinct_activations,
    tokenise,
)

HOOK = "blocks.1.hook_resid_post"


@dataclass(frozen=True)
class P:
    text: str
    spans: dict
    attributes: dict = field(default_factory=dict)


def prompt(city: str, tail: str, country: str = "x") -> P:
    """``"<city> is a city in the country of" + tail``, the span ``place`` on "a city in"."""
    text = f"{city} is a city in the country of{tail}"
    start = text.index("a city")
    return P(
        text,
        {"entity": (0, len(city)), "place": (start, start + len("a city in"))},
        {"country": country},
    )


PROMPTS = [
    prompt("Kyoto", ""),
    prompt("Mary", " the"),
    prompt("Kyoto", " the city"),
    prompt("Ouagadougou", ""),
    prompt("Kyoto", "", "y"),
]


@pytest.fixture(scope="module")
def runner(zoo_model):
    from saebench.models.interventions import ModelRunner

    return ModelRunner(zoo_model)


def test_columns_for_first_last_and_the_last_token(runner):
    batch = tokenise(runner, PROMPTS)  # BOS first: "Kyoto" is column 1, "a city in" 3..5
    assert Position("entity").columns(batch).tolist() == [1] * 5
    assert Position("place", "first").columns(batch).tolist() == [3] * 5
    assert Position("place", "last").columns(batch).tolist() == [5] * 5
    assert Position(LAST).columns(batch).tolist() == [8, 9, 10, 8, 8]


def test_activations_agree_with_run_with_cache_at_the_column(runner, zoo_model):
    position = Position("place", "first")
    x = activations_at(runner, PROMPTS, HOOK, position)
    assert x.dtype == torch.float32 and x.shape == (5, zoo_model.cfg.d_model)
    for row, p in enumerate(PROMPTS):
        tokens = zoo_model.to_tokens(p.text)  # one prompt alone, no padding
        _, cache = zoo_model.run_with_cache(tokens, names_filter=HOOK)
        assert torch.allclose(x[row], cache[HOOK][0, 3], atol=1e-5)
    last = activations_at(runner, PROMPTS, HOOK, Position(LAST))
    _, cache = zoo_model.run_with_cache(zoo_model.to_tokens(PROMPTS[2].text), names_filter=HOOK)
    assert torch.allclose(last[2], cache[HOOK][0, -1], atol=1e-5)
    assert not torch.allclose(last[2], x[2], atol=1e-3)


def test_numbers_do_not_depend_on_the_chunk_size(runner):
    whole = activations_at(runner, PROMPTS, HOOK, Position(LAST))
    for chunk in (1, 2, 3):
        parts = activations_at(runner, PROMPTS, HOOK, Position(LAST), chunk=chunk)
        assert torch.allclose(parts, whole, atol=1e-5)


def test_distinct_keeps_the_first_prompt_per_prefix_and_key(runner):
    key = lambda p: p.attributes["country"]  # noqa: E731
    rows, x = distinct_activations(runner, PROMPTS, HOOK, Position("entity"), key=key)
    # rows 2 repeats row 0 up to "Kyoto" with the same country; row 4 differs in country
    assert rows == [0, 1, 3, 4]
    full = activations_at(runner, PROMPTS, HOOK, Position("entity"))
    assert torch.allclose(x, full[rows], atol=1e-5)


def test_an_unknown_span_names_the_known_ones_and_the_fix():
    with pytest.raises(SaebenchError, match=r"my_eval: .*no span 'city'.*entity, place or 'last'"):
        Position("city").check(PROMPTS, who="my_eval")
    Position("entity").check(PROMPTS, who="my_eval")  # no error
    Position(LAST).check(PROMPTS, who="my_eval")
    with pytest.raises(SaebenchError, match="token must be 'first' or 'last'"):
        Position("entity", "middle")  # type: ignore[arg-type]


def test_default_position_is_the_span_ending_the_text_else_the_last_token():
    ioi = P("When Mary and John went, John gave it to", {"end": (37, 40), "io": (5, 9)})
    assert default_position([ioi]) == Position("end")
    assert default_position(PROMPTS) == Position(LAST)
    assert default_position([]) == Position(LAST)


def test_no_prompts_give_no_rows(runner):
    from types import SimpleNamespace

    meta = SimpleNamespace(d_in=128, hook_head_index=None)
    assert activations_at(runner, [], HOOK, Position(LAST), meta).shape == (0, 128)
    rows, x = distinct_activations(runner, [], HOOK, Position("entity"), meta)
    assert rows == [] and x.shape == (0, 128)
