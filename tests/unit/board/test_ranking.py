"""Tables that rank only what they can tell apart (issue 17 part 3) and rows from the records'
roles (issue 16 part 4): intervals in every cell, ties sharing a rank, bold only a separated
best, controls after their SAE, references as records, and notes with config, sample sizes
and nulls. Records made by hand, so every expected cell is known."""

import io
import random

import pandas as pd
import pytest
from board_factory import control, estimated, make_record, ravel, recon, reference, sparsity

from saebench.errors import SaebenchWarning
from saebench.results.board.render import csv_text, display_rows, markdown_tables, terminal_tables
from saebench.results.board.tables import board_tables, estimate, tie_groups
from saebench.results.leaderboard import leaderboard, table_text

RESID = "blocks.1.hook_resid_post"
DIS = {"main": "disentanglement", "higher": {"disentanglement": True}}
ACC = {"main": "accuracy", "higher": {"accuracy": True}}


def scored(sae, value, low, high, **kw):
    record = make_record(sae, "ravel", {"disentanglement": value}, **DIS, task=True, **kw)
    return estimated(record, low, high, unit="pairs", n=32)


def cells_by_name(board, section=0):
    header, rows = display_rows(board.sections[section], board.columns)
    return {row[1]: dict(zip(header, row, strict=True)) for row in rows}


# -- intervals and ranks ------------------------------------------------------------------------
def test_each_cell_shows_the_value_with_its_interval():
    assert estimate(0.91234, 0.891, 0.933) == "0.912 ±0.021"
    assert estimate(131.4, 128.2, 134.6) == "131 ±3"  # one digit of a half-width from 3 up
    assert estimate(131.4, 129.9, 132.9) == "131.4 ±1.5"
    assert estimate(0.98, 0.90, 1.0) == "0.98 [0.90, 1.00]"  # lopsided: both bounds
    assert estimate(16.0) == "16" and estimate(None) == "—"
    board = board_tables([scored("a", 0.91234, 0.891, 0.933)])
    assert cells_by_name(board)["a"]["ravel.disentanglement ↑"] == "0.912 ±0.021"


def test_overlapping_intervals_share_a_rank_and_ranks_skip_after_a_tie():
    records = [
        scored("a", 0.90, 0.86, 0.94),
        scored("b", 0.88, 0.85, 0.91),  # overlaps a: tied for first
        scored("c", 0.70, 0.68, 0.72),  # apart from both
        scored("d", 0.50, 0.45, 0.55),
        scored("e", 0.52, 0.50, 0.54),  # overlaps d: d and e tied (e leads: better value)
    ]
    frame = board_tables(records).sections[0].frame
    assert list(zip(frame["sae"], frame["rank"], strict=True)) == [
        ("a", "1="), ("b", "1="), ("c", "3"), ("e", "4="), ("d", "4="),
    ]  # fmt: skip


def test_the_rule_by_hand():
    items = [(0, 1.0, (0.9, 1.1)), (1, 0.8, (0.75, 0.95)), (2, 0.7, (0.65, 0.85))]
    # 1 overlaps the leader 0; 2 overlaps 1 but not 0: it leads the next group
    assert tie_groups(items, higher=True) == {0: (1, True), 1: (1, True), 2: (3, False)}
    assert tie_groups(items, higher=False)[2] == (1, True)  # lower is better: 2 leads


def test_bold_only_a_separated_best():
    tied = board_tables([scored("a", 0.90, 0.86, 0.94), scored("b", 0.88, 0.85, 0.91)])
    assert not any("**" in row["ravel.disentanglement ↑"] for row in cells_by_name(tied).values())
    assert tied.sections[0].best(tied.columns[0]) is None
    apart = board_tables([scored("a", 0.90, 0.88, 0.92), scored("b", 0.80, 0.78, 0.82)])
    assert cells_by_name(apart)["a"]["ravel.disentanglement ↑"] == "**0.900 ±0.020**"
    # two equal values without intervals are a tie too
    equal = board_tables([recon("a", 0.9, 0.1), recon("b", 0.9, 0.2)])
    assert equal.sections[0].frame["rank"].tolist() == ["1=", "1="]
    assert equal.sections[0].best(equal.columns[0]) is None


# -- rows from roles ------------------------------------------------------------------------------
def test_controls_follow_their_sae_and_an_sae_near_its_control_is_marked():
    records = [
        scored("a", 0.90, 0.86, 0.94),
        scored("b", 0.60, 0.55, 0.65),
        control("b", "b~permuted", "ravel", 0.58, **DIS, task=True),  # inside b's interval
        control("a", "a~permuted", "ravel", 0.30, **DIS, task=True),
    ]
    estimated(records[2], 0.50, 0.66, unit="pairs", n=32)
    estimated(records[3], 0.25, 0.35, unit="pairs", n=32)
    board = board_tables(records)
    frame = board.sections[0].frame
    assert frame["sae"].tolist() == ["a", "a~permuted", "b", "b~permuted"]
    assert frame["kind"].tolist() == ["sae", "control", "sae", "control"]
    assert frame["rank"].tolist() == ["1", "", "2", ""]  # controls are not ranked
    cells = cells_by_name(board)
    assert cells["b"]["ravel.disentanglement ↑"].endswith(" ≈ctrl")
    assert "≈ctrl" not in cells["a"]["ravel.disentanglement ↑"]
    text = terminal_tables(board)
    assert "↳ ~permuted" in text and "0.60 ±0.05≈" in text


def test_references_are_records_with_the_evaluators_own_metric_names():
    records = [
        scored("a", 0.70, 0.66, 0.74, hook=RESID),
        scored("b", 0.50, 0.46, 0.54, hook=RESID),
        reference("ravel", "das", 0.95, **DIS, task=True),
        reference("ravel", "pca", 0.40, **DIS, task=True),
    ]
    board = board_tables(records)
    frame = board.sections[0].frame
    assert frame["sae"].tolist() == ["a", "b", "das (ravel reference)", "pca (ravel reference)"]
    assert frame["kind"].tolist() == ["sae", "sae", "reference", "reference"]
    # DAS is higher than every SAE yet neither ranked nor bold: a yardstick, not an entrant
    assert frame["rank"].tolist() == ["1", "2", "", ""]
    assert cells_by_name(board)["a"]["ravel.disentanglement ↑"] == "**0.70 ±0.04**"
    assert "disentanglement_das" not in board.full  # no metric-name suffixes


def test_old_records_still_show_their_suffixed_references(records):
    """Schema-2 records (the fixtures, the committed zoo board) keep their reference rows."""
    resid = next(s for s in board_tables(records).sections if s.hook == RESID).frame
    refs = resid[resid["kind"] == "reference"].set_index("sae")
    assert refs.loc["das (ravel reference)", "ravel.disentanglement"] == 0.9


# -- notes: config, sample sizes, intervals, nulls -----------------------------------------------
def test_every_table_says_config_sample_sizes_interval_and_null():
    a = estimated(
        make_record("a", "probe", {"accuracy": 0.81}, **ACC, config={"k": 1, "rows": 120}),
        0.76, 0.86, unit="test_rows", n=120, method="wilson", null=0.5,
    )  # fmt: skip
    board = board_tables([a])
    (note,) = board.sections[0].notes
    line = note.line()
    assert "probe.accuracy ↑" in line and f"config {a.evaluator.config_hash[:8]}" in line
    assert "120 test_rows" in line and "95% wilson over test_rows" in line
    assert "null 0.5" in line
    markdown = markdown_tables(board)
    assert "config: k=1, rows=120" in markdown and "null 0.5" in markdown
    assert "null 0.5" in terminal_tables(board)
    frame = pd.read_csv(io.StringIO(csv_text(board)))
    row = frame.iloc[0]
    assert (row["probe.accuracy_low"], row["probe.accuracy_high"]) == (0.76, 0.86)
    assert row["probe.accuracy_null"] == 0.5 and row["probe.n_test_rows"] == 120


def test_nulls_that_differ_per_sae_are_given_as_a_range():
    records = [
        estimated(make_record(s, "probe", {"accuracy": v}, **ACC), v - 0.02, v + 0.02, null=n)
        for s, v, n in (("a", 0.8, 0.48), ("b", 0.7, 0.52))
    ]
    (note,) = board_tables(records).sections[0].notes
    assert "null 0.48–0.52" in note.line()


# -- one builder, and a table that fits the terminal ---------------------------------------------
def quickstart_like(seed=0):
    """Eleven SAEs, six evaluators with intervals, two controls of one SAE and the reference
    methods as records: the shape of the quickstart's records."""
    rng = random.Random(seed)
    names = [
        "resid-topk-8", "resid-topk-16", "resid-topk-32", "resid-relu", "resid-gated",
        "resid-jumprelu", "resid-batchtopk", "resid-matryoshka", "resid-random", "resid-pca",
        "resid-neurons",
    ]  # fmt: skip
    specs = {
        "mdl": ("description_length_bits_per_token", False, 130.0, 3.1, "contexts"),
        "ravel": ("disentanglement", True, 0.8, 0.06, "pairs"),
        "reconstruction": ("ce_loss_score", True, 0.99, 0.004, "contexts"),
        "sparse_probing": ("sae_accuracy_k1", True, 0.5, 0.03, "test_rows"),
        "sparsity": ("l0", None, 16.0, 0.3, "contexts"),
        "supervised": ("edit_accuracy_aware", True, 0.1, 0.05, "pairs"),
    }
    records = []
    for evaluator, (metric, higher, centre, half, unit) in specs.items():
        spec = {"main": metric, "higher": {metric: higher}}
        controls = ["resid-topk-16~permuted_decoder", "resid-topk-16~matched_l0_random"]
        for name in names + controls:
            value = centre * rng.uniform(0.7, 1.3)
            if name in controls:
                record = control("resid-topk-16", name, evaluator, value, **spec, hook=RESID)
            else:
                record = make_record(name, evaluator, {metric: value}, **spec, hook=RESID)
            records.append(estimated(record, value - half, value + half, unit=unit, n=64))
        if evaluator in ("ravel", "supervised"):
            for method in ("neurons", "pca", "das" if evaluator == "ravel" else "random"):
                records.append(reference(evaluator, method, centre, **spec, task=True))
    return records


def headers(text):
    return [line for line in text.splitlines() if line.split()[:2] == ["#", "sae"]]


def test_the_quickstart_shaped_table_fits_120_columns_in_one_table():
    text = table_text(quickstart_like())
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 120, max(widths)
    (header,) = headers(text)  # one table: every evaluator in one header
    for evaluator in ("mdl", "ravel", "reconstruction", "sparse_probing", "sparsity"):
        assert evaluator in header
    assert "nan" not in text and "raw_accuracy_full" not in text


def test_a_board_too_wide_for_the_terminal_is_split_not_cut():
    records = quickstart_like()
    for i, record in enumerate(records[:13]):  # ten more evaluators for the first rows
        for j in range(10):
            extra = make_record(record.sae.name, f"extra_evaluator_{j}", {"m": float(i)},
                                main="m", higher={"m": True}, hook=RESID)  # fmt: skip
            records.append(extra)
    text = table_text(records)
    assert max(len(line) for line in text.splitlines()) <= 120
    assert len(headers(text)) >= 2  # the names repeat in each part


def test_eval_run_and_show_print_the_one_builders_table(records):
    """`saebench eval`, `run` and the quickstart print :func:`table_text`, which is the
    board's terminal rendering: the same rows, ranks and notes as the README."""
    board = board_tables(records)
    assert table_text(records) == terminal_tables(board).rstrip("\n")
    frame = leaderboard(records)
    assert frame["sae"].tolist() == board.full["sae"].tolist()
    assert [c for c in frame.columns if "." in c and not c.endswith(("_low", "_high"))] == [
        c.name for c in board.columns
    ]


def test_leaderboard_show_prints_the_table(records, tmp_path, capsys):
    from saebench.cli.main import main
    from saebench.records import write_record

    for record in records:
        write_record(tmp_path, record)
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", "show", str(tmp_path)])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "ranked by ravel.disentanglement ↑" in out and "reconstruction ↑" in out


def test_sparsity_stays_unranked_and_unmarked():
    board = board_tables([sparsity("a", 10.0), sparsity("b", 20.0)])
    assert board.sections[0].frame["rank"].tolist() == ["", ""]
    assert "not ranked" in markdown_tables(board)


def test_old_suffix_records_with_intervals_absent_still_render(records):
    text = table_text(records + [ravel("z", 0.1, 0.2, 0.3, hook=RESID)])
    assert "das (ravel ref)" in text


def test_the_quickstart_prints_and_reports_one_column_per_evaluator(tmp_path, monkeypatch, capsys):
    """The quickstart's terminal table and report.md, from hand-made records (the suite's
    run replaced): one column per evaluator with its interval, 120 columns at most."""
    import saebench.run.suites
    from saebench import quickstart
    from saebench.quickstart import run_quickstart

    records = quickstart_like()
    monkeypatch.setattr(saebench.run.suites, "run_suite", lambda *args, **kwargs: records)
    monkeypatch.setattr(quickstart, "embedding_suite", lambda: None)  # the zoo's part only
    report = run_quickstart(tmp_path, progress=False).read_text()
    out = capsys.readouterr().out
    table = out.split("\nskipped")[0].split("\nreport:")[0]
    assert max(len(line) for line in table.splitlines()) <= 120
    (header,) = headers(table)
    assert header.split()[2:] == [
        "mdl", "↓", "ravel", "↑", "reconstruction", "↑", "sparse_probing", "↑", "sparsity",
        "supervised", "↑",
    ]  # fmt: skip
    assert "nan" not in out and " ±" in table
    assert (
        "| # | sae | kind | architecture | d_sae | mdl.description_length_bits_per_token ↓ |"
        in (report)
    )
    assert "config: seed=0" in report and "≈ctrl" in report


def test_a_control_of_an_sae_with_two_settings_is_shown_once():
    records = [
        scored("a", 0.9, 0.88, 0.92, config={"seed": 0}),
        scored("a", 0.8, 0.78, 0.82, config={"seed": 1}),
        control("a", "a~permuted", "ravel", 0.3, **DIS, task=True),
    ]
    with pytest.warns(SaebenchWarning, match="several settings"):
        frame = board_tables(records).sections[0].frame
    assert frame["sae"].tolist().count("a~permuted") == 1


def test_a_variant_of_a_method_is_named_under_the_table():
    from board_factory import ravel

    from saebench.results.board.notes import section_notes
    from saebench.results.board.tables import board_tables

    record = ravel("a", 0.9, 0.7, 0.95)
    record.details["variant"] = "position=last: not RAVEL's position (the entity's last token)"
    board = board_tables([record])
    lines = [n.line() for n in section_notes([record], board.columns)]
    assert any("not RAVEL's position" in line for line in lines)
    plain = ravel("b", 0.9, 0.7, 0.95)
    plain.details["variant"] = "ravel"  # the method itself: nothing to say
    assert all("position" not in n.line() for n in section_notes([plain], board.columns))
