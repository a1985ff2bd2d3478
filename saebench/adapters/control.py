"""``control:KIND[@seed=N]:SAE_URI``: a control made on the fly from any SAE.

The URI names a degraded copy of the SAE at ``SAE_URI`` (any URI or path saebench loads):
``permuted_decoder``, ``matched_l0_random`` or ``random_init`` (see
:mod:`saebench.sae.controls` and ``docs/controls.md``). Because a control is just another
SAE URI, planning, resuming, record keys and leaderboard rows treat it like any SAE; its
records say ``role: control`` and ``of: SAE_URI``.

This module stays torch-free at import: suites and the CLI read control URIs without it.

Example:
    >>> control_uri("permuted_decoder", "zoo:resid-topk-16", seed=1)
    'control:permuted_decoder@seed=1:zoo:resid-topk-16'
    >>> parse_control("matched_l0_random:zoo:resid-topk-16").base
    'zoo:resid-topk-16'
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saebench.adapters.base import Adapter
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae

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


class ControlsSetting(BaseModel):
    """A suite's ``controls``: which controls, of which SAEs (globs over their URIs or
    names; default every SAE), with which seed. A bare list means every SAE.

    Example (YAML):
        controls: {kinds: [permuted_decoder, matched_l0_random], saes: [resid-topk-16]}
    """

    model_config = ConfigDict(extra="forbid")

    kinds: list[ControlKind] = Field(min_length=1)
    saes: list[str] = Field(default_factory=lambda: ["*"])
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value):
        if isinstance(value, str):
            value = [value]
        return {"kinds": value} if isinstance(value, list) else value

    def expand(self, uris: Sequence[str]) -> list[str]:
        """The URIs with the controls of the SAEs the patterns match placed after each."""
        from saebench.identity import short_name

        out: list[str] = []
        matched = set()
        for uri in uris:
            out.append(uri)
            hits = [p for p in self.saes if _matches(p, uri, short_name)]
            if hits and not is_control(uri):
                matched.update(hits)
                out += [control_uri(kind, uri, self.seed) for kind in self.kinds]
        unused = [pattern for pattern in self.saes if pattern not in matched]
        if unused:
            raise SaebenchError(
                f"controls.saes {', '.join(map(repr, unused))} matches no SAE of the suite; "
                "give a URI, a name or a glob of the suite's SAEs"
            )
        return list(dict.fromkeys(out))


def _matches(pattern: str, uri: str, short_name) -> bool:
    try:
        name = short_name(uri)
    except SaebenchError:
        name = uri
    return fnmatch.fnmatchcase(uri, pattern) or fnmatch.fnmatchcase(name, pattern)


class ControlAdapter(Adapter):
    description = "a control made from any SAE (control:KIND[@seed=N]:SAE_URI)"

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.adapters.resolve import load_sae
        from saebench.identity import canonical_uri
        from saebench.sae.controls import make_control

        parsed = parse_control(location)
        base = load_sae(parsed.base, device=device, dtype=dtype)
        return make_control(base, parsed.kind, parsed.seed, of=canonical_uri(parsed.base))

    @classmethod
    def canonical_location(cls, location: str) -> str:
        """The location with its SAE URI canonical and the default seed left out."""
        from saebench.identity import canonical_uri

        parsed = parse_control(location)
        return str(ControlUri(parsed.kind, parsed.seed, canonical_uri(parsed.base)))[
            len(SCHEME) + 1 :
        ]
