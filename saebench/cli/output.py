"""Printing shared by the commands: tables, JSON, quiet mode."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def emit_table(rows: list[dict[str, Any]], headers: str = "keys") -> None:
    from tabulate import tabulate

    print(tabulate(rows, headers=headers, tablefmt="github"))


def parse_settings(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``--set mdl.tolerance=0.02`` pairs -> ``{"mdl": {"tolerance": 0.02}}``."""
    from saebench.errors import SaebenchError

    settings: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        evaluator, dot, field = name.partition(".")
        if not sep or not dot or not field:
            raise SaebenchError(f"--set {pair!r}: write it as EVALUATOR.FIELD=VALUE")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        settings.setdefault(evaluator, {})[field] = parsed
    return settings


def warn_partial(records) -> None:
    """Say at the end of a run which records are partial, and how to complete them."""
    partial = [r for r in records if getattr(r, "status", "complete") == "partial"]
    if partial:
        names = ", ".join(sorted({f"{r.sae.name}/{r.evaluator.name}" for r in partial}))
        print(
            f"warning: {len(partial)} record(s) partial ({names}): part of their work failed; "
            "rerun the same command to compute them again",
            file=sys.stderr,
        )
