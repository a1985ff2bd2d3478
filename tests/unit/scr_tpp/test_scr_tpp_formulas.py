"""SAEBench's SCR and TPP formulas against hand-worked values."""

import numpy as np
import pytest

from saebench.evaluators.scr_tpp.scores import (
    scr_direction,
    scr_metrics,
    scr_pair,
    scr_score,
    tpp_class,
    tpp_metrics,
)


def a(*values):
    return np.array(values, dtype=float)


def test_scr_score_is_the_normalised_recovery():
    # (0.75 - 0.6) / (0.9 - 0.6) = 0.5; a full recovery is 1; a loss is negative
    assert scr_score(a(0.9), a(0.6), a(0.75))[0] == pytest.approx(0.5)
    assert scr_score(a(0.9), a(0.6), a(0.9))[0] == pytest.approx(1.0)
    assert scr_score(a(0.9), a(0.6), a(0.45))[0] == pytest.approx(-0.5)


def test_scr_score_is_zero_when_the_denominator_is_below_a_thousandth():
    # SAEBench: (clean - original) < 0.001 -> 0, negative denominators included
    assert scr_score(a(0.6005), a(0.6), a(0.9))[0] == 0.0
    assert scr_score(a(0.5), a(0.7), a(0.9))[0] == 0.0
    assert scr_score(a(0.602), a(0.6), a(0.601))[0] == pytest.approx(0.5)


def test_direction_follows_the_biased_probes_accuracies():
    # dir1 (ablate spurious, score on target data) when the biased probe is worse there
    assert scr_direction(a(0.6), a(0.9)).tolist() == [1]
    assert scr_direction(a(0.9), a(0.6)).tolist() == [2]
    assert scr_direction(a(0.7), a(0.7)).tolist() == [0]


def _acc(table):
    return lambda test_set, column: a(table[(test_set, column)])


SETS = {"target": "T", "spurious": "S", "biased": "B"}


def _pair_table(biased_on_t, biased_on_s):
    return {
        ("T", "probe:T"): 0.9,  # oracle on target data
        ("T", "probe:B"): biased_on_t,
        ("T", "ablate:S:2:probe:B"): 0.8,
        ("S", "probe:S"): 0.95,
        ("S", "probe:B"): biased_on_s,
        ("S", "ablate:T:2:probe:B"): 0.7,
    }


def test_scr_pair_by_hand():
    out = scr_pair(_acc(_pair_table(0.6, 0.85)), SETS, 2)
    assert out["dir1"][0] == pytest.approx((0.8 - 0.6) / (0.9 - 0.6))
    assert out["dir2"][0] == pytest.approx((0.7 - 0.85) / (0.95 - 0.85))
    assert out["metric"][0] == pytest.approx(out["dir1"][0])  # 0.6 < 0.85: dir1
    flipped = scr_pair(_acc(_pair_table(0.85, 0.6)), SETS, 2)
    assert flipped["metric"][0] == pytest.approx(flipped["dir2"][0])


def test_a_tied_pair_drops_out_of_the_metric_mean_only():
    table = {**_pair_table(0.6, 0.85)}
    tied = {
        (k[0].lower(), k[1].replace("S", "s").replace("T", "t").replace("B", "b")): v
        for k, v in _pair_table(0.7, 0.7).items()
    }
    out = scr_metrics(
        _acc({**table, **tied}), [SETS, {"target": "t", "spurious": "s", "biased": "b"}], [2]
    )
    alone = scr_pair(_acc(table), SETS, 2)
    assert out["scr_metric_threshold_2"][0] == pytest.approx(alone["metric"][0])
    tied_dir1 = (0.8 - 0.7) / (0.9 - 0.7)
    assert out["scr_dir1_threshold_2"][0] == pytest.approx((alone["dir1"][0] + tied_dir1) / 2)


def _tpp_table():
    clean = {"a": 0.9, "b": 0.8, "c": 0.7}
    ablated = {  # (ablated class, probe) -> accuracy
        ("a", "a"): 0.5, ("a", "b"): 0.8, ("a", "c"): 0.6,
        ("b", "a"): 0.9, ("b", "b"): 0.6, ("b", "c"): 0.7,
        ("c", "a"): 0.8, ("c", "b"): 0.8, ("c", "c"): 0.7,
    }  # fmt: skip
    table = {(j, f"probe:{j}"): v for j, v in clean.items()}
    table.update({(j, f"ablate:{i}:5:probe:{j}"): v for (i, j), v in ablated.items()})
    return table


def test_tpp_class_by_hand():
    out = tpp_class(_acc(_tpp_table()), ["a", "b", "c"], "a", 5)
    assert out["intended"][0] == pytest.approx(0.4)
    assert out["unintended"][0] == pytest.approx((0.0 + 0.1) / 2)
    assert out["total"][0] == pytest.approx(0.35)


def test_tpp_averages_classes_then_datasets():
    table = _tpp_table()
    table.update({("x", "probe:x"): 1.0, ("y", "probe:y"): 1.0,
                  ("x", "ablate:x:5:probe:x"): 0.0, ("x", "ablate:y:5:probe:x"): 1.0,
                  ("y", "ablate:x:5:probe:y"): 1.0, ("y", "ablate:y:5:probe:y"): 1.0})  # fmt: skip
    out = tpp_metrics(_acc(table), [["a", "b", "c"], ["x", "y"]], [5])
    # dataset 1: totals a 0.35, b 0.2 - (0 + 0)/2 = 0.2, c 0 - (0.1 + 0)/2 = -0.05
    first = (0.35 + 0.2 - 0.05) / 3
    second = ((1.0 - 0.0) + (0.0 - 0.0)) / 2  # x: intended 1, unintended 0; y: 0 - 0
    assert out["tpp_threshold_5_total_metric"][0] == pytest.approx((first + second) / 2)


def test_formulas_vectorise_over_bootstrap_replicates():
    got = scr_score(a(0.9, 0.9, 0.5), a(0.6, 0.8995, 0.7), a(0.75, 0.95, 0.9))
    assert got.tolist() == pytest.approx([0.5, 0.0, 0.0])
