import json
from pathlib import Path

import pytest
from board_factory import ravel, recon

from saebench.cli.main import main
from saebench.errors import SaebenchError
from saebench.records import EvalRecord, write_record
from saebench.results.board.build import build_board
from saebench.results.board.publish import check_board, publish_board


@pytest.fixture
def board(tmp_path):
    """A small board (no sparsity records, so no plots: fast), one record per evaluator kind:
    a streamed one (reconstruction) and a task one (ravel)."""
    results = tmp_path / "results"
    for record in (recon("a", 0.9, 0.1), recon("b", 0.8, 0.2), ravel("a", 0.6, 0.5, 0.9)):
        write_record(results, record)
    return build_board(results, "demo", tmp_path / "boards")


def edit(board: Path, sae: str, evaluator: str, change, rekey=True) -> str:
    """Change one record in the board's records/ (recomputing its key unless told not to)
    and reseal it (as a forger who recomputes the content hash would, so each check is seen
    on its own); returns its file name."""
    path = next((board / "records").glob(f"{sae}__{evaluator}__*.json"))
    record = EvalRecord.model_validate_json(path.read_text())
    change(record)
    if rekey:
        record.key = record.expected_key()
    path.write_text(record.sealed().model_dump_json(indent=2) + "\n")
    return path.name


def set_config(record):
    record.evaluator.config = {"seed": 7}
    from saebench.identity import stable_hash

    record.evaluator.config_hash = stable_hash({"seed": 7})


CASES = {
    "provenance.saebench_version": (
        "reconstruction",
        lambda r: setattr(r.provenance, "saebench_version", ""),
    ),
    "provenance.git_commit": (
        "reconstruction",
        lambda r: setattr(r.provenance, "git_commit", None),
    ),
    "provenance.packages": ("reconstruction", lambda r: setattr(r.provenance, "packages", {})),
    "model.revision": ("reconstruction", lambda r: setattr(r.model, "revision", None)),
    "model.weights_hash": ("reconstruction", lambda r: setattr(r.model, "weights_hash", None)),
    "dataset.fingerprint": ("reconstruction", lambda r: setattr(r.dataset, "fingerprint", "")),
    "task.fingerprint": ("ravel", lambda r: setattr(r.task, "fingerprint", "unknown")),
    "evaluator.config_hash": (
        "reconstruction",
        lambda r: setattr(r.evaluator, "config_hash", "0" * 16),
    ),
    "sae.weights_hash": ("reconstruction", lambda r: setattr(r.sae, "weights_hash", "")),
    "details.saebench_import": (
        "reconstruction",
        lambda r: r.details.update(saebench_import={"file": "x.json"}),
    ),
}


def test_a_clean_board_is_published_with_a_manifest(board):
    assert check_board(board) == []
    manifest = json.loads(publish_board(board).read_text())
    assert manifest["records"] == 3
    assert set(manifest["files"]) >= {"README.md", "index.html", "leaderboard.csv"}
    assert all(len(h) == 64 for h in manifest["files"].values())
    first = (board / "PUBLISHED.json").read_bytes()
    publish_board(board)
    assert (board / "PUBLISHED.json").read_bytes() == first  # no date: publishing is stable


@pytest.mark.parametrize("field", sorted(CASES))
def test_one_refusal_per_missing_field_naming_record_and_field(board, field):
    evaluator, change = CASES[field]
    name = edit(board, "a", evaluator, change)
    lines = check_board(board)
    about_records = [line for line in lines if line.split(": ", 1)[0].endswith(".json")]
    assert len(about_records) == 1 and about_records[0].startswith(f"{name}: {field}: ")
    # anything else is a table a rebuild would draw differently (a model hash splits rows)
    assert all(": file: " in line for line in lines if line not in about_records)


def test_a_dirty_commit_is_refused(board):
    name = edit(
        board, "b", "reconstruction", lambda r: setattr(r.provenance, "git_commit", "abc+dirty")
    )
    assert check_board(board) == [f"{name}: provenance.git_commit: abc+dirty: uncommitted changes"]


def test_a_key_that_no_longer_matches_the_content(board):
    name = edit(board, "b", "reconstruction", set_config, rekey=False)
    line, *others = check_board(board)
    assert line.startswith(f"{name}: key: ") and "content gives" in line
    # the tables name each column's config, so they differ from a rebuild too
    assert all(": file: differs" in other for other in others)


def test_tables_that_differ_from_a_rebuild(board):
    with (board / "README.md").open("a") as f:
        f.write("hand edit\n")
    (board / "leaderboard.csv").unlink()
    assert check_board(board) == [
        "README.md: file: differs from a rebuild of records/; rebuild it",
        "leaderboard.csv: file: missing; rebuild with `saebench leaderboard build`",
    ]


def test_a_changed_metric_shows_as_tables_differing(board):
    edit(board, "b", "reconstruction", lambda r: r.metrics.update(ce_loss_score=0.99))
    lines = check_board(board)
    assert "README.md: file: differs from a rebuild of records/; rebuild it" in lines


def test_the_cli_prints_one_line_each_and_exits_2_with_the_count(board, capsys):
    edit(board, "a", "reconstruction", lambda r: setattr(r.model, "revision", None))
    edit(board, "b", "reconstruction", lambda r: setattr(r.provenance, "packages", {}))
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", "publish", str(board)])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert len(out.strip().splitlines()) == 2
    assert "error: publish refused: 2 problem(s)" in err
    assert not (board / "PUBLISHED.json").exists()


def test_no_records_folder(tmp_path):
    with pytest.raises(SaebenchError, match="no records/ folder"):
        check_board(tmp_path)


def test_the_cli_publishes_a_clean_board(board, capsys):
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", "publish", str(board)])
    assert done.value.code == 0
    assert "ready to commit" in capsys.readouterr().out
    assert (board / "PUBLISHED.json").is_file()
