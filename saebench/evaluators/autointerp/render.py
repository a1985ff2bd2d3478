"""Examples as the judge sees them: token strings, activations, highlights and levels.

A window becomes an :class:`Example`: its tokens decoded one by one (each piece is what the
token adds to the decoded text, so joining the pieces gives the decoded window, spaces
included, for BPE and word-level tokenizers alike), its activations, and which tokens are
special (shown, never highlighted). Highlighted runs of tokens are wrapped ``<<like this>>``
with their leading whitespace kept outside the marks; newlines become ``\\n`` so an example
stays on its one ``Example N:`` line.

Example:
    >>> ex = Example("top", ["The", " cat", " sat"], [0.0, 2.0, 0.0], [False] * 3)
    >>> marked_text(ex.tokens, [False, True, False])
    'The <<cat>> sat'
    >>> levels(ex.acts, 4.0)
    [0, 5, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Example:
    """One window shown to the judge (``kind``: "top", "quantile" or "negative")."""

    kind: str
    tokens: list[str]
    acts: list[float]
    special: list[bool]
    context: int = -1
    start: int = -1
    quantile: int | None = None
    highlight: list[bool] = field(default_factory=list)  # set when shown with marks

    def active(self) -> list[bool]:
        return [a > 0 and not s for a, s in zip(self.acts, self.special, strict=True)]

    def record(self, used_for: str) -> dict:
        """The viewer's form of this example."""
        out = {"kind": self.kind, "tokens": self.tokens, "acts": self.acts, "used_for": used_for}
        if self.quantile is not None:
            out["quantile"] = self.quantile
        return out


class PieceDecoder:
    """What each token adds to the decoded text: ``decode([a, b])`` minus ``decode([a])``
    for each token ``b`` after ``a`` (one token of left context gives the spacing of BPE,
    SentencePiece and word-level tokenizers alike), cached per pair.

    Example:
        >>> PieceDecoder(tokenizer).pieces([464, 3797, 3332], before=None)
        ['The', ' cat', ' sat']
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[tuple[int, ...], str] = {}

    def pieces(self, ids: list[int], before: int | None) -> list[str]:
        """Pieces of ``ids``; ``before`` is the token preceding them in the context, if any."""
        if not ids:
            return []
        pairs = [
            ((p,) if p is not None else ()) + (t,)
            for p, t in zip([before, *ids[:-1]], ids, strict=True)
        ]
        missing = list(dict.fromkeys(k for k in pairs if k not in self.cache))
        if missing:
            heads = [k[:1] for k in missing if len(k) == 2 and k[:1] not in self.cache]
            todo = list(dict.fromkeys(heads)) + missing
            for key, text in zip(todo, self.tokenizer.batch_decode(todo), strict=True):
                self.cache[key] = text
        out = []
        for key in pairs:
            full = self.cache[key]
            head = self.cache[key[:1]] if len(key) == 2 else ""
            # a decoder that re-spaces the first token: fall back to the token alone
            out.append(
                full[len(head) :] if full.startswith(head) else self.cache.get(key[1:], full)
            )
        return out


def token_pieces(tokenizer, ids: list[int]) -> list[str]:
    """Pieces of ``ids`` decoded without left context (see :class:`PieceDecoder`)."""
    return PieceDecoder(tokenizer).pieces(ids, before=None)


def strongest(acts: list[float], special: list[bool], fraction: float) -> list[bool]:
    """Tokens at or above ``fraction`` of the window's largest activation (delphi's 0.3 rule),
    never a special token and never a zero."""
    top = max((a for a, s in zip(acts, special, strict=True) if not s), default=0.0)
    if top <= 0:
        return [False] * len(acts)
    return [a > 0 and a >= fraction * top and not s for a, s in zip(acts, special, strict=True)]


def levels(acts: list[float], latent_max: float) -> list[int]:
    """Activation levels 0-10 against the latent's largest activation: ``ceil(10 a / max)``,
    so any positive activation is at least 1."""
    if latent_max <= 0:
        return [0] * len(acts)
    return [min(10, max(0, math.ceil(10 * a / latent_max - 1e-9))) if a > 0 else 0 for a in acts]


def _clean(piece: str) -> str:
    return piece.replace("\r", "").replace("\n", "\\n").replace("<<", "< <").replace(">>", "> >")


def marked_text(tokens: list[str], marks: list[bool] | None = None) -> str:
    """The window as one line, marked runs wrapped ``<<...>>``."""
    marks = marks or [False] * len(tokens)
    out, inside = [], False
    for piece, mark in zip(tokens, marks, strict=True):
        piece = _clean(piece)
        if mark and not inside:
            stripped = piece.lstrip()
            out.append(piece[: len(piece) - len(stripped)] + "<<" + stripped)
            inside = True
        elif not mark and inside:
            out.append(">>" + piece)
            inside = False
        else:
            out.append(piece)
    if inside:
        out.append(">>")
    return "".join(out)


def marked_runs(tokens: list[str], marks: list[bool]) -> list[str]:
    """The text of each marked run (what ``<<...>>`` encloses)."""
    runs, current = [], None
    for piece, mark in zip(tokens, marks, strict=True):
        if mark:
            current = (current or "") + _clean(piece)
        elif current is not None:
            runs.append(current.strip())
            current = None
    if current is not None:
        runs.append(current.strip())
    return runs
