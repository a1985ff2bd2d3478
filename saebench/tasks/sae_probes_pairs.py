"""The ``sae-probes-pairs`` task: rows of the sae-probes datasets (PyPI ``sae-probes``) that
carry two attributes at once, for the ``scr`` and ``tpp`` evaluators, which need a
spurious attribute beside the target one (SAEBench uses profession x gender on
bias_in_bios and category x rating on Amazon reviews, neither of which installs here).

Three sets, each a group of prompts with its own attributes (other sets' prompts lack them):

* ``reviews``: review texts from three datasets, ``source`` (``yelp`` = 111_yelp_data,
  ``amazon`` = 157_amazon_5star, ``movie`` = 113_movie_sent) x ``sentiment``
  (``positive``/``negative``: Yelp 4 vs 0 stars, Amazon 5 stars vs not, the movie labels).
  Amazon's "Title: ...\\nReview: " frame is removed, so the source is not spelled out.
  SAEBench's analogue: Amazon product category x 1-vs-5-star rating.
* ``hist_fig``: historical figures' names present in both 5_hist_fig_ismale and
  7_hist_fig_ispolitician (570 names), ``gender`` x ``politician``. SAEBench's analogue:
  profession x gender on bios; here the text is a bare name, and small.
* ``news``: 97_news_class headlines, ``topic`` (Politics, Technology, Entertainment, Sport):
  TPP's classes (SAEBench: five professions, five Amazon categories).

Texts longer than ``max_chars`` are cut at a word boundary (SAEBench keeps a text's first
128 tokens). Rows are split by a hash of their text. One span, ``text``, covers the text.

Example:
    >>> task = build_task("sae-probes-pairs", {"sets": ["reviews"]})
    >>> task.prompts("train")[0].attributes          # {'source': 'yelp', 'sentiment': ...}
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Literal

from pydantic import Field

from saebench.data import sae_probes_files as files
from saebench.tasks.base import Task, TaskConfig, TaskPrompt

SPAN = "text"
SETS = ("reviews", "hist_fig", "news")
# (file, source name, label -> sentiment); other labels (Yelp's 1-3 stars) are dropped
_REVIEWS = (
    ("111_yelp_data", "yelp", {"4": "positive", "0": "negative"}),
    ("157_amazon_5star", "amazon", {"1": "positive", "0": "negative"}),
    ("113_movie_sent", "movie", {"1": "positive", "0": "negative"}),
)
_AMAZON_FRAME = re.compile(r"^Title:.*?\nReview:\s*", re.S)
_YES = {"1": "yes", "0": "no"}


class SaeProbesPairsConfig(TaskConfig):
    sets: list[Literal["reviews", "hist_fig", "news"]] = list(SETS)
    max_chars: int = Field(512, ge=16)  # longer texts are cut at a word boundary
    test_share: float = Field(0.25, gt=0, lt=1)  # share of rows (by text hash) in test


class SaeProbesPairsTask(Task):
    """sae-probes rows with two attributes (source x sentiment, gender x politician) or a
    multi-class one (news topic), probed over the whole text."""

    version = "1"
    description = "sae-probes rows with paired attributes, for scr and tpp"
    Config = SaeProbesPairsConfig
    splits = ("train", "test")

    @cached_property
    def _rows(self) -> list[tuple[str, dict[str, str]]]:
        rows: list[tuple[str, dict[str, str]]] = []
        for name in dict.fromkeys(self.config.sets):
            rows += {"reviews": _reviews, "hist_fig": _hist_fig, "news": _news}[name]()
        seen: dict[str, dict[str, str]] = {}
        for text, attributes in rows:
            text = _cut(text.strip(), self.config.max_chars)
            if text and text not in seen:  # a text twice keeps its first labels
                seen[text] = attributes
        return sorted(seen.items(), key=lambda row: _hash(f"order|{row[0]}"))

    def build(self, split: str) -> list[TaskPrompt]:
        share = self.config.test_share
        return [
            _prompt(text, attributes, split)
            for text, attributes in self._rows
            if ("test" if _hash(f"split|{text}") < share else "train") == split
        ]

    def attribute_values(self) -> dict[str, list[str]]:
        values: dict[str, set[str]] = {}
        for _, attributes in self._rows:
            for key, value in attributes.items():
                values.setdefault(key, set()).add(value)
        return {key: sorted(v) for key, v in values.items()}


def _reviews() -> list[tuple[str, dict[str, str]]]:
    out = []
    for name, source, sentiment in _REVIEWS:
        for text, label in files.read_dataset(name):
            if label.strip() in sentiment:
                text = _AMAZON_FRAME.sub("", text) if source == "amazon" else text
                out.append((text, {"source": source, "sentiment": sentiment[label.strip()]}))
    return out


def _hist_fig() -> list[tuple[str, dict[str, str]]]:
    male = _labels("5_hist_fig_ismale")
    politician = _labels("7_hist_fig_ispolitician")
    return [
        (name, {"gender": "male" if male[name] == "1" else "female", "politician": _YES[p]})
        for name, p in politician.items()
        if name in male and p in _YES and male[name] in _YES
    ]


def _news() -> list[tuple[str, dict[str, str]]]:
    return [(text, {"topic": label.strip()}) for text, label in files.read_dataset("97_news_class")]


def _labels(name: str) -> dict[str, str]:
    """Text -> label, texts given two labels dropped."""
    out: dict[str, set[str]] = {}
    for text, label in files.read_dataset(name):
        out.setdefault(text.strip(), set()).add(label.strip())
    return {t: next(iter(ls)) for t, ls in out.items() if len(ls) == 1}


def _prompt(text: str, attributes: dict[str, str], split: str) -> TaskPrompt:
    asks = next(iter(attributes))
    return TaskPrompt(
        text=text,
        spans={SPAN: (0, len(text))},
        answer=attributes[asks],
        attributes=attributes,
        asks=asks,
        split=split,
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return head[:space].rstrip() if space > limit // 2 else head


def _hash(text: str) -> float:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
