"""The grammar of a control URI, ``control:KIND[@seed=N]:SAE_URI``: reading, writing and
naming one (see :mod:`saebench.adapters.control` for what it loads). A leaf, so that the
control builders (:mod:`saebench.sae.controls`) and SAE names
(:mod:`saebench.adapters.names`) use it without importing the adapter.

Example:
    >>> control_uri("permuted_decoder", "zoo:resid-topk-16", seed=1)
    'control:permuted_decoder@seed=1:zoo:resid-topk-16'
    >>> parse_control("matched_l0_random:zoo:resid-topk-16").base
    'zoo:resid-topk-16'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from saebench.errors import SaebenchError

SCHEME = "control"
KINDS = ("permuted_decoder", "matched_l0_random", "random_init")
ControlKind = Literal["permuted_decoder", "matched_l0_random", "random_init"]
_FORM = "control:KIND[@seed=N]:SAE_URI, e.g. control:permuted_decoder:zoo:resid-topk-16"
_LOCATION = re.compile(r"^(?P<kind>[A-Za-z0-9_]+)(?:@(?P<option>[^:]*))?:(?P<base>.+)$")


@dataclass(frozen=True)
class ControlUri:
    kind: str
    seed: int
    base: str

    def __str__(self) -> str:
        return control_uri(self.kind, self.base, self.seed)


def control_uri(kind: str, base: str, seed: int = 0) -> str:
    """The URI of a control; seed 0 is left out, so each control has one spelling."""
    return f"{SCHEME}:{kind}{f'@seed={seed}' if seed else ''}:{base}"


def parse_control(location: str) -> ControlUri:
    """Read the part of a control URI after ``control:``; a bad one is a one-line error."""
    uri = f"{SCHEME}:{location}"
    match = _LOCATION.match(location)
    if match is None:
        raise SaebenchError(f"{uri}: not a control URI; write {_FORM}")
    kind = match["kind"]
    if kind not in KINDS:
        raise SaebenchError(f"{uri}: {_unknown(kind)}")
    seed = _seed(match["option"], uri)
    base = match["base"]
    if base.startswith(f"{SCHEME}:"):
        raise SaebenchError(f"{uri}: a control of a control is not made; name the SAE itself")
    return ControlUri(kind, seed, base)


def _seed(option: str | None, uri: str) -> int:
    if option is None:
        return 0
    name, _, value = option.partition("=")
    if name != "seed" or not value.isdigit():
        raise SaebenchError(
            f"{uri}: bad control option {option!r}; the only option is @seed=N with N a "
            "whole number, e.g. control:random_init@seed=1:zoo:resid-topk-16"
        )
    return int(value)


def check_kinds(kinds: str | Sequence[str] | None) -> list[str]:
    """Control kinds as a list (a comma-separated string is split); unknown ones refused."""
    if kinds is None:
        return []
    if isinstance(kinds, str):
        kinds = [part.strip() for part in kinds.split(",")]
    kinds = list(dict.fromkeys(kind for kind in kinds if kind))
    for kind in kinds:
        if kind not in KINDS:
            raise SaebenchError(_unknown(kind))
    return kinds


def _unknown(kind: str) -> str:
    close = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown control {kind!r}; {hint}controls: {', '.join(KINDS)}"


def is_control(uri: str) -> bool:
    return str(uri).startswith(f"{SCHEME}:")


def base_of(uri: str) -> str:
    """The SAE a control URI is made from (the URI itself when it is no control)."""
    return parse_control(uri[len(SCHEME) + 1 :]).base if is_control(uri) else uri


def control_name(location: str, base_name: str) -> str:
    """The label of a control in tables: ``BASE~KIND`` (``~KIND@N`` with a seed), so it
    sorts beside its SAE."""
    parsed = parse_control(location)
    return f"{base_name}~{parsed.kind}{f'@{parsed.seed}' if parsed.seed else ''}"
