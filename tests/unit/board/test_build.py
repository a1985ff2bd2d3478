from pathlib import Path

import pytest
from board_factory import board_records, recon

from saebench.errors import SaebenchError
from saebench.records import load_records, write_record
from saebench.results.board.build import build_board, write_board


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    for record in board_records():
        write_record(folder, record)
    return folder


@pytest.fixture(scope="module")
def board(results, tmp_path_factory):
    """Built once for the module (plots take a few seconds); tests only read it."""
    return build_board(results, "demo", tmp_path_factory.mktemp("boards"))


def test_the_board_folder_has_every_part(board):
    files = set(tree(board))
    assert {"README.md", "leaderboard.csv", "index.html"} <= files
    assert {
        f"plots/l0_vs_{n}.png" for n in ("ce_loss_score", "fvu", "ravel_disentanglement")
    } <= files
    assert len([f for f in files if f.startswith("records/")]) == 13
    readme = (board / "README.md").read_text()
    assert "### toy · `blocks.0.hook_mlp_out`" in readme
    assert "![l0_vs_fvu](plots/l0_vs_fvu.png)" in readme


def test_building_twice_gives_byte_identical_files(board, tmp_path):
    """A second build, from the board's own records (what publish does), in another folder."""
    again = build_board(board / "records", "demo", tmp_path)
    assert tree(again) == tree(board)


def test_png_carries_no_software_or_date(board):
    png = (board / "plots" / "l0_vs_fvu.png").read_bytes()
    assert png[:4] == b"\x89PNG" and b"matplotlib" not in png and b"Software" not in png


def test_html_opens_with_no_network(board):
    page = (board / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    for src in page.split('<img src="')[1:]:
        assert (board / src.split('"')[0]).is_file()
    assert page.count('<table class="board">') == 2
    assert 'data-col="reconstruction.ce_loss_score" data-higher="1"' in page
    assert 'class="reference"' in page


def test_a_rebuild_replaces_what_the_last_build_wrote(tmp_path):
    results = tmp_path / "results"
    write_record(results, recon("a", 0.9, 0.1))  # no sparsity: no plots, a fast build
    write_record(results, recon("b", 0.8, 0.2))
    board = build_board(results, "demo", tmp_path)
    (board / "PUBLISHED.json").write_text("{}")
    next(results.glob("b__*.json")).unlink()
    build_board(results, "demo", tmp_path)
    assert [p.name[:3] for p in (board / "records").iterdir()] == ["a__"]  # b's copy is gone
    assert not (board / "PUBLISHED.json").exists()  # a rebuild must be published again


def test_bad_names_and_empty_results(results, tmp_path):
    with pytest.raises(SaebenchError, match="plain folder name"):
        build_board(results, "../up", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SaebenchError, match="no saebench records"):
        build_board(tmp_path / "empty", "x", tmp_path)


def test_autointerp_viewer_pages_are_written_and_linked(tmp_path):
    from board_factory import make_record

    explained = {"latent": 3, "status": "scored", "explanation": "the word <park>"}
    autointerp = make_record(
        "a", "autointerp", {"score": 0.8}, main="score", higher={"score": True}
    )
    autointerp.details = {"latents": [explained]}
    board = tmp_path / "b"
    write_board([recon("a", 0.9, 0.1), autointerp], board, "b")
    page = (board / "viewer" / "a.html").read_text()
    assert "the word &lt;park&gt;" in page and autointerp.key in page
    assert '<a href="viewer/a.html">a</a>' in (board / "index.html").read_text()


def test_copies_of_a_record_are_copied_once(tmp_path):
    old = recon("a", 0.5, 0.1, created_at="2026-01-01T00:00:00+00:00")
    new = old.model_copy(deep=True)
    new.provenance.created_at = "2026-02-01T00:00:00+00:00"
    write_record(tmp_path / "r1", old)
    write_record(tmp_path / "r2", new)
    board = build_board(tmp_path, "demo", tmp_path / "boards")
    copied = load_records(board / "records")
    assert [r.provenance.created_at for r in copied] == ["2026-02-01T00:00:00+00:00"]


def test_the_cli_builds_a_board(tmp_path, capsys):
    from saebench.cli.main import main

    write_record(tmp_path / "results", recon("a", 0.9, 0.1))
    with pytest.raises(SystemExit) as done:
        main(
            [
                "leaderboard",
                "build",
                str(tmp_path / "results"),
                "--name",
                "demo",
                "--out",
                str(tmp_path),
            ]
        )
    assert done.value.code == 0
    assert "built" in capsys.readouterr().out
    assert (tmp_path / "demo" / "index.html").is_file()
