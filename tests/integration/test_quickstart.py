"""The quickstart end to end on the shipped zoo (a reduced token budget)."""

import pytest

from saebench.cli.main import main
from saebench.records import load_records
from saebench.zoo.catalog import sae_names


def test_quickstart_writes_records_table_report_and_plot(tmp_path, capsys):
    if not sae_names():
        pytest.skip("no zoo SAEs; build them with python -m saebench.zoo.build_saes")
    with pytest.raises(SystemExit) as exit_info:
        main(["quickstart", "--out", str(tmp_path), "--tokens", "4096", "--quiet"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    records = load_records(tmp_path / "records")
    evaluators = {r.evaluator.name for r in records}
    assert {"reconstruction", "sparsity", "mdl"} <= evaluators
    assert {r.sae.name for r in records} == set(sae_names())
    assert all(r.dataset.n_tokens == 4096 for r in records)
    report = (tmp_path / "report.md").read_text()
    assert "resid-topk-16" in report and "l0_vs_ce_loss_score.png" in report
    assert (tmp_path / "l0_vs_ce_loss_score.png").read_bytes()[:4] == b"\x89PNG"
    # the table is sorted by the main metric of the first evaluator with a direction
    assert out.index("| sae") < out.index("resid-random")


def test_a_zoo_sae_alone_gets_the_records_it_got_beside_every_other(tmp_path, capsys):
    """The quickstart evaluates all zoo SAEs in one call; each alone gives the same keys and
    numbers (float32 forwards at another batch shape differ in the last bits)."""
    import saebench

    if not sae_names():
        pytest.skip("no zoo SAEs")
    with pytest.raises(SystemExit):
        main(["quickstart", "--out", str(tmp_path), "--tokens", "4096", "--quiet"])
    capsys.readouterr()
    together = {(r.sae.name, r.evaluator.name): r for r in load_records(tmp_path / "records")}
    for name in ("resid-relu", "transcoder-mlp"):
        alone = saebench.evaluate(
            f"zoo:{name}",
            model="zoo",
            dataset="zoo",
            evaluators=["reconstruction", "mdl"],
            n_tokens=4096,
            progress=False,
        )
        for record in alone:
            other = together[(name, record.evaluator.name)]
            assert other.key == record.key
            for metric, value in record.metrics.items():
                assert other.metrics[metric] == pytest.approx(value, rel=2e-5, abs=1e-7), metric
