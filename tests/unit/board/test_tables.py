import io

import pandas as pd
import pytest
from board_factory import make_record, ravel, recon, sparsity

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.results.board.render import csv_text, display_rows, markdown_tables
from saebench.results.board.tables import board_tables

RESID, MLP = "blocks.1.hook_resid_post", "blocks.0.hook_mlp_out"


def section(board, hook):
    return next(s for s in board.sections if s.hook == hook)


def test_one_section_per_model_and_hook_saes_then_references(records):
    board = board_tables(records)
    assert [(s.model, s.hook) for s in board.sections] == [("toy", MLP), ("toy", RESID)]
    resid = section(board, RESID).frame
    assert resid["kind"].tolist() == ["sae"] * 3 + ["reference"] * 2
    # SAEs best first by a main metric with a direction (both have 3 values: ravel first)
    assert resid["sae"].tolist()[:3] == ["resid-b", "resid-a", "resid-c"]
    assert section(board, MLP).frame["sae"].tolist() == ["mlp-a", "mlp-b"]


def test_columns_and_directions_come_from_the_records(records):
    extra = make_record(
        "mlp-a",
        "novel",
        {"loss_bits": 3.0},
        main="loss_bits",
        higher={"loss_bits": False},
        hook=MLP,
    )
    board = board_tables([*records, extra])
    assert [(c.name, c.arrow) for c in board.columns] == [
        ("novel.loss_bits", "↓"),
        ("ravel.disentanglement", "↑"),
        ("reconstruction.ce_loss_score", "↑"),
        ("sparsity.l0", ""),
    ]


def test_references_are_rows_of_their_own_and_never_marked_best(records):
    board = board_tables(records)
    resid = section(board, RESID)
    refs = resid.frame[resid.frame["kind"] == "reference"].set_index("sae")
    assert refs.loc["das (ravel reference)", "ravel.disentanglement"] == 0.9
    assert refs.loc["neurons (ravel reference)", "ravel.disentanglement"] == 0.55
    # one row per reference although three SAE records each reported it
    assert len(refs) == 2
    column = next(c for c in board.columns if c.name == "ravel.disentanglement")
    assert resid.best(column) == 0.7  # the DAS skyline (0.9) does not compete
    _, rows = display_rows(resid, board.columns)
    das = next(r for r in rows if r[1] == "das (ravel reference)")
    assert "**" not in "".join(das)


def test_best_marked_per_direction():
    lower = {"bits": False}
    records = [
        make_record("a", "mdl", {"bits": 5.0}, main="bits", higher=lower),
        make_record("b", "mdl", {"bits": 3.0}, main="bits", higher=lower),
        make_record("c", "mdl", {"bits": 4.0}, main="bits", higher=lower),
        recon("a", 0.90, 0.1),
        recon("b", 0.80, 0.1),
        recon("c", 0.95, 0.1),
        sparsity("a", 10.0),
        sparsity("b", 20.0),
        sparsity("c", 30.0),
    ]
    board = board_tables(records)
    header, rows = display_rows(board.sections[0], board.columns)
    cells = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert cells["b"]["mdl.bits ↓"] == "**3**" and cells["a"]["mdl.bits ↓"] == "5"
    assert cells["c"]["reconstruction.ce_loss_score ↑"] == "**0.95**"
    assert cells["b"]["reconstruction.ce_loss_score ↑"] == "0.8"
    # no direction, nothing marked
    assert not any("**" in row["sparsity.l0"] for row in cells.values())


def test_a_reference_under_two_settings_is_two_labelled_rows():
    records = [
        ravel("a", 0.6, 0.5, 0.9, config={"seed": 0}),
        ravel("b", 0.7, 0.5, 0.9, config={"seed": 0}),
        ravel("a", 0.6, 0.4, 0.9, config={"seed": 1}),
    ]
    with pytest.warns(SaebenchWarning, match="several settings"):
        board = board_tables(records)
    frame = board.sections[0].frame
    neurons = frame[frame["sae"] == "neurons (ravel reference)"]
    assert sorted(neurons["ravel.disentanglement"]) == [0.4, 0.5]
    assert neurons["variant"].str.startswith("config ").all()
    # DAS gave the same value under both settings: one row
    assert (frame["sae"] == "das (ravel reference)").sum() == 1


def test_markdown_has_headings_arrows_and_bold_best(records):
    text = markdown_tables(board_tables(records))
    assert "### toy · `blocks.1.hook_resid_post`" in text
    assert "| reconstruction.ce_loss_score ↑ |" in text.replace(" | sparsity.l0", " |")
    resid_b = next(line for line in text.splitlines() if line.startswith("| 1 | resid-b "))
    assert resid_b.count("**") == 4  # best RAVEL score and best CE score


def test_csv_has_every_row_and_metric_at_full_precision(records):
    records[0].metrics["ce_loss_score"] = 0.123456789012
    frame = pd.read_csv(io.StringIO(csv_text(board_tables(records))))
    assert len(frame) == 5 + 2
    assert "reconstruction.mse" in frame and "sparsity.l1" in frame  # not only main metrics
    row = frame[frame["sae"] == records[0].sae.name].iloc[0]
    assert row["reconstruction.ce_loss_score"] == 0.123456789012
    assert row["d_sae"] == 256 and row["hook"] == RESID  # records[0] is resid-a


def test_newest_copy_of_a_record_wins():
    old = recon("a", 0.5, 0.1, created_at="2026-01-01T00:00:00+00:00")
    new = old.model_copy(deep=True)
    new.metrics["ce_loss_score"] = 0.75
    new.provenance.created_at = "2026-02-01T00:00:00+00:00"
    board = board_tables([new, old])
    assert board.full["reconstruction.ce_loss_score"].tolist() == [0.75]


def test_no_records_is_an_error():
    with pytest.raises(SaebenchError, match="no records"):
        board_tables([])


def test_an_evaluator_skipped_for_every_sae_gets_no_column_and_its_reason_in_the_notes(records):
    skipped = [
        make_record(sae, "absorption", {"mean_absorption_fraction": None},
                    main="mean_absorption_fraction", higher={"mean_absorption_fraction": False},
                    hook=RESID).model_copy(
            update={"details": {"status": "skipped: the model does not know first letters"}})
        for sae in ("resid-a", "resid-b")
    ]  # fmt: skip
    board = board_tables(records + skipped)
    assert "absorption" not in {c.evaluator for c in board.columns}
    lines = [n.line() for n in section(board, RESID).notes]
    (line,) = [line for line in lines if line.startswith("absorption")]
    assert "every record skipped (2): the model does not know first letters" in line
    # one scored record keeps the column (the others show as missing)
    scored = skipped[0].model_copy(update={"metrics": {"mean_absorption_fraction": 0.3}})
    assert "absorption" in {c.evaluator for c in board_tables(records + [scored]).columns}
