"""SAE URIs made canonical (one spelling per SAE) and the short names tables show them by.
Apart from :mod:`saebench.identity` (hashes, the lowest layer) because both ask the
adapters: which format a bare path is, and how a control names its base.
"""

from __future__ import annotations

from pathlib import Path

from saebench.adapters.control_uri import base_of, control_name
from saebench.adapters.resolve import read_uri
from saebench.errors import SaebenchError
from saebench.registry import adapters


def canonical_uri(uri: str) -> str:
    """``scheme:location`` with a local location made absolute and resolved, so that
    ``./sae``, ``sae/`` and ``x/../sae`` are one SAE, and two copies in two folders are two.

    Example:
        >>> canonical_uri("zoo:resid-topk-16")
        'zoo:resid-topk-16'
    """
    scheme, location = read_uri(uri)
    # an adapter whose location holds another URI (control:) makes that one canonical itself
    canonical = getattr(adapters.get(scheme), "canonical_location", None)
    if canonical is not None:
        return f"{scheme}:{canonical(location)}"
    path = Path(location).expanduser()
    if path.exists():
        location = str(path.resolve())
    return f"{scheme}:{location}"


def short_name(uri: str) -> str:
    """The label of an SAE in tables: the zoo name, the SAE id of a hub release, or the name
    of its folder."""
    scheme, _, location = uri.partition(":")
    if not location:
        return uri
    if scheme == "zoo":
        return location
    if scheme == "control":
        return control_name(location, short_name(base_of(uri)))
    name = Path(location.rstrip("/")).name
    if not name or name in (".", ".."):
        raise SaebenchError(f"{uri}: cannot tell the SAE's name from this location")
    return name


def distinct_names(uris: list[str]) -> list[str]:
    """:func:`short_name` of each URI, with parent folders added to the names that would
    otherwise collide, until each is unique (``a/out``, ``b/out`` rather than ``out`` twice).

    Example:
        >>> distinct_names(["saelens:/runs/a/out", "saelens:/runs/b/out", "zoo:resid-relu"])
        ['a/out', 'b/out', 'resid-relu']
    """
    names = [short_name(uri) for uri in uris]
    depth = 1
    while (clashing := _clashing(names)) and depth < 64:
        depth += 1
        for i in clashing:
            names[i] = _parents_name(uris[i], depth) or names[i]
    for i in _clashing(names):  # the same location under two schemes, or no parents left
        names[i] = f"{names[i]} ({uris[i].partition(':')[0]})"
    return names


def _clashing(names: list[str]) -> list[int]:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [i for i, name in enumerate(names) if seen[name] > 1]


def _parents_name(uri: str, depth: int) -> str | None:
    """The last ``depth`` parts of a path-like location (None for zoo and control URIs)."""
    scheme, _, location = uri.partition(":")
    if scheme in ("zoo", "control") or not location:
        return None
    parts = [p for p in Path(location).parts if p not in ("/", "")]
    return "/".join(parts[-depth:])
