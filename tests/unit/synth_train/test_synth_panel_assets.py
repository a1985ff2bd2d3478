"""The shipped synthetic-tier SAEs (saebench/zoo/saes_synth): every folder is in the build
log, loads as ``zoo:NAME`` with its tier's metadata, and has the width of its tier's recipe."""

import json

import pytest

import saebench
from saebench.zoo import catalog
from saebench.zoo.build import synth_saes as S

SHIPPED = [n for n in catalog.all_sae_names() if n.startswith(tuple(catalog.SYNTH_PREFIXES))]


def test_the_build_log_covers_every_shipped_sae_and_the_plan():
    log = json.loads((catalog.synth_saes_dir() / "metrics.json").read_text())
    assert sorted(log["saes"]) == sorted(SHIPPED)
    assert set(SHIPPED) <= {s.name for s in S.plan()}
    assert {f"synth4k-{arch}-12-s0" for arch in S.ARCHITECTURES} <= set(SHIPPED)
    assert log["total_bytes"] == sum(e["size_bytes"] for e in log["saes"].values())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_sae_loads_with_its_tier_metadata(name):
    sae = saebench.load_sae(f"zoo:{name}")
    tier = catalog.sae_model(name)
    spec = next(s for s in S.plan() if s.name == name)
    assert (sae.meta.model_name, sae.meta.hook_name, sae.meta.architecture) == (
        tier,
        "hook_x",
        spec.arch,
    )
    assert (sae.meta.d_sae, sae.meta.context_size, sae.meta.prepend_bos) == (
        S.recipe(tier).d_sae,
        1,
        False,
    )
