"""SCR's and TPP's row sets (data.py) on hand-made prompts, and the sae-probes-pairs task."""

from collections import Counter
from types import SimpleNamespace

import pytest

from saebench.evaluators.scr_tpp.config import ClassSet, Pair
from saebench.evaluators.scr_tpp.data import scr_sets, tpp_sets

PAIR = Pair(
    target="job", target_values=("prof", "nurse"), spurious="sex", spurious_values=("m", "f")
)


def _prompts(counts):
    return [
        SimpleNamespace(text=f"{j}{s}{i}", attributes={"job": j, "sex": s}, tags={})
        for (j, s), n in counts.items()
        for i in range(n)
    ]


def _cells(prompts, rows):
    return Counter((prompts[r].attributes["job"], prompts[r].attributes["sex"]) for r in rows)


def test_scr_sets_follow_saebench_quadrants():
    train = _prompts({("prof", "m"): 30, ("prof", "f"): 9, ("nurse", "m"): 12, ("nurse", "f"): 40})
    sets, reason = scr_sets(PAIR, train, train, 100, 100, seed=0, min_rows=2)
    assert reason is None
    spurious, target, biased = sets
    q = 9  # the smallest quadrant bounds q (and 2q fits in the two biased quadrants)
    assert _cells(train, spurious.train_pos) == {("prof", "m"): q, ("nurse", "m"): q}
    assert _cells(train, spurious.train_neg) == {("prof", "f"): q, ("nurse", "f"): q}
    assert _cells(train, target.train_pos) == {("prof", "m"): q, ("prof", "f"): q}
    assert _cells(train, biased.train_pos) == {("prof", "m"): 2 * q}
    assert _cells(train, biased.train_neg) == {("nurse", "f"): 2 * q}
    # SAEBench's biased positives start with the rows the other sets use
    assert biased.train_pos[:q] == [
        r for r in spurious.train_pos if train[r].attributes["job"] == "prof"
    ]


def test_scr_pair_with_an_empty_quadrant_is_skipped_with_a_reason():
    train = _prompts({("prof", "m"): 30, ("nurse", "m"): 12, ("nurse", "f"): 40})
    sets, reason = scr_sets(PAIR, train, train, 100, 100, seed=0, min_rows=2)
    assert sets == [] and "quadrants too small" in reason


def test_tpp_negatives_are_an_equal_share_of_the_other_classes():
    rows = _prompts({("prof", "m"): 20, ("nurse", "m"): 20, ("cook", "m"): 20})
    sets, skipped = tpp_sets(ClassSet(attribute="job", values=["prof", "nurse", "cook", "pilot"]),
                             rows, rows, 10, 10, seed=0, min_rows=2)  # fmt: skip
    assert [s.name for s in sets] == ["job=prof", "job=nurse", "job=cook"]
    assert skipped == ["job=pilot: fewer than 2 rows"]
    negatives = Counter(rows[r].attributes["job"] for r in sets[0].train_neg)
    assert negatives == {"nurse": 5, "cook": 5}


def test_sae_probes_pairs_rows_carry_both_attributes():
    pytest.importorskip("zstandard")
    from saebench.tasks.sae_probes_pairs import SaeProbesPairsTask

    task = SaeProbesPairsTask({"sets": ["reviews", "hist_fig"], "max_chars": 200})
    prompts = task.prompts("train") + task.prompts("test")
    assert all(len(p.text) <= 200 for p in prompts)
    assert not any(p.text.startswith("Title:") for p in prompts)
    kinds = Counter(tuple(sorted(p.attributes)) for p in prompts)
    assert set(kinds) == {("sentiment", "source"), ("gender", "politician")}
    assert 500 < kinds[("gender", "politician")] <= 570
