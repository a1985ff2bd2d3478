"""`evaluators: [all]` means every installed evaluator the suite's source can serve."""

from __future__ import annotations

from saebench.run.suites import load_suite


def suite(tmp_path, model):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nversion: 1\nsaes: [zoo:resid-topk-16]\nmodel: {model}\n"
                    "evaluators: [all]\n")  # fmt: skip
    return load_suite(path).evaluator_configs()[0]


def test_all_on_a_model_leaves_out_ground_truth(tmp_path):
    names = suite(tmp_path, "zoo")
    assert "ground_truth" not in names
    assert {"reconstruction", "ravel", "supervised", "compare"} <= set(names)


def test_all_on_a_tier_keeps_what_needs_no_model(tmp_path):
    names = suite(tmp_path, "synth-1k")
    assert {"ground_truth", "reconstruction", "sparsity", "mdl", "compare"} <= set(names)
    assert not {"ravel", "supervised", "sparse_probing", "autointerp"} & set(names)
