"""Compare two folders of records: the same keys, and the same numbers under each key.

Used to show that a refactor changed no record (issue 16): run a suite before and after,
then `python benchmarks/compare_records.py BEFORE AFTER [TOLERANCE]`. Every value of
``metrics``, ``intervals``, ``nulls``, ``sample_sizes``, ``seeds``, ``details`` and
``status`` is compared (timings left out); floats within the relative tolerance count as
equal (default 0: bit for bit).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

FIELDS = ("metrics", "intervals", "nulls", "sample_sizes", "seeds", "details", "status")


def records(folder: Path) -> dict[str, dict]:
    """Every record JSON under ``folder``, by key."""
    out = {}
    for path in folder.rglob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "key" in data and "metrics" in data:
            out[data["key"]] = data
    return out


def differences(a, b, path: str, tolerance: float):
    """``(path, relative difference or None)`` for each leaf of ``a`` that ``b`` does not
    match; timings (``timing``, ``*_seconds``, ``*_per_cpu_second``) are skipped."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key == "timing" or key.endswith(("_seconds", "_per_cpu_second")):
                continue
            if key not in a or key not in b:
                yield f"{path}/{key}", None
            else:
                yield from differences(a[key], b[key], f"{path}/{key}", tolerance)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{path}[{i}]", tolerance)
    elif isinstance(a, float) and isinstance(b, float):
        if a != b and not (math.isnan(a) and math.isnan(b)):
            relative = abs(a - b) / max(abs(a), abs(b))
            if relative > tolerance:
                yield path, relative
    elif a != b:
        yield path, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("tolerance", type=float, nargs="?", default=0.0)
    args = parser.parse_args()
    before, after = records(args.before), records(args.after)
    print(
        f"records: before {len(before)}, after {len(after)}, shared {len(before.keys() & after.keys())}"
    )
    for key in sorted(before.keys() ^ after.keys()):
        side, record = ("before", before[key]) if key in before else ("after", after[key])
        print(f"  only {side}: {record['sae']['uri']} {record['evaluator']['name']}")
    found = []
    for key in sorted(before.keys() & after.keys()):
        b, a = before[key], after[key]
        name = f"{b['sae']['uri']} {b['evaluator']['name']}"
        for field in FIELDS:
            found += differences(b.get(field), a.get(field), f"{name} {field}", args.tolerance)
    for path, relative in found:
        print(f"  differs: {path}" + ("" if relative is None else f" (relative {relative:.2e})"))
    worst = max((r for _, r in found if r is not None), default=0.0)
    print(f"values differing beyond {args.tolerance:g}: {len(found)}; largest relative {worst:.2e}")


if __name__ == "__main__":
    main()
