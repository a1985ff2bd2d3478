"""The leaderboard page in a real browser (Debian's headless ``chromium``): the screenshot
shows the table, and sorting through the page's own click handler reorders the rows (read
back from the DOM). The page is opened from disk: no server, no network."""

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import make_sae

import saebench
from saebench.adapters.saelens import save_saelens
from saebench.records import write_record
from saebench.results.board.build import build_board

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (install: apt-get install -y chromium)"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
HEADER_RGB = (0xDD, 0xE6, 0xF3)  # th background in the page's CSS


@pytest.fixture(scope="module")
def page(tiny_model, texts, tmp_path_factory):
    """A board of three real records sets (one model run), as an ``index.html`` on disk."""
    root = tmp_path_factory.mktemp("board")
    saes = []
    for k in (2, 8, 32):  # saved to folders, which name the SAEs
        save_saelens(make_sae("topk", k=k, seed=k), root / f"topk-{k}")
        saes.append(str(root / f"topk-{k}"))
    records = saebench.evaluate(
        saes, model=tiny_model, dataset=texts, n_tokens=256, context_size=16, progress=False
    )
    for record in records:
        write_record(root / "results", record)
    return build_board(root / "results", "browser", root / "boards") / "index.html"


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    profile = ["--user-data-dir=" + str(tmp / "profile"), "--disable-dev-shm-usage"]
    return subprocess.run(
        [CHROMIUM, *FLAGS, *profile, *args], capture_output=True, text=True, timeout=120
    )


def dom_rows(page: Path, fragment: str, tmp: Path) -> list[tuple[str, bool]]:
    """(SAE name, shown) per table row, in DOM order, after the page's scripts ran."""
    done = chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri() + fragment, tmp=tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    body = done.stdout.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # each row: the rank cell, then the name
    rows = re.findall(r'<tr([^>]*)><td[^>]*>[^<]*</td><td class="text">([^<]+)</td>', body)
    return [(name, "display: none" not in attrs) for attrs, name in rows]


def test_the_screenshot_shows_the_table(page, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    done = chromium("--window-size=1200,900", f"--screenshot={shot}", page.as_uri(), tmp=tmp_path)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 50  # text, plots and tables: far from a blank page
    near = [
        n
        for n, rgb in colours
        if max(abs(a - b) for a, b in zip(rgb, HEADER_RGB, strict=True)) <= 2
    ]
    header = sum(near)
    assert header > 2000  # the header row's cells are drawn in the table colour


def test_a_click_on_a_header_sorts_the_rows(page, tmp_path):
    text = page.read_text()
    assert 'data-col="sparsity.l0"' in text
    initial = [name for name, _ in dom_rows(page, "", tmp_path)]
    assert sorted(initial) == ["topk-2", "topk-32", "topk-8"]
    # l0 has no better direction: a first click sorts it from the largest down
    by_l0 = [name for name, _ in dom_rows(page, "#sort=sparsity.l0", tmp_path)]
    assert by_l0 == ["topk-32", "topk-8", "topk-2"]
    # names, as text, from the last down: a second order, so a click reordered the rows
    # whatever the initial order was
    by_name = [name for name, _ in dom_rows(page, "#sort=sae", tmp_path)]
    assert by_name == ["topk-8", "topk-32", "topk-2"]
    assert initial != by_l0 or initial != by_name
    by_l0_up = dom_rows(page, "#sort=sparsity.l0&dir=ascending&filter=topk-8", tmp_path)
    assert [name for name, _ in by_l0_up] == ["topk-2", "topk-8", "topk-32"]
    assert [shown for _, shown in by_l0_up] == [False, True, False]  # the filter hid two
