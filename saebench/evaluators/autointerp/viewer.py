"""The autointerp viewer: one static HTML page per SAE (explanations, scores, and examples
with activating tokens shaded by strength) and a one-line-per-latent terminal summary.

The page needs no network: inline CSS, no scripts, every text escaped. It reads the
``details`` of an autointerp record::

    {"intervention_mode": ..., "llm": {...},
     "latents": [{"latent": 3, "status": "scored", "explanation": "...",
                  "scores": {"detection": {...}, "fuzzing": {...}, "intervention": {...}},
                  "failures": {...},
                  "examples": [{"kind": "top", "tokens": [...], "acts": [...]}]}]}

Example:
    >>> record = find_autointerp_record("results/", "resid-topk-16")
    >>> Path("page.html").write_text(render_html(record))
    >>> print(summary_table(record))
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError
from saebench.files import atomic_write_text

EVALUATOR = "autointerp"
_KIND_ORDER = ("top", "quantile", "negative")
_EXPLANATION_WIDTH = 60

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 70em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin: 0 0 .3em 0; }
table { border-collapse: collapse; margin: .4em 0; }
td, th { border: 1px solid #ccc; padding: .15em .5em; text-align: left; font-size: .9em; }
section.latent { border-top: 2px solid #888; padding: .8em 0; }
.status { font-size: .8em; padding: .1em .4em; border-radius: .3em; background: #eee; }
.status.scored { background: #d6f0d6; } .status.explain_failed { background: #f6d0d0; }
.status.dense { background: #f6ecc8; }
.explanation { font-style: italic; margin: .3em 0; }
.example { font-family: ui-monospace, monospace; font-size: .85em; margin: .15em 0;
           white-space: pre-wrap; }
.kind { color: #777; display: inline-block; width: 6em; }
.tok { border-radius: .15em; }
"""


def find_autointerp_record(results_dir: Path | str, sae: str):
    """The newest autointerp record of SAE ``sae`` (its name or URI) in ``results_dir``."""
    from saebench.records import load_records

    root = Path(results_dir).expanduser()
    if not root.exists():
        raise SaebenchError(f"{root}: no such results folder; give the --out folder of a run")
    records = [r for r in load_records(root) if r.evaluator.name == EVALUATOR]
    if not records:
        raise SaebenchError(
            f"{root}: no autointerp records; run `saebench eval ... --evals autointerp` first"
        )
    mine = [r for r in records if sae in (r.sae.name, r.sae.uri)]
    if not mine:
        names = ", ".join(sorted({r.sae.name for r in records}))
        raise SaebenchError(f"{root}: no autointerp record for SAE {sae!r}; SAEs with one: {names}")
    return max(mine, key=lambda r: r.provenance.created_at)


def write_viewer(record, out: Path | str) -> Path:
    """Write the record's page to ``out`` atomically; return the path."""
    path = Path(out).expanduser()
    atomic_write_text(path, render_html(record))
    return path


def write_pages(records, out_dir: Path | str) -> dict[str, Path]:
    """One page per SAE (its newest autointerp record) in ``out_dir``, named by the SAE;
    returns ``{sae_uri: page}``. A leaderboard links them."""
    from saebench.records import slug

    newest: dict[str, Any] = {}
    for record in records:
        if record.evaluator.name != EVALUATOR:
            continue
        held = newest.get(record.sae.uri)
        if held is None or record.provenance.created_at > held.provenance.created_at:
            newest[record.sae.uri] = record
    folder = Path(out_dir)
    return {
        uri: write_viewer(record, folder / f"{slug(record.sae.name)}.html")
        for uri, record in sorted(newest.items())
    }


def summary_rows(record) -> list[dict[str, Any]]:
    """One row per latent: latent, status, detection / fuzzing balanced accuracy,
    intervention score and the explanation (shortened)."""
    rows = []
    for latent in _latents(record):
        scores = latent.get("scores") or {}
        rows.append(
            {
                "latent": latent.get("latent"),
                "status": latent.get("status"),
                "detection": _score(scores, "detection", "balanced_accuracy"),
                "fuzzing": _score(scores, "fuzzing", "balanced_accuracy"),
                "intervention": _score(scores, "intervention", "score"),
                "explanation": _shorten(latent.get("explanation")),
            }
        )
    return rows


def summary_table(record) -> str:
    from tabulate import tabulate

    return tabulate(summary_rows(record), headers="keys", tablefmt="github", floatfmt=".3f")


def render_html(record) -> str:
    """The whole page as one string."""
    title = f"autointerp: {record.sae.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _overview(record),
    ]
    parts += [_latent_section(latent) for latent in _latents(record)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- pieces of the page -------------------------------------------------------------------


def _overview(record) -> str:
    details = record.details or {}
    facts = {
        "SAE": record.sae.uri,
        "model": record.model.name,
        "hook": record.sae.hook_name,
        "intervention mode": details.get("intervention_mode") or "none",
        "record key": record.key,
        "created": record.provenance.created_at,
        "status": getattr(record, "status", "complete"),
    }
    metrics = {name: _fmt(value) for name, value in sorted(record.metrics.items())}
    for name, iv in (getattr(record, "intervals", None) or {}).items():
        if name in metrics and iv.low is not None:
            metrics[name] += f" [{iv.low:.3f}, {iv.high:.3f}] ({iv.n} {iv.unit})"
    for name, null in (getattr(record, "nulls", None) or {}).items():
        if name in metrics and null is not None:
            metrics[name] += f", null {null:.3f}"
    llm = {name: _fmt(value) for name, value in sorted((details.get("llm") or {}).items())}
    failures = {k: _fmt(v) for k, v in sorted((details.get("failures") or {}).items())}
    tables = [_table("run", facts), _table("metrics", metrics), _table("LLM calls", llm)]
    return "\n".join(tables + [_table("failures, all latents", failures)])


def _latent_section(latent: dict[str, Any]) -> str:
    status = str(latent.get("status"))
    head = (
        f"<h2>latent {_e(latent.get('latent'))} "
        f'<span class="status {_e(status)}">{_e(status)}</span></h2>'
    )
    explanation = latent.get("explanation")
    text = _e(explanation) if explanation else "<em>no explanation</em>"
    body = [head, f'<p class="explanation">{text}</p>', _scores_table(latent)]
    failures = latent.get("failures") or {}
    if failures:
        body.append(_table("failures", {k: _fmt(v) for k, v in sorted(failures.items())}))
    body.append(_extras(latent))
    body += _examples(latent.get("examples") or [])
    return (
        f'<section class="latent" id="latent-{_e(latent.get("latent"))}">'
        + "\n".join(body)
        + "</section>"
    )


def _extras(latent: dict[str, Any]) -> str:
    """Other numbers the evaluator recorded (firing count, the steering found), and the
    clean and steered passages of the intervention scorer, when present."""
    known = {"latent", "status", "explanation", "scores", "failures", "examples"}
    values = {k: v for k, v in latent.items() if k not in known and _is_scalar(v)}
    intervention = latent.get("intervention")
    passages = []
    if isinstance(intervention, dict):
        values |= {f"intervention {k}": v for k, v in intervention.items() if _is_scalar(v)}
        passages = [p for p in intervention.get("passages") or [] if isinstance(p, dict)]
    parts = [_table("details", {k: _fmt(v) for k, v in values.items()})]
    if passages:
        rows = "".join(
            f"<tr><td>{_e(p.get('clean', ''))}</td><td>{_e(p.get('steered', ''))}</td></tr>"
            for p in passages
        )
        parts.append(f"<table><tr><th>clean</th><th>steered</th></tr>{rows}</table>")
    return "\n".join(part for part in parts if part)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _scores_table(latent: dict[str, Any]) -> str:
    scores = latent.get("scores") or {}
    if not scores:
        return "<p>not scored</p>"
    names = sorted({field for values in scores.values() for field in (values or {})})
    header = "<tr><th>scorer</th>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>"
    rows = [
        f"<tr><td>{_e(scorer)}</td>"
        + "".join(f"<td>{_e(_fmt((values or {}).get(n)))}</td>" for n in names)
        + "</tr>"
        for scorer, values in scores.items()
    ]
    return "<table>" + header + "".join(rows) + "</table>"


def _examples(examples: list[dict[str, Any]]) -> list[str]:
    peak = max((max(ex.get("acts") or [0.0]) for ex in examples), default=0.0)
    order = {kind: i for i, kind in enumerate(_KIND_ORDER)}
    ranked = sorted(examples, key=lambda ex: order.get(ex.get("kind"), len(order)))
    return [_example(ex, peak) for ex in ranked]


def _example(example: dict[str, Any], peak: float) -> str:
    tokens = example.get("tokens") or []
    acts = list(example.get("acts") or []) + [0.0] * len(tokens)
    spans = [_token(token, act, peak) for token, act in zip(tokens, acts, strict=False)]
    kind = _e(" ".join(str(example.get(k)) for k in ("kind", "used_for") if example.get(k)))
    return f'<div class="example"><span class="kind">{kind}</span>{"".join(spans)}</div>'


def _token(token: str, act: float, peak: float) -> str:
    text = _e(str(token).replace("\n", "\u21b5"))
    if act is None or act <= 0 or peak <= 0:
        return text  # no span: most tokens are inactive, and pages stay a fraction the size
    strength = min(1.0, float(act) / peak)  # scaled by the latent's largest activation
    return (
        f'<span class="tok" title="{float(act):.3g}" '
        f'style="background: rgba(255, 120, 0, {strength:.3f})">{text}</span>'
    )


def _table(caption: str, values: dict[str, Any]) -> str:
    if not values:
        return ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in values.items())
    return f"<table><caption>{_e(caption)}</caption>{rows}</table>"


# -- small helpers --------------------------------------------------------------------------


def _latents(record) -> list[dict[str, Any]]:
    latents = (record.details or {}).get("latents") or []
    return sorted(latents, key=lambda latent: latent.get("latent", 0))


def _score(scores: dict[str, Any], scorer: str, field: str) -> float | None:
    value = (scores.get(scorer) or {}).get(field)
    return float(value) if isinstance(value, int | float) else None


def _shorten(text: str | None) -> str:
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= _EXPLANATION_WIDTH else text[: _EXPLANATION_WIDTH - 1] + "\u2026"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in sorted(value.items())) or "none"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
