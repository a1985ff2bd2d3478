"""``saebench evaluators list`` shows each built-in's needs beyond streamed activations."""

import json

import pytest

from saebench.cli.main import main


def test_needs_are_those_that_differ_from_the_default(capsys):
    with pytest.raises(SystemExit) as ended:
        main(["evaluators", "list", "--json"])
    assert ended.value.code == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["mdl"]["needs"] == "passes=2"
    assert rows["reconstruction"]["needs"] == "downstream"
    assert rows["sparsity"]["needs"] == ""
