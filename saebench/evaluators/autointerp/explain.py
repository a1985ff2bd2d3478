"""The explainer: a prompt of highlighted examples with activation levels, and a robust parse
of the judge's ``Explanation: ...`` line.

Each example is one line ``Example N: text`` with the strongest tokens (at least
``highlight_fraction`` of the example's maximum) marked ``<<...>>``, followed by a line
``Levels: tok (7), tok (3)`` listing every active token with its level 0-10 against the
latent's largest activation. The answer's last ``Explanation:`` line is the explanation
(markdown and wrapping quotes of a quoted sentence stripped); none, or an empty one, is a
failure ("unparsable"), never scored.

Example:
    >>> request = explain_request(examples, latent_max=4.2, highlight_fraction=0.3)
    >>> parse_explanation('I think...\\n**Explanation:** "Paris", "France"')
    '"Paris", "France"'
"""

from __future__ import annotations

import re

from saebench.evaluators.autointerp.render import Example, levels, marked_text, strongest

SYSTEM = (
    "You are helping to interpret one latent feature of a language model. You get short text "
    "excerpts where the feature is active. In each excerpt the tokens where it is strongest "
    "are marked <<like this>>, and the line after the excerpt lists the active tokens with "
    "their level from 1 (weak) to 10 (the strongest seen). Work out what the marked tokens "
    "share: the words themselves, their meaning, or the context around them. Keep any "
    "reasoning short, then finish with a single line of the form\n"
    "Explanation: <a description of at most 15 words>"
)

_LINE = re.compile(r"^[\s>#*_`\-\[]*explanation[\s*_`\]]*:[\s*_`]*(.*)$", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}


def example_lines(examples: list[Example], latent_max: float, fraction: float) -> list[str]:
    """``Example N: ...`` and its ``Levels: ...`` line, for every example."""
    lines = []
    for n, ex in enumerate(examples, 1):
        ex.highlight = strongest(ex.acts, ex.special, fraction)
        lines.append(f"Example {n}: {marked_text(ex.tokens, ex.highlight)}")
        shown = [
            f"{tok.strip() or repr(tok)} ({level})"
            for tok, level, on in zip(
                ex.tokens, levels(ex.acts, latent_max), ex.active(), strict=True
            )
            if on
        ]
        lines.append("Levels: " + ", ".join(shown))
    return lines


def explain_messages(
    examples: list[Example], latent_max: float, fraction: float
) -> tuple[tuple[str, str], ...]:
    body = "\n".join(example_lines(examples, latent_max, fraction))
    user = f"Excerpts where the feature is active:\n\n{body}\n\nWhat does the feature detect?"
    return (("system", SYSTEM), ("user", user))


def parse_explanation(text: str | None) -> str | None:
    """The explanation of the last ``Explanation:`` line, cleaned; None if there is none."""
    if not text:
        return None
    found = None
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            found = match.group(1)
    if found is None:
        return None
    found = found.strip().strip("*_").strip()
    found = _unwrap(found)
    return found or None


def _unwrap(text: str) -> str:
    """Drop quotes around a whole quoted sentence ("Fires on dates."); a quoted word or a
    list of quoted strings ("Paris", "France") keeps them: they name literal tokens."""
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        inner = text[1:-1].strip()
        if " " in inner and not any(q in inner for q in (text[0], text[-1])):
            return inner
    return text
