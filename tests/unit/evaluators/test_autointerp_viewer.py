"""The autointerp viewer: one static page with every latent, escaped text, activations shaded
by strength; a terminal summary; clear errors for a missing folder or record."""

import re
import subprocess
import sys

import pytest

from saebench.errors import SaebenchError
from saebench.evaluators.autointerp.viewer import (
    find_autointerp_record,
    render_html,
    summary_rows,
    write_viewer,
)
from saebench.records import (
    EvalRecord,
    EvaluatorInfo,
    ModelInfo,
    Provenance,
    SaeInfo,
    load_records,
    write_record,
)


def _latents():
    detection = {"balanced_accuracy": 0.75, "f1": 0.8, "auroc": 0.9, "n": 20}
    return [
        {
            "latent": 7,
            "status": "scored",
            "explanation": 'fires on "<script>" & tags',
            "scores": {
                "detection": detection,
                "fuzzing": {"balanced_accuracy": 0.625, "f1": 0.5, "n": 16},
                "intervention": {"score": 0.4, "n": 5},
            },
            "failures": {"wrong_length": 2},
            "firing_count": 4242,
            "intervention": {"alpha": 3.5, "passages": [{"clean": "x <i>", "steered": "y"}]},
            "examples": [
                {"kind": "negative", "tokens": ["quiet", " day"], "acts": [0.0, 0.0]},
                {"kind": "top", "tokens": ["a", " <b>", "\n"], "acts": [0.0, 4.0, 2.0]},
                {"kind": "quantile", "tokens": ["x", " y"], "acts": [1.0, 0.0]},
            ],
        },
        {
            "latent": 2,
            "status": "dead",
            "explanation": None,
            "scores": {},
            "failures": {},
            "examples": [],
        },
        {
            "latent": 11,
            "status": "explain_failed",
            "explanation": None,
            "scores": {},
            "failures": {"unparsable": 1},
            "examples": [{"kind": "top", "tokens": ["z"], "acts": [3.0]}],
        },
    ]


def _record(sae="resid-topk-16", evaluator="autointerp", created="2026-12-01T10:00:00+00:00"):
    return EvalRecord(
        key=f"key-{sae}-{evaluator}-{created[11:13]}",
        evaluator=EvaluatorInfo(
            name=evaluator,
            version="1",
            config={},
            config_hash="c0ffee",
            main_metric="detection_balanced_accuracy",
            higher_is_better={"detection_balanced_accuracy": True},
        ),
        sae=SaeInfo(
            uri=f"zoo:{sae}",
            name=sae,
            architecture="topk",
            hook_name="blocks.1.hook_resid_post",
            d_in=32,
            d_sae=64,
            weights_hash="abc",
            metadata={},
        ),
        model=ModelInfo(name="zoo", dtype="float32"),
        metrics={"detection_balanced_accuracy": 0.75},
        details={
            "intervention_mode": "choice",
            "llm": {"requests": 12, "cache_hits": 0, "failures": {"timeout": 1}},
            "latents": _latents(),
        },
        provenance=Provenance(
            saebench_version="0",
            git_commit=None,
            packages={},
            python="3.11",
            device="cpu",
            created_at=created,
        ),
    )


def test_the_page_holds_every_latent_escaped_and_shaded(tmp_path):
    write_record(tmp_path, _record())
    [record] = load_records(tmp_path)
    page = render_html(record)
    for latent in (2, 7, 11):
        assert f'id="latent-{latent}"' in page
    assert page.index('id="latent-2"') < page.index('id="latent-7"') < page.index('id="latent-11"')
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; tags" in page
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert "http" not in page.lower().replace('lang="en"', "")  # nothing fetched from the net
    # shading is activation / the latent's largest activation (4.0 for latent 7)
    strengths = [float(s) for s in re.findall(r"rgba\(255, 120, 0, ([0-9.]+)\)", page)]
    assert strengths == [1.0, 0.5, 0.25, 1.0]  # top (4, 2), then quantile (1), latent 11 (3/3)
    section = page[page.index('id="latent-7"') : page.index('id="latent-11"')]
    assert (
        section.index('"kind">top')
        < section.index('"kind">quantile')
        < section.index('"kind">negative')
    )
    assert "0.750" in section and "0.625" in section and "wrong_length" in section
    assert "\u21b5" in section  # a newline token is shown, not swallowed
    assert "4242" in section and "3.500" in section and "x &lt;i&gt;" in section
    assert "choice" in page  # the intervention mode


def test_summary_rows_one_per_latent():
    rows = summary_rows(_record())
    assert [r["latent"] for r in rows] == [2, 7, 11]
    assert rows[1] == {
        "latent": 7,
        "status": "scored",
        "detection": 0.75,
        "fuzzing": 0.625,
        "intervention": 0.4,
        "explanation": 'fires on "<script>" & tags',
    }
    assert rows[0]["detection"] is None and rows[0]["explanation"] == ""
    long = _record()
    long.details["latents"][0]["explanation"] = "word " * 40
    assert len(summary_rows(long)[1]["explanation"]) == 60


def test_the_newest_record_of_the_sae_is_chosen(tmp_path):
    write_record(tmp_path, _record(created="2026-12-01T09:00:00+00:00"))
    newest = _record(created="2026-12-01T11:00:00+00:00")
    write_record(tmp_path, newest)
    write_record(tmp_path, _record(sae="other-sae"))
    assert find_autointerp_record(tmp_path, "resid-topk-16").key == newest.key
    assert find_autointerp_record(tmp_path, "zoo:other-sae").sae.name == "other-sae"


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(SaebenchError, match="no such results folder"):
        find_autointerp_record(tmp_path / "missing", "x")
    write_record(tmp_path, _record(evaluator="sparsity"))
    with pytest.raises(SaebenchError, match="no autointerp records"):
        find_autointerp_record(tmp_path, "resid-topk-16")
    write_record(tmp_path, _record(sae="alpha"))
    write_record(tmp_path, _record(sae="beta"))
    with pytest.raises(SaebenchError, match="SAEs with one: alpha, beta"):
        find_autointerp_record(tmp_path, "resid-topk-16")


def test_write_is_atomic_and_the_command_prints_a_summary(tmp_path):
    write_record(tmp_path, _record())
    path = write_viewer(find_autointerp_record(tmp_path, "resid-topk-16"), tmp_path / "v.html")
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    out = tmp_path / "page.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "saebench.cli.main",
            "autointerp",
            "show",
            str(tmp_path),
            "--sae",
            "resid-topk-16",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(
        re.match(r"\|\s+7\s+\|\s+scored\s+\|\s+0.750\s+\|\s+0.625\s+\|\s+0.400", line)
        for line in lines
    )
    assert out.exists() and f"wrote {out}" in done.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "saebench.cli.main",
            "autointerp",
            "show",
            str(tmp_path),
            "--sae",
            "nope",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "SAEs with one: resid-topk-16" in missing.stderr
