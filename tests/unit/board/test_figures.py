import itertools

import pandas as pd

from saebench.results.board.figures import planned_figures
from saebench.results.board.tables import board_tables
from saebench.results.plots import draw_tradeoff, label_boxes, pareto_front


def crowded_frame(n=24):
    """Points packed close together, in two hooks and two architectures."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "sae": f"sae-number-{i:02d}",
                "architecture": "topk" if i % 2 else "relu",
                "model": "zoo",
                "hook": "blocks.0.hook_mlp_out" if i % 3 else "blocks.1.hook_resid_post",
                "l0": 10.0 + (i % 6) * 0.8,
                "score": 0.95 + (i // 6) * 0.004 + (i % 6) * 0.001,
            }
        )
    return pd.DataFrame(rows)


def test_labels_do_not_overlap():
    import matplotlib.pyplot as plt

    frame = crowded_frame()
    fig = draw_tradeoff(frame, "l0", "score", "crowded")
    boxes = label_boxes(fig)
    assert len(boxes) >= len(frame) // 2  # most points are labelled
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    # the ones left out are counted in a note, so none vanish silently
    notes = [t.get_text() for t in fig.texts]
    hidden = len(frame) - len(boxes)
    assert (f"{hidden} label(s) left out: no free spot" in notes) == (hidden > 0)
    plt.close(fig)


def test_labels_stay_off_the_points():
    import matplotlib.pyplot as plt

    frame = crowded_frame(12)
    fig = draw_tradeoff(frame, "l0", "score")
    ax = fig.axes[0]
    points = ax.transData.transform(frame[["l0", "score"]].to_numpy())
    for box in label_boxes(fig):
        assert not any(box.contains(px, py) for px, py in points)
    plt.close(fig)


def test_pareto_front_for_a_lower_is_better_metric():
    frame = pd.DataFrame(
        {"l0": [1, 2, 3, 4, 5], "fvu": [0.5, 0.6, 0.3, 0.35, 0.1], "name": list("abcde")}
    )
    assert pareto_front(frame, "l0", "fvu", higher_y=False)["name"].tolist() == ["a", "c", "e"]
    assert pareto_front(frame, "l0", "fvu")["name"].tolist() == ["a", "b"]


def test_planned_plots_follow_the_columns(records):
    files = [f.file for f in planned_figures(board_tables(records))]
    assert files == ["l0_vs_ce_loss_score.png", "l0_vs_fvu.png", "l0_vs_ravel_disentanglement.png"]
    no_l0 = [r for r in records if r.evaluator.name != "sparsity"]
    assert planned_figures(board_tables(no_l0)) == []
