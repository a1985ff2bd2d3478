"""The shape of saebench/: import cycles, upward imports between layers, long functions.

    python benchmarks/layout.py            # the figures, then every cycle and upward import
    python benchmarks/layout.py --quiet    # the figures only

An import is an edge whether it sits at the top of a module or inside a function (a
function-level import hides a cycle from Python's loader, not from the reader), and so are
imports under ``if TYPE_CHECKING:`` (they never run, but the two modules still depend on each
other; set SKIP_TYPE_CHECKING to leave them out). A package's lazy-export table
(``_EXPORTS``, see saebench/lazy.py) and ``import_module("saebench....")`` with a literal name
count as imports. A package and its own submodules are left out of cycles (a package
re-exports its parts); the top-level ``saebench`` package is the public face and sits above
everything, so a module that imports it imports upward.

Layers, lowest first (a module may import its own layer and the ones below):
foundation (errors, identity, files, records), middle (sae, adapters, models, data, tasks,
toolkit), evaluators (with the activation pass and sources), run (``saebench.run``), results (``saebench.results``), cli. ``zoo/`` is assets (middle)
except its ``build*`` scripts, which sit with the cli: they alone may import the run layer.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG = 50
SKIP_TYPE_CHECKING = False

# Longest matching prefix wins; every module of saebench/ must match one.
LAYERS: dict[str, int] = {
    **dict.fromkeys(["errors", "identity", "files", "records", "lazy", "registry", "version"], 0),
    **dict.fromkeys(
        ["sae", "adapters", "models", "data", "tasks", "toolkit", "llm", "zoo", "synthetic"], 1
    ),
    # The shared pass and its sources hand batches to evaluators (SaeBatch, Needs) and
    # autointerp reads activations.examples, so they sit beside the evaluators.
    **dict.fromkeys(["evaluators", "activations", "sources"], 2),
    **dict.fromkeys(
        ["run", "resources"],
        3,
    ),
    **dict.fromkeys(["results", "interop"], 4),
    **dict.fromkeys(["cli", "quickstart", "zoo.build"], 5),
}
LAYER_NAMES = ["foundation", "middle", "evaluators", "run", "results", "cli"]
TOP = len(LAYER_NAMES)  # the `saebench` package itself


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_names(package: Path = ROOT / "saebench") -> dict[str, Path]:
    """Every module under ``package``, by dotted name (a package by its own name)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def layer(module: str) -> int:
    """The layer of a dotted module name (see LAYERS)."""
    if module == "saebench":
        return TOP
    rest = module.removeprefix("saebench.")
    parts = rest.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise KeyError(f"{module} has no layer: add its top name to LAYERS in benchmarks/layout.py")


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The nearest known module that ``name`` is or lies inside."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _skip_type_checking(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if (
            SKIP_TYPE_CHECKING
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.AST, module: str, is_package: bool, known) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (_resolve(a.name, known) for a in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            yield _resolve(f"{base}.{alias.name}", known)
    elif isinstance(node, ast.Assign) and any(
        getattr(t, "id", "") == "_EXPORTS" for t in node.targets
    ):
        for value in getattr(node.value, "values", []):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield _resolve(value.value.partition(":")[0], known)
    elif isinstance(node, ast.Call) and _called(node) == "import_module":
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            yield _resolve(arg.value, known)


def _called(node: ast.Call) -> str:
    return getattr(node.func, "id", getattr(node.func, "attr", ""))


def edges(known: dict[str, Path] | None = None) -> list[Edge]:
    """Every import from one saebench module to another (itself left out)."""
    known = known or module_names()
    found = set()
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        for node in _skip_type_checking(tree):
            for target in _targets(node, module, is_package, known):
                if target and target != module and target.startswith("saebench"):
                    found.add(Edge(module, target, getattr(node, "lineno", 0)))
    return sorted(found, key=lambda e: (e.source, e.target, e.line))


def _own(a: str, b: str) -> bool:
    """Whether one of ``a``, ``b`` is a package and the other one of its submodules."""
    return a.startswith(b + ".") or b.startswith(a + ".")


def cycles(all_edges: list[Edge]) -> list[tuple[str, ...]]:
    """Groups of modules that import each other (strongly connected, two or more)."""
    graph: dict[str, set[str]] = {}
    for e in all_edges:
        if not _own(e.source, e.target):
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(v: str) -> None:  # Tarjan's algorithm; saebench is shallow enough to recurse
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(tuple(sorted(group)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def upward(all_edges: list[Edge]) -> list[Edge]:
    """Imports from a lower layer into a higher one (into one's own package left out)."""
    return [
        e
        for e in all_edges
        if layer(e.target) > layer(e.source)
        and (e.target == "saebench" or not e.source.startswith(e.target + "."))
    ]


def long_functions(known: dict[str, Path] | None = None) -> list[tuple[str, int]]:
    """``(module.function, lines)`` for every function longer than LONG lines, longest first."""
    known = known or module_names()
    found = []
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONG:
                    found.append((f"{module}.{node.name}", lines))
    return sorted(found, key=lambda f: (-f[1], f[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="the three figures only")
    parser.add_argument("--root", type=Path, default=ROOT, help="a checkout (default: this one)")
    args = parser.parse_args()
    known = module_names(args.root / "saebench")
    all_edges = edges(known)
    groups, up, longs = cycles(all_edges), upward(all_edges), long_functions(known)
    print(f"modules {len(known)}, imports {len(all_edges)}")
    print(
        f"import cycles {len(groups)}, upward imports {len(up)}, functions over {LONG} lines {len(longs)}"
    )
    if args.quiet:
        return
    print("\ncycles (modules that import each other):")
    for group in groups:
        print("  " + " <-> ".join(m.removeprefix("saebench.") for m in group))
    print("\nupward imports (source:line -> target, layers):")
    for e in up:
        print(
            f"  {e.source.removeprefix('saebench.')}:{e.line} -> {e.target.removeprefix('saebench.')}"
            f"  ({_name(layer(e.source))} -> {_name(layer(e.target))})"
        )
    print(f"\nfunctions over {LONG} lines:")
    for name, lines in longs:
        print(f"  {lines:4d}  {name.removeprefix('saebench.')}")


def _name(n: int) -> str:
    return LAYER_NAMES[n] if n < TOP else "saebench (public face)"


if __name__ == "__main__":
    main()
