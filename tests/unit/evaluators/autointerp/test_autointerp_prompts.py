"""Examples as the judge sees them: marks, levels, prompt lines, and how detection and
fuzzing examples are made."""

import random

from saebench.evaluators.autointerp.classify import Item, chunk
from saebench.evaluators.autointerp.detection import detection_requests
from saebench.evaluators.autointerp.explain import explain_messages
from saebench.evaluators.autointerp.fuzzing import fuzzing_items, wrong_marks
from saebench.evaluators.autointerp.render import (
    Example,
    PieceDecoder,
    levels,
    marked_runs,
    marked_text,
    strongest,
    token_pieces,
)
from saebench.llm import sim


def example(acts, special=None, kind="top"):
    tokens = ["<bos>", " The", " cat", " sat", " on", "\n", " the", " mat"][: len(acts)]
    return Example(kind, tokens, acts, special or [t == "<bos>" for t in tokens])


def test_marks_wrap_runs_and_keep_spaces_outside():
    tokens = ["<bos>", " New", " York", " is", " big", "\n"]
    marks = [False, True, True, False, True, False]
    assert marked_text(tokens, marks) == "<bos> <<New York>> is <<big>>\\n"
    assert marked_runs(tokens, marks) == ["New York", "big"]
    assert marked_text(tokens) == "<bos> New York is big\\n"


def test_strongest_never_marks_special_or_zero_tokens():
    acts = [9.0, 0.0, 1.0, 3.0, 0.0]
    special = [True, False, False, False, False]
    # 0.3 x the largest non-special activation (3.0) = 0.9: tokens 2 and 3
    assert strongest(acts, special, 0.3) == [False, False, True, True, False]
    assert strongest([0.0, 0.0], [False, False], 0.3) == [False, False]


def test_levels_scale_to_the_latent_max():
    assert levels([0.0, 0.1, 5.0, 10.0, 12.0], 10.0) == [0, 1, 5, 10, 10]
    assert levels([1.0], 0.0) == [0]


def test_token_pieces_rebuild_the_decoded_text(zoo_model):
    tok = zoo_model.tokenizer
    ids = tok.encode("The capital of France is big . It rains")
    pieces = token_pieces(tok, ids)
    assert len(pieces) == len(ids)
    assert "".join(pieces) == tok.decode(ids)
    # a window inside a context: its first piece carries the space the context gives it
    decoder = PieceDecoder(tok)
    tail = decoder.pieces(ids[3:], before=ids[2])
    assert "".join(tail) == tok.decode(ids)[len(tok.decode(ids[:3])) :]
    assert tail[0].startswith(" ") and decoder.pieces(ids[3:], before=ids[2]) == tail


def test_explainer_prompt_is_what_the_sim_reads():
    ex = example([0.0, 0.0, 4.0, 0.5, 0.0, 0.0, 0.0, 2.0])
    messages = explain_messages([ex], latent_max=8.0, fraction=0.3)
    user = messages[-1][1]
    assert "Example 1: <bos> The <<cat>> sat on\\n the <<mat>>" in user
    assert "Levels: cat (5), sat (1), mat (3)" in user
    assert sim.explain(user) == 'Explanation: "cat", "mat"'


def test_wrong_marks_land_on_inactive_tokens_only_with_the_same_runs():
    ex = example([0.0, 0.0, 4.0, 3.0, 0.0, 0.0, 0.0, 0.0])
    right = strongest(ex.acts, ex.special, 0.3)  # one run of two: "cat sat"
    for seed in range(20):
        marks = wrong_marks(ex, right, random.Random(seed))
        on = [i for i, m in enumerate(marks) if m]
        # never the BOS, never the newline (blank), never an active token
        assert all(ex.acts[i] == 0 and i not in (0, 5) for i in on)
        assert len(on) == 2 and on[1] == on[0] + 1  # one run of two, like the right marks
    # inactive word tokens: "The", "on", "the mat": room for one run of two, not two
    two_runs = [False, True, True, False, False, False, True, True]
    assert wrong_marks(ex, two_runs, random.Random(0)) is None
    assert wrong_marks(ex, [False] * 8, random.Random(0)) is None


def test_fuzzing_items_half_wrong_with_as_many_marks():
    examples = [example([0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 1.5]) for _ in range(6)]
    items = fuzzing_items(examples, 0.3, random.Random(0))
    assert sorted(i.label for i in items) == [0, 0, 0, 1, 1, 1]
    for item in items:
        assert item.text.count("<<") == 2
        right = item.text == "<bos> The <<cat>> sat on\\n the <<mat>>"
        assert right == (item.label == 1)


def test_detection_requests_mix_unmarked_positives_and_negatives():
    pos = [example([0.0, 0.0, 4.0, 0.0]) for _ in range(7)]
    neg = [example([0.0] * 4, kind="negative") for _ in range(6)]
    prompts, requests = detection_requests('"cat"', pos, neg, 5, random.Random(0))
    assert [len(p) for p in prompts] == [5, 5, 3]
    assert sorted(i.label for p in prompts for i in p) == [0] * 6 + [1] * 7
    assert all("<<" not in i.text for p in prompts for i in p)
    user = requests[0].messages[-1][1]
    assert user.startswith('Explanation: "cat"') and requests[0].purpose == "detect"
    assert len(sim.detect(user)) == 5  # the sim finds every example line
    again, _ = detection_requests('"cat"', pos, neg, 5, random.Random(0))
    assert [[i.ref for i in p] for p in again] == [[i.ref for i in p] for p in prompts]


def test_chunk_is_a_seeded_shuffle():
    items = [Item(str(i), i % 2, i) for i in range(10)]
    a = chunk(items, 4, random.Random(3))
    assert sorted(i.ref for p in a for i in p) == list(range(10))
    assert [i.ref for p in a for i in p] != list(range(10))
