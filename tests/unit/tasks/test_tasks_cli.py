"""``saebench tasks list|show`` through the typer sub-app."""

import json

from typer.testing import CliRunner

from saebench.cli.tasks_cmd import app, mark_spans

runner = CliRunner()


def test_list_shows_the_builtin_tasks():
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["zoo-ioi"]["prompts"] == 1500
    assert rows["zoo-cities"]["attributes"] == "city, country, continent, language"


def test_show_prints_counts_attributes_and_marked_prompts():
    result = runner.invoke(app, ["show", "zoo-ioi", "--set", "n=7", "--split", "test", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output and "swap_io_s" in result.output
    assert "{io}" in result.output and "{end}" in result.output
    data = json.loads(runner.invoke(app, ["show", "zoo-cities", "--json", "-n", "1"]).output)
    assert data["counts"]["test"]["prompts"] > 0 and len(data["prompts"]["train"]) == 1
    assert "{entity}" in data["prompts"]["test"][0]["prompt"]


def test_show_refuses_unknown_tasks_and_fields():
    assert runner.invoke(app, ["show", "zoo-iio"]).exit_code != 0
    assert runner.invoke(app, ["show", "zoo-ioi", "--set", "size=3"]).exit_code != 0


def test_mark_spans():
    assert mark_spans("When Mary met John", {"b": (14, 18), "a": (5, 9)}) == (
        "When [Mary]{a} met [John]{b}"
    )


def test_list_shows_a_task_whose_wheel_is_missing_as_unavailable(monkeypatch):
    """CI installs no optional wheel: the other tasks must still be listed."""
    from saebench.data import sae_probes_files
    from saebench.errors import SaebenchError

    def missing():
        raise SaebenchError("the sae-probes datasets need the PyPI wheel 'sae-probes'")

    monkeypatch.setattr(sae_probes_files, "dataset_files", missing)
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["sae-probes"]["description"].startswith("unavailable: the sae-probes datasets")
    assert rows["zoo-ioi"]["prompts"] == 1500
