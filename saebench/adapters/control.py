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

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saebench.adapters.base import Adapter
from saebench.adapters.control_uri import (  # noqa: F401 (the grammar, importable from here too)
    KINDS,
    SCHEME,
    ControlKind,
    ControlUri,
    base_of,
    check_kinds,
    control_name,
    control_uri,
    is_control,
    parse_control,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae


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
        from saebench.adapters.names import short_name

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
        from saebench.adapters.names import canonical_uri
        from saebench.adapters.resolve import load_sae
        from saebench.sae.controls import make_control

        parsed = parse_control(location)
        base = load_sae(parsed.base, device=device, dtype=dtype)
        return make_control(base, parsed.kind, parsed.seed, of=canonical_uri(parsed.base))

    @classmethod
    def canonical_location(cls, location: str) -> str:
        """The location with its SAE URI canonical and the default seed left out."""
        from saebench.adapters.names import canonical_uri

        parsed = parse_control(location)
        return str(ControlUri(parsed.kind, parsed.seed, canonical_uri(parsed.base)))[
            len(SCHEME) + 1 :
        ]
