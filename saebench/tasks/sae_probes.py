"""The ``sae-probes`` task: the labelled datasets of Kantamneni et al. 2025 ("Are Sparse
Autoencoders Useful? A Case Study in Sparse Probing"), as shipped in the PyPI wheel
``sae-probes`` (MIT), for ``sparse_probing``.

Each dataset becomes one attribute (its key, ``"glue_cola"``) whose value is the row's label;
prompts of other datasets do not have it, so every dataset is its own probing problem and
``sparse_probing`` reports it as ``sae_accuracy_k1_glue_cola``. A prompt is the dataset's
text with one span, ``text``, over all of it: probes read the last token, as sae-probes
does. Rows are split into ``train`` and ``test`` by a hash of their text (``test_share`` of
them to test), after keeping at most ``max_per_class`` rows of each label (chosen by a seeded
hash: no order effects); a text given two labels is dropped. Datasets with an
out-of-distribution file also fill the split ``ood``.

The default subset is ten short-prompt binary datasets that run in minutes on 2 cores
(``DEFAULT_DATASETS``); ``datasets: all`` takes every binary dataset (113, the paper's
set), and any dataset can be named by key or file name.

Example:
    >>> task = build_task("sae-probes", {"datasets": ["glue_cola"], "max_per_class": 100})
    >>> p = task.prompts("test")[0]
    >>> p.asks, p.answer, p.spans                      # ('glue_cola', '1', {'text': (0, 35)})
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator

from saebench.data import sae_probes_files as files
from saebench.tasks.base import Task, TaskConfig, TaskPrompt

SPAN = "text"
DEFAULT_DATASETS: tuple[str, ...] = (
    "hist_fig_ismale",
    "athlete_sport_basketball",
    "art_type_book",
    "world_country_united_states",
    "headline_istrump",
    "click_bait",
    "glue_cola",
    "glue_sst2",
    "twt_emotion_happiness",
    "sciq_tf",
)


class SaeProbesConfig(TaskConfig):
    # dataset keys or file names (`saebench tasks show sae-probes`), or "all" (binary ones)
    datasets: list[str] | Literal["all"] = list(DEFAULT_DATASETS)
    max_per_class: int | None = Field(300, ge=1)  # rows kept per label and dataset; None: all
    test_share: float = Field(0.3, gt=0, lt=1)  # share of rows (by text hash) in test
    max_chars: int | None = Field(2000, ge=1)  # longer prompts are dropped; None: keep all
    seed: int = 0

    @field_validator("datasets")
    @classmethod
    def _known(cls, value):
        if value == "all":
            return value
        if not value:
            raise ValueError("name at least one dataset, or 'all'")
        return [files.dataset_key(files.resolve_name(name)) for name in value]


class SaeProbesTask(Task):
    """The sae-probes datasets: one attribute per dataset, probed at the prompt's last token."""

    version = "1"
    description = "sae-probes datasets (Kantamneni et al. 2025): one probing problem each"
    Config = SaeProbesConfig
    splits = ("train", "test", "ood")

    @cached_property
    def names(self) -> list[str]:
        """The chosen datasets' file names, in config order."""
        if self.config.datasets == "all":
            return [n for n in files.dataset_names() if len(_labels(n)) == 2]
        return [files.resolve_name(key) for key in self.config.datasets]

    def build(self, split: str) -> list[TaskPrompt]:
        out = []
        for name in self.names:
            if split == "ood":
                ood = f"{name}_OOD"
                if ood in files.dataset_files():
                    known = _labels(name)  # an OOD file may spell a label differently: dropped
                    rows = [r for r in files.read_dataset(ood) if r[1].strip() in known]
                    out += self._dataset_prompts(name, rows, "ood")
            else:
                rows = files.read_dataset(name)
                out += [p for p in self._dataset_prompts(name, rows, None) if p.split == split]
        return out

    def _dataset_prompts(self, name: str, rows, split: str | None) -> list[TaskPrompt]:
        c, key = self.config, files.dataset_key(name)
        by_label: dict[str, list[str]] = defaultdict(list)
        for text, label in _clean(rows, c.max_chars):
            by_label[label].append(text)
        out = []
        for label in sorted(by_label):
            kept = sorted(by_label[label], key=lambda t: _hash(f"{c.seed}|{key}|{t}"))
            for text in kept[: c.max_per_class]:
                where = split or ("test" if _hash(f"split|{text}") < c.test_share else "train")
                out.append(_prompt(text, key, label, where))
        return sorted(out, key=lambda p: _hash(f"{c.seed}|order|{p.text}"))

    def attribute_values(self) -> dict[str, list[str]]:
        return {files.dataset_key(n): sorted(_labels(n)) for n in self.names}

    def describe(self) -> dict:
        """Rows per dataset, split and label, for ``saebench tasks show``."""
        attributes = {}
        for name in self.names:
            key = files.dataset_key(name)
            row: dict = {"file": name}
            for split in self.splits:
                counts = Counter(p.answer for p in self.prompts(split) if p.asks == key)
                if counts:
                    row[split] = " / ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
            attributes[key] = row
        return {"attributes": attributes, "source": f"PyPI sae-probes, {files.LICENCE}"}


def _prompt(text: str, key: str, label: str, split: str) -> TaskPrompt:
    return TaskPrompt(
        text=text,
        spans={SPAN: (0, len(text))},
        answer=label,
        attributes={key: label},
        asks=key,
        split=split,
        tags={"dataset": key},
    )


def _clean(rows, max_chars: int | None) -> list[tuple[str, str]]:
    """Stripped, non-empty texts of at most ``max_chars``; a text with two labels dropped."""
    labels: dict[str, set[str]] = defaultdict(set)
    for text, label in rows:
        text = text.strip()
        if text and (max_chars is None or len(text) <= max_chars):
            labels[text].add(label.strip())
    return [(t, next(iter(ls))) for t, ls in labels.items() if len(ls) == 1]


def _labels(name: str) -> set[str]:
    return {label.strip() for _, label in files.read_dataset(name)}


def _hash(text: str) -> float:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
