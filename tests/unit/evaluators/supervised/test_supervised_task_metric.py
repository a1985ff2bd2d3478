"""The generic metric rule gives IOI's logit(IO) - logit(S); approximation scores by hand."""

import pytest

from saebench.errors import SaebenchError
from saebench.evaluators.supervised.approximation import fraction_kept, fraction_removed
from saebench.evaluators.supervised.task_metric import counterfactual_answers, metric_builder
from saebench.tasks import build_task


def test_ioi_metric_is_logit_io_minus_logit_s():
    task = build_task("zoo-ioi", {"n": 40})
    prompts = task.prompts("test")
    builder = metric_builder(task, prompts)
    assert builder == "swap_io_s"
    counter = counterfactual_answers(task, prompts, builder)
    assert counter == [p.attributes["s"] for p in prompts]
    assert metric_builder(task, prompts, "change_io") == "change_io"
    with pytest.raises(SaebenchError, match="no pair builder 'nope'"):
        metric_builder(task, prompts, "nope")


def test_fractions_by_hand():
    assert fraction_kept(9.0, 9.0, 3.0) == 1.0  # the exact reconstruction keeps everything
    assert fraction_kept(3.0, 9.0, 3.0) == 0.0  # the mean keeps nothing
    assert fraction_kept(6.0, 9.0, 3.0) == 0.5
    assert fraction_removed(3.0, 9.0, 3.0) == 1.0
    assert fraction_removed(7.5, 9.0, 3.0) == 0.25
    assert fraction_kept(5.0, 4.0, 4.0) is None  # a node without effect has no score
