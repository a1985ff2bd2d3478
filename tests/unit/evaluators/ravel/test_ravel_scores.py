"""RAVEL's arithmetic on hand-worked cases."""

from __future__ import annotations

import pytest

from saebench.evaluators.ravel.scores import (
    difference,
    mean_over_seeds,
    mean_over_targets,
    score_pairs,
)


def test_cause_isolation_and_their_mean():
    # 3 of 4 cause pairs changed to the source's value, 1 of 2 isolation pairs kept
    outcomes = [
        ("cause", True),
        ("cause", True),
        ("cause", False),
        ("cause", True),
        ("isolation", False),
        ("isolation", True),
    ]
    s = score_pairs(outcomes)
    assert s == {
        "cause": 0.75,
        "isolation": 0.5,
        "disentanglement": 0.625,
        "n_cause": 4,
        "n_isolation": 2,
    }


def test_a_side_without_pairs_leaves_the_disentanglement_unset():
    s = score_pairs([("cause", True)])
    assert s["cause"] == 1.0 and s["isolation"] is None and s["disentanglement"] is None
    assert score_pairs([])["cause"] is None


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="cause"):
        score_pairs([("both", True)])


def test_targets_count_once_each_and_missing_ones_are_skipped():
    scores = {
        "country": {"entity": {"disentanglement": 0.9}, "context": {"disentanglement": 0.5}},
        "continent": {"entity": {"disentanglement": 0.6}, "context": {"disentanglement": None}},
        "language": {"context": {"disentanglement": 0.7}},
    }
    assert mean_over_targets(scores, "entity", "disentanglement") == pytest.approx(0.75)
    assert mean_over_targets(scores, "context", "disentanglement") == pytest.approx(0.6)
    assert mean_over_targets({}, "entity", "disentanglement") is None


def test_seeds_average_field_by_field():
    a = {"cause": 1.0, "isolation": 0.5, "disentanglement": 0.75, "n_cause": 4}
    b = {"cause": 0.5, "isolation": 0.5, "disentanglement": 0.5, "n_cause": 4}
    mean = mean_over_seeds([a, b])
    assert mean == {"cause": 0.75, "isolation": 0.5, "disentanglement": 0.625, "n_cause": 4}
    assert mean_over_seeds([a]) == a


def test_relative_scores_are_differences():
    assert difference(0.7, 0.5) == pytest.approx(0.2)
    assert difference(None, 0.5) is None and difference(0.5, None) is None


def test_an_inert_column_is_flagged_when_even_das_changes_no_answer():
    from saebench.evaluators.ravel.config import RavelConfig
    from saebench.evaluators.ravel.methods import MethodResult, SeedRun
    from saebench.evaluators.ravel.run import _inert_column

    def das(cause):
        run = SeedRun(scores={"country": {"entity": {"cause": cause}}})
        return {"das": MethodResult(runs=[run])}

    # the zoo model at the entity token: DAS, trained to change the answer, changes none
    entity = RavelConfig(position="entity")
    note = _inert_column(das(0.0), entity, "blocks.1.hook_resid_post")
    assert "0% of the answers" in note and "ravel.position=last" in note
    assert _inert_column(das(0.6), entity, "h") is None
    assert _inert_column({}, RavelConfig(references=["neurons"]), "h") is None
    at_last = _inert_column(das(0.01), RavelConfig(position="last"), "h")
    assert "the last token" in at_last and "position=last" not in at_last
