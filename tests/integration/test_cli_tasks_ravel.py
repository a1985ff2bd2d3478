"""``saebench tasks show ravel`` on the RAVEL-layout fixture, and its one-line errors."""

import json
import shutil
from pathlib import Path

from helpers import run_cli

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ravel"


def show(capsys, *extra):
    return run_cli(["tasks", "show", "ravel", *extra], capsys)


def assert_refused(code, err, *fragments):
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_show_prints_entities_attributes_and_templates_per_split(capsys):
    code, out, err = show(capsys, "--data-dir", str(FIXTURE), "--entity-type", "city", "-n", "1")
    assert code == 0, err
    assert "entities: train 33, val 5, test 10" in out
    data_table = out.split("entities:")[1]  # the values table comes before
    country = next(line for line in data_table.splitlines() if line.startswith("| Country "))
    cells = [c.strip() for c in country.strip("|").split("|")]
    assert cells[1:4] == ["5", "2", "2"]  # templates train, val, test
    assert "templates_trailing_space_dropped: 1" in out
    assert "labels_without_prompts: ['Population']" in out
    assert "[Aalborg]{entity}" in out or "{entity}" in out


def test_show_as_json_and_through_set(capsys):
    code, out, err = show(
        capsys, "--set", f"data_dir={FIXTURE}", "--set", "max_entities=2", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["data"]["entities"] == {"train": 2, "val": 2, "test": 2}
    assert data["config"]["max_entities"] == 2
    assert data["counts"]["train"]["template_split=test"] == 2 * 7


def test_list_says_what_ravel_needs_and_zoo_cities_still_shows(capsys):
    code, out, err = run_cli(["tasks", "list"], capsys)
    assert code == 0, err
    assert "needs --set data_dir=..." in out
    code, out, err = run_cli(["tasks", "show", "zoo-cities", "-n", "1"], capsys)
    assert code == 0, err and "fingerprint" in out


def test_errors_are_one_line(capsys, tmp_path):
    assert_refused(*show(capsys)[::2], "data_dir", "Field required")
    assert_refused(
        *show(capsys, "--data-dir", str(FIXTURE), "--entity-type", "verb")[::2],
        "ravel_verb_entity_attributes.json is missing",
        "entity types there: city",
    )
    assert_refused(*show(capsys, "--data-dir", str(tmp_path / "no"))[::2], "does not exist")
    for path in FIXTURE.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "ravel_city_attribute_to_prompts.json").write_text('{"Country": ["%s is in"],\n}')
    assert_refused(
        *show(capsys, "--data-dir", str(tmp_path))[::2],
        "ravel_city_attribute_to_prompts.json",
        "invalid JSON at line 2",
    )
    code, _, err = run_cli(["tasks", "show", "zoo-cities", "--data-dir", str(FIXTURE)], capsys)
    assert_refused(code, err, "data_dir")
