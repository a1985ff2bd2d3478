"""A board shows each panel record: its metrics beside their nulls, and its matrix."""

from __future__ import annotations

import saebench
from saebench.results.board.build import build_board


def test_a_panel_record_gets_its_block_and_matrix(tmp_path):
    saebench.evaluate(
        ["zoo:resid-topk-16", "zoo:resid-topk-8", "zoo:resid-relu"], model="zoo", dataset="zoo",
        evaluators=["sparsity", "compare"], configs={"compare": {"n_activation_samples": 0}},
        n_tokens=256, out_dir=tmp_path / "runs", progress=False,
    )  # fmt: skip
    board = build_board(tmp_path / "runs", "b", out=tmp_path)
    text = (board / "README.md").read_text()
    panels = text.split("## Panels", 1)[1]
    assert "### compare · saebench-zoo · `blocks.1.hook_resid_post`" in panels
    assert "3 members" in panels
    row = next(line for line in panels.splitlines() if line.startswith("| hungarian_dec_mean_cos"))
    mean, null = (float(cell) for cell in row.strip("| ").split(" | ")[1:3])
    assert null < mean  # trained SAEs agree more than untrained ones
    matrix = [line for line in panels.splitlines() if line.startswith("| resid-")]
    assert len(matrix) == 3 and all(line.count("—") == 1 for line in matrix)  # the diagonal
