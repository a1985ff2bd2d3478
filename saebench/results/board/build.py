"""``saebench leaderboard build``: records -> ``leaderboards/NAME/``.

The folder holds ``records/`` (the newest record per key, the only input), ``README.md``
(tables and plots), ``leaderboard.csv`` (every metric), ``plots/*.png``, ``index.html``,
``BUILT.json`` (the list of files the build wrote) and, for an evaluator that ships a viewer
(autointerp), ``viewer/`` pages linked from the HTML. The output depends only on the records:
building twice gives byte-identical files (no dates, no software versions in PNGs,
everything sorted).

A record whose content hash does not match its content (edited after it was written) is left
out, with a warning naming its file. The board is written into a temporary folder beside the
target and moved into place only when complete, so a full disk leaves the old board (or
none), never half of one. A rebuild replaces the files the previous build listed in
``BUILT.json`` and removes a stale ``PUBLISHED.json``; it never deletes a file it did not
write, and refuses a folder that is not a board.

Example:
    >>> build_board("results/", "zoo")
    PosixPath('leaderboards/zoo')
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text
from saebench.records import EvalRecord, load_record_files, record_path
from saebench.results.board.figures import board_figures
from saebench.results.board.frame import newest_per_key
from saebench.results.board.html import html_page
from saebench.results.board.panels import panel_markdown
from saebench.results.board.render import csv_text, markdown_tables, md_text
from saebench.results.board.tables import Board, board_tables

RECORDS, PLOTS, VIEWER = "records", "plots", "viewer"
README, CSV, HTML, MANIFEST = "README.md", "leaderboard.csv", "index.html", "PUBLISHED.json"
BUILT = "BUILT.json"
GENERATED = (README, CSV, HTML)


def build_board(
    results: Path | str, name: str, out: Path | str = "leaderboards", sort_by: str | None = None
) -> Path:
    """Build ``out/name`` from every record under ``results`` (see the module docstring);
    ``sort_by`` names the column the tables rank by (default: see ``board_tables``)."""
    if not name or Path(name).name != name or name.startswith("."):
        raise SaebenchError(f"--name {name!r}: use a plain folder name such as `zoo`")
    found = sealed_records(results)
    records = sorted(newest_per_key([r for _, r in found]), key=lambda r: r.key)
    sources = {id(r): path for path, r in found}
    if not records:
        raise SaebenchError(f"{results}: no saebench records found; run `saebench run` first")
    target = Path(out) / name
    previous = built_files(target)
    scratch = Path(out) / f".{name}.building-{os.getpid()}"
    try:
        paths = {r.key: sources[id(r)] for r in records}
        written = write_board(records, scratch, name, paths, sort_by)
        _move_into_place(scratch, target, written, previous)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SaebenchError(
            f"cannot build the leaderboard in {out}: {why.lower()}; free some space there or "
            "choose another --out (a board already there is left as it was)"
        ) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def sealed_records(results: Path | str) -> list[tuple[Path, EvalRecord]]:
    """Every record under ``results`` (with its file) but those whose content hash does not
    match their content (each named in a warning). Records older than schema 3 have none:
    kept."""
    kept = []
    for path, record in load_record_files(results):
        if (
            record.content_hash is not None
            and record.content_hash != record.expected_content_hash()
        ):
            warnings.warn(
                f"{path}: its content hash does not match its content (edited after it was "
                "written?); left out of the board (rerun its evaluation to replace it)",
                SaebenchWarning,
                stacklevel=3,
            )
            continue
        kept.append((path, record))
    return kept


def built_files(target: Path) -> list[str]:
    """The files the previous build of ``target`` wrote (none for a missing or empty folder);
    refuses a folder with files that no build listed as its own."""
    if target.exists() and not target.is_dir():
        raise SaebenchError(f"{target}: is a file; choose another --name or --out")
    if not target.exists() or not any(target.iterdir()):
        return []
    marker = target / BUILT
    try:
        return list(json.loads(marker.read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SaebenchError(
            f"{target}: not a leaderboard built by saebench (no readable {BUILT}), so a build "
            "will not write into it; choose another --name or --out, or empty the folder"
        ) from exc


def _move_into_place(scratch: Path, target: Path, written: list[str], previous: list[str]):
    """Rename the finished board into place. Over an older board: first list the union of
    both builds' files (so an interruption leaves nothing unaccounted for), remove the old
    build's files, move the new ones in, then list the new files only."""
    if not target.exists() or not any(target.iterdir()):
        if target.exists():
            target.rmdir()
        scratch.rename(target)
        return
    theirs = [r for r in written if r not in previous and (target / r).exists()]
    if theirs:
        raise SaebenchError(
            f"{target / theirs[0]}: not written by a build, and this build would replace it; "
            "move it out of the board folder and build again"
        )
    _write_manifest(target, sorted(set(previous) | set(written)))
    for relative in [*previous, MANIFEST]:
        if relative not in written and _inside(target, relative):
            (target / relative).unlink(missing_ok=True)
    for relative in written:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch / relative, target / relative)
    os.replace(scratch / BUILT, target / BUILT)
    for folder in (RECORDS, PLOTS, VIEWER):  # folders the old build left empty
        if (target / folder).is_dir() and not any((target / folder).rglob("*")):
            (target / folder).rmdir()


def _inside(target: Path, relative: str) -> bool:
    """A listed path that stays inside the board (a hand-edited list cannot reach out)."""
    return (target / relative).resolve().is_relative_to(target.resolve())


def _write_manifest(folder: Path, files: list[str], sort_by: str | None = None) -> None:
    manifest = {"built_by": "saebench leaderboard build", "files": files}
    if sort_by is not None:
        manifest["sort_by"] = sort_by  # so that publish rebuilds the same tables
    atomic_write_text(folder / BUILT, json.dumps(manifest, indent=2) + "\n")


def built_sort(board: Path) -> str | None:
    """The column a built board's tables rank by (``--sort`` of its build), if one was given."""
    try:
        return json.loads((Path(board) / BUILT).read_text()).get("sort_by")
    except (OSError, ValueError, AttributeError):
        return None


def write_board(
    records: list[EvalRecord],
    target: Path,
    name: str,
    sources: dict[str, Path] | None = None,
    sort_by: str | None = None,
) -> list[str]:
    """Write every file of a board into ``target`` (a new folder) and ``BUILT.json``
    listing them; returns their paths relative to ``target``. ``sources`` maps a record's key
    to the file it was read from, copied as it is (else the record is written anew)."""
    board = board_tables(records, sort_by)  # warns of SAEs with records under several settings
    sources = sources or {}
    paths = [_copy_record(target / RECORDS, r, sources.get(r.key)) for r in records]
    plots = board_figures(board, target / PLOTS)
    relative = [f"{PLOTS}/{p.name}" for p in plots]
    links = write_viewer(records, target)
    panels = panel_markdown(records)
    atomic_write_text(target / README, readme(board, name, len(records), relative, panels))
    atomic_write_text(target / CSV, csv_text(board))
    atomic_write_text(target / HTML, html_page(board, name, relative, links))
    paths += [*plots, target / README, target / CSV, target / HTML]
    if links:
        paths += [p for p in (target / VIEWER).rglob("*") if p.is_file()]
    written = sorted({p.relative_to(target).as_posix() for p in paths})
    _write_manifest(target, written, sort_by)
    return written


def _copy_record(folder: Path, record: EvalRecord, source: Path | None) -> Path:
    """The record's file as it was written by its run (its bytes, not a re-serialisation
    that would add the fields of a newer schema to an old record)."""
    path = record_path(folder, record.sae.name, record.evaluator.name, record.key)
    text = source.read_text() if source is not None else record.model_dump_json(indent=2) + "\n"
    atomic_write_text(path, text)
    return path


def write_viewer(records: list[EvalRecord], target: Path) -> dict[str, str]:
    """The pages of every evaluator that ships a viewer (a ``write_pages(records, folder)``
    class method; autointerp's today), in ``viewer/``; returns ``{sae_uri: page path relative
    to the board}`` for the HTML's links. Asked through the registry, so the board imports no
    evaluator."""
    from saebench.registry import evaluators

    links: dict[str, str] = {}
    for name in sorted({r.evaluator.name for r in records}):
        pages_of = (
            getattr(evaluators.get(name), "write_pages", None) if name in evaluators else None
        )
        if pages_of is None:
            continue
        pages = pages_of([r for r in records if r.evaluator.name == name], target / VIEWER)
        links |= {uri: Path(page).relative_to(target).as_posix() for uri, page in pages.items()}
    return dict(sorted(links.items()))


def readme(board: Board, name: str, n_records: int, plots: list[str], panels: str = "") -> str:
    """The README: how it was made, the legend, the tables, the panels, the plots."""
    mains = "\n".join(
        f"- `{md_text(c.name)}` {c.arrow or '(no better direction)'}" for c in board.columns
    )
    lines = [
        f"# Leaderboard: {md_text(name)}",
        "",
        f"Generated by `saebench leaderboard build` from the {n_records} records in "
        "`records/`; do not edit by hand (rebuild instead). `leaderboard.csv` has every "
        "metric with its interval bounds, null and sample sizes; `index.html` is the same "
        "tables, sortable and filterable, with the plots.",
        "",
        "One row per SAE, grouped by model and hook; one column per evaluator's main metric, "
        "shown with its interval:",
        "",
        mains,
        "",
        "↑ higher is better, ↓ lower is better. `#` ranks the SAEs: SAEs whose intervals "
        "overlap share a rank (`2=`), and a value is in **bold** only when it is the best and "
        "its interval overlaps no other SAE's. Controls (an SAE's permuted decoder, a random "
        "dictionary at matched L0) follow their SAE; `≈ctrl` marks an SAE whose interval "
        "overlaps its control's. Rows of kind `reference` are reference methods an evaluator "
        "measures beside the SAEs. Neither is ranked. Under each table: the config, sample "
        "sizes, interval and null of every column.",
        "",
        markdown_tables(board).rstrip(),
        "",
    ]
    if panels:
        lines += [panels.rstrip(), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    return "\n".join(lines)
