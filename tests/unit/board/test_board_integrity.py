"""What a board must not vouch for or do (issue 18, items 5, 6, 7 and 9): edited or unsealed
records, a model name its weights contradict, user files in the target folder, HTML and
spreadsheet formulas from names, and a full disk halfway through a build."""

import errno
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from board_factory import recon

import saebench.results.board.build as build_module
from saebench.cli.main import main
from saebench.errors import SaebenchError, SaebenchWarning
from saebench.records import EvalRecord, load_records, write_record
from saebench.results.board.build import build_board
from saebench.results.board.publish import check_board, record_problems

HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"


def _results(tmp_path: Path, *records) -> Path:
    folder = tmp_path / "results"
    for record in records or (recon("a", 0.9, 0.1), recon("b", 0.8, 0.2)):
        write_record(folder, record)
    return folder


def _edit_file(path: Path, change) -> None:
    """Change a stored record by hand, recomputing its key (as a careful editor would) but
    not its content hash."""
    record = EvalRecord.model_validate_json(path.read_text())
    change(record)
    record.key = record.expected_key()
    path.write_text(record.model_dump_json(indent=2) + "\n")


# -- 5: publish and build check each record's content hash -------------------------------------
def test_publish_refuses_an_edited_metric(tmp_path):
    board = build_board(_results(tmp_path), "demo", tmp_path / "boards")
    path = next((board / "records").glob("b__*.json"))
    _edit_file(path, lambda r: r.metrics.update(ce_loss_score=0.99))
    lines = check_board(board)
    assert any(line.startswith(f"{path.name}: content_hash: ") for line in lines), lines


def test_publish_refuses_a_record_with_no_content_hash_and_says_how_to_regenerate():
    record = recon("a", 0.9, 0.1)  # made by hand, never sealed: like a schema-2 record
    problems = dict(record_problems(record))
    assert "content_hash" in problems
    assert "rerun" in problems["content_hash"]
    assert record_problems(record.sealed()) == []


def test_build_warns_for_each_edited_record_and_leaves_it_out(tmp_path):
    results = _results(tmp_path)
    path = next(results.glob("b__*.json"))
    _edit_file(path, lambda r: r.metrics.update(ce_loss_score=0.99))
    with pytest.warns(SaebenchWarning, match=f"{path.name}.*content hash"):
        board = build_board(results, "demo", tmp_path / "boards")
    assert [r.sae.name for r in load_records(board / "records")] == ["a"]


@pytest.mark.parametrize("claimed", ["gpt2", "saebench-zoo", "zoo"])
def test_a_model_name_its_weights_contradict_is_refused(claimed):
    from saebench.results.board.publish import known_model_hashes

    zoo_hash = known_model_hashes("float32")["saebench-zoo"]
    record = recon("a", 0.9, 0.1, model=claimed)
    # gpt2 with the zoo's weights; the zoo with weights that are not the zoo's
    record.model.weights_hash = zoo_hash if claimed == "gpt2" else "f" * 16
    record.model.revision = "zoo-1"
    record.key = record.expected_key()
    fields = dict(record_problems(record.sealed()))
    assert "model.weights_hash" in fields, fields


def test_the_zoo_under_its_own_name_and_weights_passes():
    from saebench.results.board.publish import known_model_hashes

    record = recon("a", 0.9, 0.1, model="saebench-zoo")
    record.model.weights_hash = known_model_hashes("float32")["saebench-zoo"]
    record.model.revision = "zoo-1"
    record.key = record.expected_key()
    assert record_problems(record.sealed()) == []


# -- 6: a build never deletes what it did not write ---------------------------------------------
def test_a_rebuild_keeps_the_users_files(tmp_path):
    results = _results(tmp_path)
    board = build_board(results, "demo", tmp_path / "boards")
    (board / "records" / "precious.txt").write_text("mine")
    (board / "plots").mkdir(exist_ok=True)
    (board / "plots" / "keep.png").write_bytes(b"mine")
    build_board(results, "demo", tmp_path / "boards")
    assert (board / "records" / "precious.txt").read_text() == "mine"
    assert (board / "plots" / "keep.png").read_bytes() == b"mine"


def test_a_folder_that_is_not_a_board_is_refused_untouched(tmp_path):
    results = _results(tmp_path)
    target = tmp_path / "boards" / "demo"
    (target / "records").mkdir(parents=True)
    (target / "records" / "precious.txt").write_text("mine")
    (target / "README.md").write_text("my own readme")
    with pytest.raises(SaebenchError, match="not a leaderboard"):
        build_board(results, "demo", tmp_path / "boards")
    assert (target / "README.md").read_text() == "my own readme"
    assert (target / "records" / "precious.txt").read_text() == "mine"


def test_an_empty_folder_may_become_a_board(tmp_path):
    (tmp_path / "boards" / "demo").mkdir(parents=True)
    board = build_board(_results(tmp_path), "demo", tmp_path / "boards")
    assert (board / "index.html").is_file()


# -- 7: names are text, never HTML or formulas ---------------------------------------------------
def _hostile_records():
    record = recon(HOSTILE, 0.9, 0.1, architecture=HOSTILE, hook=HOSTILE, model=HOSTILE)
    formula = recon('=HYPERLINK("http://evil","x")', 0.8, 0.2, architecture="+cmd|' /C calc'!A0")
    return [record, formula]


def test_the_readme_carries_no_raw_html_from_names(tmp_path):
    board = build_board(_results(tmp_path, *_hostile_records()), "demo", tmp_path / "boards")
    readme = (board / "README.md").read_text()
    assert "<img" not in readme and "<script" not in readme and "</script" not in readme
    assert "&lt;img src=x onerror=alert(1)&gt;" in readme


def test_the_csv_neutralises_spreadsheet_formulas_and_keeps_numbers(tmp_path):
    board = build_board(_results(tmp_path, *_hostile_records()), "demo", tmp_path / "boards")
    text = (board / "leaderboard.csv").read_text()
    frame = pd.read_csv(io.StringIO(text))
    for column in frame.select_dtypes(include="object"):
        for cell in frame[column].dropna().astype(str):
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (column, cell)
    assert "'=HYPERLINK" in text
    assert sorted(frame["reconstruction.ce_loss_score"]) == [0.8, 0.9]  # still numbers


# -- 9: a full disk ends in one line, and leaves the old board or none --------------------------
def _full_disk_after(monkeypatch, n_ok: int):
    real = build_module.atomic_write_text
    calls = {"n": 0}

    def write(path, text):
        calls["n"] += 1
        if calls["n"] > n_ok:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(build_module, "atomic_write_text", write)


def test_a_full_disk_leaves_no_half_built_board(tmp_path, monkeypatch):
    results = _results(tmp_path)
    _full_disk_after(monkeypatch, 1)  # one record written, then the disk is full
    with pytest.raises(SaebenchError, match="no space left"):
        build_board(results, "demo", tmp_path / "boards")
    assert list((tmp_path / "boards").iterdir()) == []  # no board, no temporary folder


def test_a_full_disk_during_a_rebuild_keeps_the_old_board(tmp_path, monkeypatch):
    results = _results(tmp_path)
    board = build_board(results, "demo", tmp_path / "boards")
    before = {p: p.read_bytes() for p in board.rglob("*") if p.is_file()}
    write_record(results, recon("c", 0.7, 0.3))
    _full_disk_after(monkeypatch, 2)
    with pytest.raises(SaebenchError, match=str(tmp_path / "boards")):
        build_board(results, "demo", tmp_path / "boards")
    assert {p: p.read_bytes() for p in board.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in (tmp_path / "boards").iterdir()) == ["demo"]


def test_the_cli_says_one_line_and_exits_2_on_a_full_disk(tmp_path, monkeypatch, capsys):
    results = _results(tmp_path)
    _full_disk_after(monkeypatch, 0)
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", "build", str(results), "--name", "demo", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert str(tmp_path) in err and "free" in err


def test_a_record_write_on_a_full_disk_names_the_folder(tmp_path, monkeypatch):
    import saebench.files as files

    def full(self, text, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.Path, "write_text", full)
    with pytest.raises(SaebenchError, match=f"{tmp_path / 'out'}.*no space left") as caught:
        write_record(tmp_path / "out", recon("a", 0.9, 0.1))
    assert isinstance(caught.value, OSError)  # callers that catch OSError still do
    assert not [p for p in (tmp_path / "out").iterdir()]


def test_the_manifest_lists_only_what_the_build_wrote(tmp_path):
    board = build_board(_results(tmp_path), "demo", tmp_path / "boards")
    listed = set(json.loads((board / build_module.BUILT).read_text())["files"])
    on_disk = {p.relative_to(board).as_posix() for p in board.rglob("*") if p.is_file()}
    assert listed == on_disk - {build_module.BUILT}


def test_a_record_of_a_newer_schema_is_refused_by_publish(tmp_path):
    board = build_board(_results(tmp_path), "demo", tmp_path / "boards")
    path = next((board / "records").glob("b__*.json"))
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    lines = check_board(board)
    assert any(line.startswith(f"{path.name}: file: ") and "schema 99" in line for line in lines)


def test_a_user_file_where_the_build_would_write_is_refused_not_replaced(tmp_path):
    results = _results(tmp_path)
    board = build_board(results, "demo", tmp_path / "boards")
    write_record(results, recon("c", 0.7, 0.3))
    mine = board / "records" / next(results.glob("c__*.json")).name
    mine.write_text("my own file under the name the next build gives c's record")
    with pytest.raises(SaebenchError, match="not written by a build"):
        build_board(results, "demo", tmp_path / "boards")
    assert mine.read_text().startswith("my own file")
    assert not list((tmp_path / "boards").glob(".demo.building-*"))
