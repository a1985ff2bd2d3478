"""SAE names in one run are unique and informative; the same weights twice are flagged."""

from __future__ import annotations

import warnings

import pytest

from saebench import load_sae
from saebench.adapters.saelens import save_saelens
from saebench.errors import SaebenchWarning
from saebench.run.planning import plan


def _names(saes) -> list[str]:
    groups = plan(saes, model="zoo", dataset="zoo", evaluators="sparsity", n_tokens=1024)
    specs = sorted((s for g in groups for s in g.saes), key=lambda s: s.position)
    return [s.name for s in specs]


def test_folders_with_the_same_last_name_get_their_parents(tmp_path):
    uris = []
    for run, zoo in (("run-a", "resid-topk-16"), ("run-b", "resid-relu"), ("run-c", "resid-gated")):
        uris.append(str(save_saelens(load_sae(f"zoo:{zoo}"), tmp_path / run / "out")))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaebenchWarning)
        assert _names(uris) == ["run-a/out", "run-b/out", "run-c/out"]


def test_a_lone_folder_keeps_its_short_name(tmp_path):
    uri = str(save_saelens(load_sae("zoo:resid-relu"), tmp_path / "run" / "out"))
    assert _names([uri, "zoo:resid-topk-16"]) == ["out", "resid-topk-16"]


def test_the_same_weights_under_two_uris_are_flagged(tmp_path):
    sae = load_sae("zoo:resid-relu")
    copy = str(save_saelens(sae, tmp_path / "copy"))
    with pytest.warns(SaebenchWarning, match="same weights"):
        names = _names(["zoo:resid-relu", copy])
    assert names == ["resid-relu", "copy"]
