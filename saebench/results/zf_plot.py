"""The ZF plot of a ``decoder_structure`` record (Lee et al. 2025, arXiv 2503.24277): per
token, the norm of what the decoder must produce, ``||z||`` (x), against the norm of the
decoder-scaled codes with the bias, ``||f~||`` (y). Drawn from the binned data the record
keeps in ``details["zf"]``: the token histogram (log colour), the median ``||f~||`` per
``||z||`` bin, a sample of tokens, the line ``y = x`` and the paper's bound lines
``y = x / sqrt(1 +- eps (h - 1))`` for ``eps (h - 1)`` in 0.25, 0.5, 1. Above the diagonal
the codes are over-activated, below under-activated. PNG through matplotlib's Agg backend,
without software or date metadata (the same record gives the same bytes).

Example:
    >>> from saebench.results.zf_plot import zf_plots
    >>> zf_plots(records, Path("board/plots"))  # one PNG per decoder_structure record
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

EVALUATOR = "decoder_structure"


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def zf_data(record: Any) -> dict | None:
    """The ZF plot's data of a ``decoder_structure`` record (an EvalRecord or its JSON
    dict), or None for other records and for records whose token part was skipped."""
    evaluator = _field(record, "evaluator")
    name = _field(evaluator, "name") if evaluator is not None else None
    details = _field(record, "details") or {}
    return details.get("zf") if name == EVALUATOR else None


def draw_zf(data: dict, title: str = ""):
    """A matplotlib figure of the ZF plot from ``details["zf"]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    edges = np.asarray(data["edges"], dtype=float)
    counts = np.asarray(data["counts"], dtype=float)  # [z bin][f~ bin]
    top = float(edges[-1])
    fig, ax = plt.subplots(figsize=(5.2, 4.8), dpi=110)
    if counts.sum() > 0:
        shown = np.ma.masked_equal(counts.T, 0)
        mesh = ax.pcolormesh(edges, edges, shown, cmap="Blues", norm=LogNorm(vmin=1))
        fig.colorbar(mesh, ax=ax, label="tokens")
    ax.scatter(
        data["points_z"],
        data["points_f"],
        s=3,
        c="black",
        alpha=0.35,
        lw=0,
        label="tokens (sample)",
    )
    centres = (edges[:-1] + edges[1:]) / 2
    medians = [
        (c, m) for c, m in zip(centres, data["median_f_by_z_bin"], strict=True) if m is not None
    ]
    if medians:
        ax.plot(
            *zip(*medians, strict=True), color="tab:orange", lw=1.5, label="median ||f~|| per bin"
        )
    _guides(ax, data, top)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("||z||  (target norm, decoder space)")
    ax.set_ylabel("||f~||  (decoder-scaled codes + bias)")
    ax.set_title(title or "ZF plot", fontsize=10)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def _guides(ax, data: dict, top: float) -> None:
    """The line ``y = x`` and the paper's bound lines ``y = x / sqrt(1 +- eps (h - 1))``."""
    ax.plot([0, top], [0, top], color="red", ls="--", lw=1, label="y = x")
    levels = data.get("bound_levels", [])
    label = "bounds, eps(h-1) = " + ", ".join(f"{v:g}" for v in levels)
    for level in levels:
        for sign in (1, -1):
            if 1 + sign * level > 0:
                slope = (1 / (1 + sign * level)) ** 0.5
                ax.plot([0, top], [0, top * slope], color="grey", ls=":", lw=0.8, label=label)
                label = None  # one legend entry for every bound line


def draw_zf_plot(record: Any, path: Path, title: str | None = None) -> Path | None:
    """Write the ZF plot of one record to ``path`` (PNG); None when it has no ZF data."""
    import matplotlib.pyplot as plt

    data = zf_data(record)
    if data is None:
        return None
    if title is None:
        sae = _field(record, "sae")
        name = _field(sae, "name") if sae is not None else ""
        eps = (_field(record, "metrics") or {}).get("eps_lbo_median")
        title = f"{name}: median eps_LBO {eps:.3g} (h = {data['h']})" if eps else str(name)
    fig = draw_zf(data, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def zf_plots(records: Iterable[Any], out_dir: Path) -> list[Path]:
    """The ZF plot of every ``decoder_structure`` record with token data, as
    ``out_dir/zf-<sae name>.png`` (for a board builder); the paths written."""
    written = []
    for record in records:
        sae = _field(record, "sae")
        name = str(_field(sae, "name") or "sae").replace("/", "_").replace(":", "_")
        path = draw_zf_plot(record, Path(out_dir) / f"zf-{name}.png")
        if path is not None:
            written.append(path)
    return written
