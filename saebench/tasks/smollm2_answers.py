"""What SmolLM2-135M answers correctly on the ``smollm2-*`` tasks: measured once at build
time, shipped as ``data/smollm2_answers/{task}.json``, read by the tasks to keep only the
prompts the model knows (``known_only``) and to count them in ``saebench tasks show``.

A prompt is named by a short hash of its text and answer. A file holds the keys of the
prompts answered correctly, the fingerprint of the prompts measured (the task with
``known_only`` off) and the counts per (attribute, split); prompts of another config than the
measured one are "unmeasured" and dropped by ``known_only``.

Example:
    >>> measure(Smollm2IoiTask({"known_only": False}), load_model("smollm2-135m"))
    >>> load("smollm2-ioi").correct        # {"3f2a9c01d4e5", ...}
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from saebench.tasks.base import Task, TaskPrompt

ANSWERS_DIR = Path(__file__).parent / "data" / "smollm2_answers"


@dataclass(frozen=True)
class Answers:
    """One task's measured answers (empty when never measured)."""

    model: str | None = None
    method: str | None = None
    fingerprint: str | None = None  # of the task (known_only off) that was measured
    correct: frozenset[str] = field(default_factory=frozenset)

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.correct)).encode()).hexdigest()[:16]


def prompt_key(prompt: TaskPrompt) -> str:
    return hashlib.sha256(f"{prompt.text}\0{prompt.answer}".encode()).hexdigest()[:12]


@lru_cache(maxsize=8)
def load(task_name: str) -> Answers:
    path = ANSWERS_DIR / f"{task_name}.json"
    if not path.is_file():
        return Answers()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Answers(data["model"], data["method"], data["fingerprint"], frozenset(data["correct"]))


def known(prompts: list[TaskPrompt], answers: Answers) -> list[TaskPrompt]:
    """The prompts measured as answered correctly."""
    return [p for p in prompts if prompt_key(p) in answers.correct]


def counts(everything: Task, answers: Answers) -> dict[str, dict[str, str]]:
    """``{attribute: {split: "correct/prompts"}}`` over the task with ``known_only`` off."""
    out: dict[str, dict[str, str]] = {}
    for split in everything.splits:
        total, right = Counter(), Counter()
        for p in everything.prompts(split):
            total[p.asks] += 1
            right[p.asks] += prompt_key(p) in answers.correct
        for asks in total:
            out.setdefault(asks, {})[split] = f"{right[asks]}/{total[asks]}"
    return out


def note(everything: Task, answers: Answers) -> str:
    """Who answered, and whether the prompts shown are the ones measured."""
    if answers.model is None:
        return "not measured yet (known_only keeps nothing); run measure() with SmolLM2"
    same = everything.fingerprint() == answers.fingerprint
    where = "these prompts" if same else "another config (unmeasured prompts are dropped)"
    return f"{answers.method} answers of {answers.model}, measured on {where}"


def measure(
    everything: Task, model, method: Literal["greedy", "rank"] = "greedy", batch_size: int = 64
) -> dict[str, list[int]]:
    """Run ``model`` on every prompt of ``everything`` (a task with ``known_only`` off) and
    write its answers file; returns ``{"attribute/split": [prompts, correct]}``."""
    from saebench.models.load import model_identity
    from saebench.toolkit.answers import filter_answered

    survivors = filter_answered(everything, model, method, batch_size=batch_size)
    identity = model_identity(model)
    result = {f"{a}/{s}": list(n) for (a, s), n in sorted(survivors.counts.items())}
    data = {
        "model": f"{identity['name']} ({identity['revision']})",
        "method": method,
        "fingerprint": everything.fingerprint(),
        "counts": result,
        "correct": sorted({prompt_key(p) for p in survivors.kept}),
    }
    ANSWERS_DIR.mkdir(parents=True, exist_ok=True)
    path = ANSWERS_DIR / f"{everything.name}.json"
    path.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
    load.cache_clear()
    return result
