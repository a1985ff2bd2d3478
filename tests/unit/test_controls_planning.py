"""Controls in plans and suites: planned beside their SAE (same group, same tokens), keyed
stably, written as records of role "control" that name their SAE."""

import textwrap

import pytest

from saebench.errors import SaebenchError
from saebench.resources import Resources
from saebench.run.planning import plan
from saebench.run.suites import load_suite, parse_suite, shipped_suites_dir

SUITE = """\
name: tiny
saes:
  - zoo:resid-topk-8
  - zoo:resid-topk-16
model: zoo
dataset: zoo
tokens: 1024
evaluators:
  - reconstruction
controls:
  kinds: [permuted_decoder, matched_l0_random]
  saes: [resid-topk-16]
"""


def test_a_suite_lists_each_chosen_sae_followed_by_its_controls():
    suite = parse_suite(SUITE)
    assert suite.sae_uris() == [
        "zoo:resid-topk-8",
        "zoo:resid-topk-16",
        "control:permuted_decoder:zoo:resid-topk-16",
        "control:matched_l0_random:zoo:resid-topk-16",
    ]
    (group,) = suite.dry_plan().groups  # a control reads its SAE's header: one group
    assert group.saes == suite.sae_uris() and group.model == "zoo"


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("controls: [permuted]", ["<suite>:10", "permuted_decoder"]),
        (
            "controls: {kinds: [random_init], saes: [zoo:nothing]}",
            ["<suite>:10", "'zoo:nothing' matches no SAE"],
        ),
        ("controls: {kinds: [random_init], seed: -1}", ["<suite>:10", "seed"]),
    ],
)
def test_a_bad_controls_setting_names_its_line(setting, fragments):
    text = SUITE.split("controls:")[0] + textwrap.dedent(setting) + "\n"
    with pytest.raises(SaebenchError) as error:
        parse_suite(text).sae_uris()
    for fragment in fragments:
        assert fragment in str(error.value), (fragment, str(error.value))


def test_the_quickstart_suite_runs_two_controls_beside_resid_topk_16():
    uris = load_suite(shipped_suites_dir() / "quickstart.yaml").sae_uris()
    controls = [uri for uri in uris if uri.startswith("control:")]
    assert controls == [
        "control:permuted_decoder:zoo:resid-topk-16",
        "control:matched_l0_random:zoo:resid-topk-16",
    ]
    assert uris.index(controls[0]) == uris.index("zoo:resid-topk-16") + 1


def test_plan_puts_controls_in_their_saes_group_with_stable_keys():
    def keys_of(groups):
        (group,) = groups
        return {sae.name: group.key(sae, group.evaluators[0]) for sae in group.saes}

    args = ("zoo:resid-topk-16", "zoo", "zoo", "sparsity", 1024)
    first = keys_of(plan(*args, controls="permuted_decoder,random_init", progress=False))
    again = keys_of(
        plan(
            *args,
            controls=["random_init", "permuted_decoder"],
            progress=False,
            resources=Resources(),
        )
    )
    assert list(first) == [
        "resid-topk-16",
        "resid-topk-16~permuted_decoder",
        "resid-topk-16~random_init",
    ]
    assert first == again and len(set(first.values())) == 3
    alone = keys_of(plan(*args, progress=False))  # the SAE's own key is untouched by controls
    assert alone["resid-topk-16"] == first["resid-topk-16"]
    with pytest.raises(SaebenchError, match="unknown control 'shuffled'"):
        plan(*args, controls="shuffled", progress=False)


def test_controls_of_an_sae_object_are_made_from_the_object(tiny_model, texts):
    from helpers import make_sae

    import saebench

    sae = make_sae("topk", k=4)
    records = saebench.evaluate(
        sae,
        model=tiny_model,
        dataset=texts,
        evaluators="sparsity",
        n_tokens=256,
        context_size=16,
        progress=False,
        controls=["matched_l0_random"],
    )
    assert [r.sae.role for r in records] == ["sae", "control"]
    assert records[0].metrics["l0"] == records[1].metrics["l0"] == 4


def test_a_group_read_back_from_json_remakes_its_controls_as_a_worker_would():
    """A Ray worker gets the group as JSON and loads every SAE by URI in fresh resources:
    the controls it makes are the planned ones (weights hash checked) with equal numbers."""
    from saebench.run.group import run_group
    from saebench.run.planning import GroupSpec

    (group,) = plan(
        "zoo:resid-topk-16",
        "zoo",
        "zoo",
        "sparsity",
        1024,
        controls="matched_l0_random",
        progress=False,
    )
    here = run_group(group)
    there = run_group(GroupSpec.model_validate_json(group.model_dump_json()), resources=Resources())
    assert [r.key for r in here] == [r.key for r in there]
    assert [r.metrics for r in here] == [r.metrics for r in there]
    assert [(r.sae.role, r.sae.of) for r in there] == [
        ("sae", None),
        ("control", "zoo:resid-topk-16"),
    ]
