"""The ``ravel`` task on the RAVEL-layout fixture (``tests/fixtures/ravel``): what it reads,
what it counts and skips, its pair builders, and a one-line error for each malformed file."""

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from saebench.errors import SaebenchError
from saebench.tasks import build_task
from saebench.tasks.ravel import alternatives, instance_split_of, load_ravel, same_value

FIXTURE = Path(__file__).parents[2] / "fixtures" / "ravel"


def raw(part):
    return json.loads((FIXTURE / f"ravel_city_{part}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def task():
    return build_task("ravel", {"data_dir": str(FIXTURE), "entity_type": "city"})


@pytest.fixture
def copy(tmp_path):
    """A writable copy of the fixture, and a function rewriting one of its files."""
    for path in FIXTURE.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)

    def write(part, data=None, text=None):
        path = tmp_path / f"ravel_city_{part}.json"
        path.write_text(text if text is not None else json.dumps(data, indent=2), "utf-8")
        return path

    return tmp_path, write


def errors_of(data_dir, **config):
    with pytest.raises(SaebenchError) as info:
        task = build_task("ravel", {"data_dir": str(data_dir), **config})
        task.prompts()
    message = str(info.value)
    assert "\n" not in message
    return message


# -- what is read ----------------------------------------------------------------------------
def test_every_labelled_entity_attribute_template_is_one_prompt(task):
    labels, splits = raw("entity_attributes"), raw("entity_to_split")
    templates, template_split = raw("attribute_to_prompts"), raw("prompt_to_split")
    expected = Counter()
    for entity, row in labels.items():
        for attribute, items in templates.items():
            if row.get(attribute) not in (None, ""):
                expected[splits[entity], attribute] += len(items)
    got = Counter((p.split, p.asks) for p in task.prompts())
    assert got == expected and sum(got.values()) == 423 * 3  # worked out: 47 x 9 per attribute
    for p in task.prompts("test")[:40] + task.prompts("val"):
        entity = p.attributes["city"]
        start, end = p.spans["entity"]
        assert p.text[start:end] == entity
        assert p.answer == str(labels[entity][p.asks]) == p.attributes[p.asks]
        name, index = p.tags["template"].split("#")
        template = templates[name][int(index)]
        assert name == p.asks and p.text == template.rstrip().replace("%s", entity)
        assert p.tags["template_split"] == template_split[template]


def test_quirks_of_the_real_files_are_read_as_documented(task):
    by_template = {p.tags["template"]: p for p in task.prompts("train")}
    assert by_template["Country#8"].text.endswith("country of")  # trailing space dropped
    assert by_template["Continent#8"].text.startswith(" As everyone")  # leading space kept
    json_style = by_template["Language#8"]
    assert json_style.text.endswith('"language": "') and json_style.tags["template_split"] == "test"
    aalborg = next(p for p in task.prompts("train") if p.attributes["city"] == "Aalborg")
    assert aalborg.attributes["Population"] == "142937"  # a number, read as its text
    tome = [p for p in task.prompts("val") if p.attributes["city"] == "São Tomé"]
    assert tome and all(p.text[slice(*p.spans["entity"])] == "São Tomé" for p in tome)
    assert "Atlantis" not in task.attribute_values()["city"]  # in the split file only
    assert {p.asks for p in task.prompts()} == {"Country", "Continent", "Language"}


def test_describe_counts_entities_templates_and_skipped_prompts(task):
    d = task.describe()
    assert d["entities"] == {"train": 33, "val": 5, "test": 10}
    country = d["attributes"]["Country"]
    assert country["templates"] == {"train": 5, "val": 2, "test": 2}
    assert d["attributes"]["Language"]["templates"] == {"train": 4, "val": 2, "test": 3}
    # one test city lacks each of Country (no key), Continent (null), Language ("")
    for attribute in ("Country", "Continent", "Language"):
        row = d["attributes"][attribute]
        assert row["labelled_entities"] == 47 and row["skipped_prompts"] == 9
        assert row["prompts"] == sum(p.asks == attribute for p in task.prompts())
    assert d["attributes"]["Timezone"]["prompts"] == 0
    assert d["attributes"]["Timezone"]["skipped_prompts"] == 48 * 2
    assert d["templates_trailing_space_dropped"] == 1
    assert d["labels_without_prompts"] == ["Population"]


def test_counts_per_split_and_template_split(task):
    counts = task.counts()
    # train: 33 cities x (5+5+4 train, 2+2+3 test, 2+2+2 val) templates
    assert counts["train"]["template_split=train"] == 33 * 14
    assert counts["train"]["template_split=test"] == 33 * 7
    assert counts["test"]["prompts"] == 10 * 27 - 27  # three cities each lack one attribute
    assert counts["val"]["asks=Language"] == 5 * 9


def test_attribute_values_and_instance_splits(task):
    values = task.attribute_values()
    assert values["Continent"] == ["Africa", "Asia", "Europe", "North America", "South America"]
    assert len(values["city"]) == 48
    seen = Counter(task.instance_split(p) for p in task.prompts())
    assert seen["train"] == 33 * 14 and seen["context"] == 33 * 7
    assert seen["entity"] == sum(
        p.split == "test" and p.tags["template_split"] == "train" for p in task.prompts()
    )
    assert instance_split_of("val", "train") == "val" and instance_split_of("test", "test") is None


def test_config_subsets_are_seeded_samples(task):
    def sample(**config):
        return build_task("ravel", {"data_dir": str(FIXTURE), **config})

    small = sample(attributes=["Continent"], max_entities=4, max_templates_per_attribute=1)
    assert small.describe()["entities"] == {"train": 4, "val": 4, "test": 4}
    assert {p.asks for p in small.prompts()} == {"Continent"}
    assert small.describe()["attributes"]["Continent"]["templates"] == {
        "train": 1,
        "val": 1,
        "test": 1,
    }
    again = sample(attributes=["Continent"], max_entities=4, max_templates_per_attribute=1)
    other = sample(attributes=["Continent"], max_entities=4, seed=1)
    assert [p.text for p in small.prompts()] == [p.text for p in again.prompts()]
    assert small.entities != other.entities
    assert small.spec().fingerprint != task.spec().fingerprint


def test_fingerprint_follows_the_files(copy, task):
    folder, write = copy
    same = build_task("ravel", {"data_dir": str(folder)})
    assert same.spec().fingerprint == task.spec().fingerprint
    labels = raw("entity_attributes")
    labels["Aalborg"]["Country"] = "Norway"
    write("entity_attributes", labels)
    changed = build_task("ravel", {"data_dir": str(folder)})
    assert changed.spec().fingerprint != task.spec().fingerprint
    assert load_ravel(folder, "city").labels["Aalborg"]["Country"] == "Norway"  # not cached


def test_parsed_files_are_cached():
    assert load_ravel(FIXTURE, "city") is load_ravel(FIXTURE, "city")


# -- pair builders -----------------------------------------------------------------------------
def test_pair_builders_swap_an_entity_of_the_same_split_and_template(task):
    assert set(task.pair_builders()) == {"Country", "Continent", "Language", "city"}
    bases = task.prompts("train")[::5]
    for builder in ("Country", "Continent", "Language"):
        pairs = task.pairs(builder, prompts=bases, seed=3)
        assert len(pairs) == len(bases)  # every train base has a source
        for pair in pairs:
            b, s = pair.base, pair.source
            assert s.split == b.split and s.tags == b.tags and s.asks == b.asks
            assert s.attributes[builder] != b.attributes[builder]
            assert s.answer == s.attributes[b.asks]
            assert s.text.replace(s.attributes["city"], "%s") == b.text.replace(
                b.attributes["city"], "%s"
            )
    again = task.pairs("Country", prompts=bases, seed=3)
    assert [p.source.text for p in again] == [
        p.source.text for p in task.pairs("Country", prompts=bases, seed=3)
    ]
    swaps = task.pairs("city", prompts=bases, seed=0)
    assert all(p.source.attributes["city"] != p.base.attributes["city"] for p in swaps)


def test_a_builder_without_candidates_gives_none(task):
    # one city per split: no other entity of the base's split to swap in
    one = build_task("ravel", {"data_dir": str(FIXTURE), "max_entities": 1})
    base = one.prompts("val")[0]
    assert one.pair_builders()["Country"](base, random.Random(0)) is None


def test_multi_valued_labels_are_alternatives():
    assert alternatives("Arabic,Kurdish, Turkish") == ["Arabic", "Kurdish", "Turkish"]
    assert same_value("Arabic,Kurdish", "kurdish") and not same_value("Chinese,Korean", "Thai")


# -- malformed files -------------------------------------------------------------------------------
def test_a_missing_file_lists_the_folder(copy, tmp_path):
    folder, _ = copy
    (folder / "ravel_city_prompt_to_split.json").unlink()
    message = errors_of(folder)
    assert "ravel_city_prompt_to_split.json is missing" in message
    assert "ravel_city_entity_to_split.json" in message
    message = errors_of(FIXTURE, entity_type="verb")
    assert "ravel_verb_entity_attributes.json is missing" in message
    assert "entity types there: city" in message
    assert "does not exist" in errors_of(tmp_path / "nowhere")


def test_invalid_json_names_the_file_and_line(copy):
    folder, write = copy
    path = write("entity_to_split", text='{\n  "Aalborg": "train",\n  "Aarau" "test"\n}\n')
    message = errors_of(folder)
    assert str(path) in message and "invalid JSON at line 3" in message
    write("entity_to_split", ["Aalborg"])
    assert "expected a JSON object at the top" in errors_of(folder)


@pytest.mark.parametrize(
    "template, fragment",
    [("%s lies in the country of %s", "exactly once"), ("The country is", "exactly once")],
)
def test_a_template_needs_one_placeholder(copy, template, fragment):
    folder, write = copy
    prompts = raw("attribute_to_prompts")
    prompts["Country"].append(template)
    write("attribute_to_prompts", prompts)
    message = errors_of(folder)
    assert "ravel_city_attribute_to_prompts.json" in message and fragment in message
    assert "'Country'" in message and repr(template) in message


def test_an_attribute_needs_prompts(copy):
    folder, write = copy
    prompts = raw("attribute_to_prompts")
    prompts["Country"] = []
    write("attribute_to_prompts", prompts)
    message = errors_of(folder)
    assert "attribute 'Country' has no prompts" in message
    message = errors_of(FIXTURE, attributes=["Capital"])
    assert "no prompts for attribute 'Capital'" in message and "Country" in message


def test_every_entity_and_template_needs_a_split(copy):
    folder, write = copy
    splits = raw("entity_to_split")
    del splits["Aalborg"]
    write("entity_to_split", splits)
    message = errors_of(folder)
    assert "ravel_city_entity_to_split.json" in message and "entity 'Aalborg'" in message
    assert "has no split" in message
    splits["Aalborg"] = "dev"
    write("entity_to_split", splits)
    assert "has split 'dev'; use train, val or test" in errors_of(folder)
    write("entity_to_split", raw("entity_to_split"))
    prompt_split = raw("prompt_to_split")
    del prompt_split["People in %s speak"]
    write("prompt_to_split", prompt_split)
    message = errors_of(folder)
    assert "ravel_city_prompt_to_split.json" in message and "'People in %s speak'" in message


def test_a_value_must_be_text(copy):
    folder, write = copy
    labels = raw("entity_attributes")
    labels["Aalborg"]["Country"] = ["Denmark"]
    write("entity_attributes", labels)
    message = errors_of(folder)
    assert "entity 'Aalborg', attribute 'Country'" in message and "text value" in message


def test_config_mistakes_name_the_field():
    with pytest.raises(SaebenchError, match="config data_dir: Field required"):
        build_task("ravel", {})
    with pytest.raises(SaebenchError, match="entity_type"):
        build_task("ravel", {"data_dir": str(FIXTURE), "entity_type": "../city"})
    with pytest.raises(SaebenchError, match="max_entities"):
        build_task("ravel", {"data_dir": str(FIXTURE), "max_entities": 0})
