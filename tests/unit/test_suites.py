"""Suites: parsing, errors that name file:line and the fix, globs, SAELens releases, the
shipped suites and their dry plans (nothing is loaded here)."""

import json
import shutil
import textwrap

import pytest

from saebench.errors import SaebenchError
from saebench.registry import evaluators
from saebench.run.suites import (
    DryPlan,
    expand_glob,
    load_suite,
    parse_suite,
    release_uris,
    shipped_suites_dir,
)
from saebench.zoo.catalog import sae_names, saes_dir

MINIMAL = """\
name: tiny
saes:
  - zoo:resid-topk-8
model: zoo
dataset: zoo
tokens: 1024
evaluators:
  - reconstruction
"""


def write(tmp_path, text, name="suite.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SaebenchError) as info:
        suite = load_suite(path)
        suite.sae_uris()
        suite.evaluator_configs()
    return str(info.value)


# -- parsing ----------------------------------------------------------------------------------
def test_a_minimal_suite_gets_its_defaults(tmp_path):
    suite = load_suite(write(tmp_path, MINIMAL))
    assert suite.name == "tiny" and suite.version == "1" and suite.tokens == 1024
    assert suite.context.context_size is None and suite.executor.name == "local"
    assert suite.executor.num_cpus == 1 and suite.executor.retries == 1
    assert suite.sae_uris() == ["zoo:resid-topk-8"]
    assert suite.evaluator_configs() == (["reconstruction"], {})
    assert str(suite.out_dir()) == "results/tiny"


def test_every_section_parses(tmp_path):
    text = MINIMAL + textwrap.dedent(
        """\
        version: 3
        description: all of it
        context: {context_size: 32, prepend_bos: false, separator: eos}
        executor: {name: ray, address: auto, num_cpus: 2, num_gpus: 0.5, retries: 2}
        out: somewhere
        """
    )
    suite = load_suite(write(tmp_path, text))
    assert suite.version == "3" and suite.description == "all of it"
    assert (suite.context.context_size, suite.context.prepend_bos) == (32, False)
    assert suite.context.separator == "eos"
    assert suite.executor.model_dump(include={"name", "address", "num_gpus", "retries"}) == {
        "name": "ray",
        "address": "auto",
        "num_gpus": 0.5,
        "retries": 2,
    }
    assert str(suite.out_dir()) == "somewhere"


def test_presets_and_configs_merge_in_that_order(tmp_path):
    preset = next((n for n in evaluators.names() if evaluators.get(n).quickstart), None)
    if preset is None:
        pytest.skip("no installed evaluator declares a quickstart preset")
    cls = evaluators.get(preset)
    field, value = next(iter(cls.quickstart.items()))
    override = value + 1 if isinstance(value, int) else value
    text = MINIMAL.replace(
        "  - reconstruction\n",
        f"  - reconstruction\n  - name: {preset}\n    preset: quickstart\n"
        f"    config: {{{field}: {override}}}\n  - sparsity\n",
    )
    names, configs = load_suite(write(tmp_path, text)).evaluator_configs()
    assert names == ["reconstruction", preset, "sparsity"]
    assert configs[preset] == {**cls.quickstart, field: override}
    assert "sparsity" not in configs  # defaults: nothing to say


def test_all_is_every_installed_evaluator_with_the_suites_preset(tmp_path):
    text = MINIMAL.replace("  - reconstruction\n", "  - all\n") + "preset: quickstart\n"
    names, configs = load_suite(write(tmp_path, text)).evaluator_configs()
    # every installed one the model serves (ground_truth needs a synthetic tier, retrieval
    # an embedding model)
    assert names == [n for n in evaluators.names() if n not in ("ground_truth", "retrieval")]
    expected = {
        n: dict(evaluators.get(n).quickstart) for n in names if evaluators.get(n).quickstart
    }
    assert configs == expected


# -- errors name file:line and the fix --------------------------------------------------------
def test_an_unknown_top_level_key_names_its_line_and_a_close_key(tmp_path):
    message = error_of(tmp_path, MINIMAL + "evaluatorz: []\n")
    assert "suite.yaml:9:" in message and "'evaluatorz'" in message
    assert "did you mean 'evaluators'?" in message


def test_an_unknown_nested_key_names_its_own_line(tmp_path):
    text = MINIMAL + "executor:\n  name: ray\n  num_gpu: 1\n"
    message = error_of(tmp_path, text)
    assert "suite.yaml:11:" in message and "did you mean 'num_gpus'?" in message


def test_an_unknown_key_in_a_list_entry(tmp_path):
    text = MINIMAL.replace("  - reconstruction\n", "  - name: reconstruction\n    confg: {}\n")
    message = error_of(tmp_path, text)
    assert "suite.yaml:9:" in message and "did you mean 'config'?" in message


def test_a_wrong_type_names_the_line_of_the_value(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace("tokens: 1024", "tokens: many"))
    assert "suite.yaml:6:" in message and "tokens" in message and "integer" in message


def test_a_missing_key_is_named(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace("name: tiny\n", ""))
    assert "suite.yaml:1:" in message and "'name' is missing" in message


def test_broken_yaml_names_the_line(tmp_path):
    message = error_of(tmp_path, MINIMAL + "context: {context_size: 3\n")
    assert "suite.yaml:10:" in message or "suite.yaml:9:" in message
    assert "not valid YAML" in message


def test_an_sae_entry_must_be_one_kind(tmp_path):
    text = MINIMAL.replace(
        "  - zoo:resid-topk-8\n",
        "  - zoo:resid-topk-8\n  - {uri: zoo:resid-relu, saelens_release: gpt2-small-res-jb}\n",
    )
    message = error_of(tmp_path, text)
    assert "suite.yaml:4:" in message and "saelens_release" in message


def test_an_unknown_evaluator_names_its_line_and_a_close_name(tmp_path):
    text = MINIMAL.replace("  - reconstruction\n", "  - sparsity\n  - reconstructoin\n")
    message = error_of(tmp_path, text)
    assert "suite.yaml:9:" in message and "reconstruction" in message


def test_a_bad_evaluator_setting_names_its_line(tmp_path):
    text = MINIMAL.replace(
        "  - reconstruction\n", "  - name: mdl\n    config:\n      no_such_setting: 1\n"
    )
    message = error_of(tmp_path, text)
    assert "suite.yaml:10:" in message and "no setting 'no_such_setting'" in message


def test_a_misspelt_evaluator_setting_gets_a_close_name(tmp_path):
    text = MINIMAL.replace(
        "  - reconstruction\n", "  - name: mdl\n    config: {fvu_tolerence: 1}\n"
    )
    message = error_of(tmp_path, text)
    assert "suite.yaml:9:" in message and "did you mean 'fvu_tolerance'?" in message


def test_a_glob_that_matches_nothing_names_its_line(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace("zoo:resid-topk-8", "zoo:nothing-*"))
    assert "suite.yaml:3:" in message and "matches no SAE" in message


def test_a_suite_that_is_not_a_mapping(tmp_path):
    assert "suite.yaml:1:" in error_of(tmp_path, "- just\n- a list\n")


def test_a_missing_suite_file_lists_the_shipped_ones(tmp_path):
    with pytest.raises(SaebenchError, match="no such suite file.*quickstart.yaml"):
        load_suite(tmp_path / "nope.yaml")


# -- SAE sources --------------------------------------------------------------------------
def test_zoo_globs_match_the_catalogue():
    names = sae_names()
    expected = sorted(f"zoo:{n}" for n in names if n.startswith("resid-topk"))
    assert expand_glob("zoo:resid-topk-*", shipped_suites_dir()) == expected
    assert expand_glob("zoo:*", shipped_suites_dir()) == [f"zoo:{n}" for n in names]


def test_local_globs_are_relative_to_the_suite_and_keep_the_scheme(tmp_path):
    for name in ("a", "b"):
        shutil.copytree(saes_dir() / "resid-topk-8", tmp_path / "saes" / name)
    (tmp_path / "saes" / "notes.txt").write_text("not an SAE")
    text = MINIMAL.replace("zoo:resid-topk-8", "saelens:saes/[ab]") + "\n"
    suite = load_suite(write(tmp_path, text))
    folder = (tmp_path / "saes").resolve()
    assert suite.sae_uris() == [f"saelens:{folder / 'a'}", f"saelens:{folder / 'b'}"]
    plain = load_suite(write(tmp_path, MINIMAL.replace("zoo:resid-topk-8", "saes/a")))
    assert plain.sae_uris() == [str(folder / "a")]


def test_duplicate_sources_are_kept_once(tmp_path):
    text = MINIMAL.replace("  - zoo:resid-topk-8\n", "  - zoo:resid-topk-8\n  - zoo:resid-top*-8\n")
    assert load_suite(write(tmp_path, text)).sae_uris() == ["zoo:resid-topk-8"]


def test_the_gpt2_small_res_jb_release_expands_from_saelens_directory():
    """Checked against the release's YAML that sae-lens ships, read independently here."""
    from pathlib import Path

    import sae_lens
    import yaml

    shipped = Path(sae_lens.__file__).parent / "pretrained_saes.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the file is 1.5 MB
    ids = [
        entry["id"] for entry in yaml.load(shipped.read_text(), loader)["gpt2-small-res-jb"]["saes"]
    ]
    layers = [i for i in ids if i.endswith("hook_resid_pre")]
    assert len(layers) == 12
    assert release_uris("gpt2-small-res-jb", "blocks.*.hook_resid_pre") == [
        f"saelens:gpt2-small-res-jb/{i}" for i in layers
    ]
    assert release_uris("gpt2-small-res-jb") == [f"saelens:gpt2-small-res-jb/{i}" for i in ids]


def test_unknown_releases_and_patterns_are_explained():
    with pytest.raises(SaebenchError, match="did you mean gpt2-small-res-jb"):
        release_uris("gpt2-small-res-jbb")
    with pytest.raises(SaebenchError, match="ids look like blocks.0.hook_resid_pre"):
        release_uris("gpt2-small-res-jb", "layer_*")


# -- the shipped suites ------------------------------------------------------------------------
def test_the_gpt2_suite_dry_plans_to_one_group_of_twelve_layers():
    plan = load_suite(shipped_suites_dir() / "gpt2-small-res-jb.yaml").dry_plan()
    assert isinstance(plan, DryPlan) and len(plan.groups) == 1
    group = plan.groups[0]
    assert group.model == "gpt2-small"
    assert group.tokens == {"context_size": 128, "prepend_bos": True, "separator": "bos"}
    assert group.saes == [f"saelens:gpt2-small-res-jb/blocks.{i}.hook_resid_pre" for i in range(12)]
    assert list(plan.evaluators) == ["reconstruction", "sparsity", "mdl"]


def test_the_quickstart_suite_is_the_zoo_with_every_evaluator_at_its_preset():
    suite = load_suite(shipped_suites_dir() / "quickstart.yaml")
    plan = suite.dry_plan()
    saes = [uri for uri in plan.sae_uris if not uri.startswith("control:")]  # controls: their test
    assert saes == [f"zoo:{n}" for n in sae_names()]
    on_a_model = [n for n in evaluators.names() if n not in ("ground_truth", "retrieval")]
    assert list(plan.evaluators) == on_a_model
    for name, config in plan.evaluators.items():
        assert config == dict(evaluators.get(name).quickstart)
    # every zoo SAE states context 64, BOS and an EOS separator: one group, one model load
    cfgs = [json.loads((saes_dir() / n / "cfg.json").read_text()) for n in sae_names()]
    assert (
        len(
            {
                json.dumps(c.get("metadata", {}).get("context_size", c.get("context_size")))
                for c in cfgs
            }
        )
        == 1
    )
    assert len(plan.groups) == 1 and plan.groups[0].model == "zoo"


def test_the_builtin_quickstart_suite_equals_the_shipped_file(monkeypatch, tmp_path):
    import saebench.run.suites as suites
    from saebench.quickstart import quickstart_suite

    shipped = quickstart_suite()
    monkeypatch.setattr(suites, "shipped_suites_dir", lambda: tmp_path)
    assert quickstart_suite().model_dump() == shipped.model_dump()


def test_the_core_suite_parses_and_dry_plans():
    suite = load_suite(shipped_suites_dir() / "core.yaml")
    missing = [e.name for e in suite.evaluators if e.name not in evaluators.names()]
    if missing:
        pytest.skip(f"evaluators not installed yet: {missing}")
    plan = suite.dry_plan()
    assert plan.sae_uris == [f"zoo:{n}" for n in sae_names()]
    assert all(config == {} for config in plan.evaluators.values())  # full size: defaults


def test_dry_plan_splits_saes_whose_token_sets_differ(tmp_path):
    copy = tmp_path / "short"
    shutil.copytree(saes_dir() / "resid-topk-8", copy)
    cfg = json.loads((copy / "cfg.json").read_text())
    if "context_size" in cfg.get("metadata", {}):
        cfg["metadata"]["context_size"] = 32
    else:
        cfg["context_size"] = 32
    (copy / "cfg.json").write_text(json.dumps(cfg))
    text = MINIMAL.replace("  - zoo:resid-topk-8\n", "  - zoo:resid-topk-8\n  - saelens:short\n")
    plan = load_suite(write(tmp_path, text)).dry_plan()
    assert [g.tokens["context_size"] for g in plan.groups] == [64, 32]
    assert plan.groups[1].saes == [f"saelens:{copy.resolve()}"]


def test_parse_suite_from_text_names_its_source():
    with pytest.raises(SaebenchError, match=r"^inline.yaml:2: unknown key 'sae'"):
        parse_suite("name: x\nsae: []\n", source="inline.yaml")


def test_one_sae_or_evaluator_may_be_given_without_a_list(tmp_path):
    text = "name: x\nsaes: zoo:resid-topk-8\nevaluators: sparsity\nversion: 2.5\n"
    suite = load_suite(write(tmp_path, text))
    assert suite.sae_uris() == ["zoo:resid-topk-8"] and suite.version == "2.5"
    assert suite.evaluator_configs() == (["sparsity"], {})


def test_relative_model_and_dataset_paths_are_found_next_to_the_suite(tmp_path):
    (tmp_path / "texts.txt").write_text("hello")
    (tmp_path / "model").mkdir()
    text = MINIMAL.replace("model: zoo", "model: model").replace(
        "dataset: zoo", "dataset: texts.txt"
    )
    suite = load_suite(write(tmp_path, text))
    assert suite.dataset_location() == str((tmp_path / "texts.txt").resolve())
    assert suite.model_location() == str((tmp_path / "model").resolve())
    assert load_suite(write(tmp_path, MINIMAL)).model_location() == "zoo"
