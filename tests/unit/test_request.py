"""One run request: the CLI, evaluate(), plan() and suites all build a RunRequest."""

import pytest

import saebench
from saebench.errors import SaebenchError
from saebench.run.request import RunRequest


def test_options_are_checked_with_the_closest_name():
    with pytest.raises(SaebenchError, match="unknown option 'n_token'; did you mean .*n_tokens"):
        RunRequest.build("zoo:resid-relu", n_token=100)
    with pytest.raises(SaebenchError, match="unknown option 'cache'"):
        saebench.plan("zoo:resid-relu", model="zoo", cache="x")


def test_lists_and_comma_separated_strings_are_the_same_request():
    a = RunRequest.build("zoo:resid-relu", evaluators="sparsity, mdl", controls="random_init")
    b = RunRequest.build(["zoo:resid-relu"], evaluators=["sparsity", "mdl"],
                         controls=["random_init"])  # fmt: skip
    assert a == b and a.executor.name == "local"


def test_a_bad_executor_is_one_line_naming_the_option():
    with pytest.raises(SaebenchError, match="executor.*'local' or 'ray'"):
        RunRequest.build("zoo:resid-relu", executor={"name": "slurm"})


def test_evaluate_and_plan_take_the_same_options(tmp_path):
    fields = set(RunRequest.model_fields)
    groups = saebench.plan("zoo:resid-relu", model="zoo", dataset="zoo", evaluators="sparsity",
                           n_tokens=512, progress=False)  # fmt: skip
    (record,) = saebench.evaluate("zoo:resid-relu", model="zoo", dataset="zoo",
                                  evaluators="sparsity", n_tokens=512, progress=False,
                                  out_dir=tmp_path)  # fmt: skip
    assert groups[0].key(groups[0].saes[0], groups[0].evaluators[0]) == record.key
    assert {"executor", "controls", "llm", "out_dir"} <= fields


def test_eval_refuses_an_unreachable_ray_address_before_loading(capsys):
    from helpers import run_cli

    code, _, err = run_cli(["eval", "zoo:resid-relu", "--model", "zoo", "--executor", "ray",
                            "--address", "127.0.0.1:1"], capsys)  # fmt: skip
    assert code == 2 and "no Ray cluster answers there" in err
