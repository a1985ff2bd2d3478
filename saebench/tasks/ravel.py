"""The ``ravel`` task: RAVEL's entity-attribute prompts, read from RAVEL's own files.

RAVEL (Huang et al. 2024) ships four JSON files per entity type (``city``,
``nobel_prize_winner``, ``occupation``, ``physical_object``, ``verb``) in one folder:

* ``ravel_{type}_entity_attributes.json``: ``{entity: {attribute: value}}``;
* ``ravel_{type}_attribute_to_prompts.json``: ``{attribute: [template, ...]}``, each template
  holding ``%s`` where the entity goes;
* ``ravel_{type}_entity_to_split.json``: ``{entity: "train" | "val" | "test"}``;
* ``ravel_{type}_prompt_to_split.json``: ``{template: "train" | "val" | "test"}``.

Every (entity, attribute, template) with a label becomes one :class:`TaskPrompt`, exactly as
``zoo-cities`` builds them: the span ``"entity"`` over the entity's characters, ``answer`` the
value, ``attributes`` every labelled attribute of the entity plus the entity itself under the
type's name, ``asks`` the attribute, ``split`` the entity's split, and the tags ``template``
(``"Country#3"``: the attribute and the template's index in its list) and ``template_split``
(the template's split, an axis of the task).

What the real files hold, and how it is read:

* a value that is empty, ``null`` or missing for an entity (occupation's "Gender Bias" has
  prompts but no labels at all): that entity's prompts for the attribute are skipped and
  counted (:meth:`RavelTask.describe`); numbers (years) are read as their text;
* labels of several values joined by commas (city languages, ``"Arabic,Kurdish,Turkish"``):
  kept as written; :func:`alternatives` splits them and :func:`same_value` compares them;
* templates ending in whitespace (``"The longitude of %s is "``): the trailing whitespace is
  dropped, so the answer tokenises as the next word (counted);
* templates starting with a space, or ending in a JSON quote (``{"city": "%s", "lat": "``),
  are kept as they are;
* templates of ``prompt_to_split`` that no attribute lists (RAVEL's Wikipedia prompts) and
  attributes labelled in the entity file that have no prompts are ignored;
* malformed files raise a one-line :class:`SaebenchError` naming the file and the key: a
  missing file (with what the folder holds), invalid JSON (with its line), a template without
  exactly one ``%s``, an attribute with no prompts, an entity or a template without a split.

Parsed files are cached per process (keyed by path, size and modification time).

Example:
    >>> from saebench.tasks import build_task
    >>> task = build_task("ravel", {"data_dir": "RAVEL_DATA", "entity_type": "city",
    ...                             "attributes": ["Country"], "max_entities": 50})
    >>> prompt = task.prompts("test")[0]
    >>> prompt.text, prompt.answer, prompt.tags["template_split"]
    >>> task.instance_split(prompt)     # "entity": a held-out city under a training template
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import field_validator

from saebench.errors import SaebenchError
from saebench.tasks.base import Builder, Task, TaskConfig, TaskPrompt

ENTITY_TYPES: tuple[str, ...] = (
    "city",
    "nobel_prize_winner",
    "occupation",
    "physical_object",
    "verb",
)
FILES: tuple[str, ...] = (
    "entity_attributes",
    "attribute_to_prompts",
    "entity_to_split",
    "prompt_to_split",
)
SPLITS: tuple[str, ...] = ("train", "val", "test")
PLACEHOLDER = "%s"


class RavelConfig(TaskConfig):
    data_dir: str  # the folder holding ravel_{entity_type}_*.json
    entity_type: str = "city"
    attributes: list[str] | None = None  # the attributes asked about; None: every one with prompts
    max_entities: int | None = None  # per entity split, a seeded sample; None: all
    max_templates_per_attribute: int | None = None  # per (attribute, template split); None: all
    seed: int = 0

    @field_validator("entity_type")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or any(c in value for c in "/\\ ") or value.startswith("."):
            raise ValueError(
                f"{value!r} is not an entity type name (e.g. {', '.join(ENTITY_TYPES)})"
            )
        return value

    @field_validator("max_entities", "max_templates_per_attribute")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be at least 1 (or null for all)")
        return value


@dataclass(frozen=True)
class RavelData:
    """One entity type's four files, checked and parsed.

    ``labels[entity]`` holds only non-empty values; ``templates[attribute]`` the templates in
    file order (as written, before trailing whitespace is dropped).
    """

    entity_type: str
    labels: dict[str, dict[str, str]]
    entity_split: dict[str, str]
    templates: dict[str, list[str]]
    template_split: dict[str, str]
    digest: str  # a hash of the four files' bytes
    empty_values: Counter = field(default_factory=Counter)  # attribute -> entities without a value


def ravel_path(data_dir: str | Path, entity_type: str, part: str) -> Path:
    """The path of one of RAVEL's files (``part`` one of :data:`FILES`)."""
    return Path(data_dir).expanduser() / f"ravel_{entity_type}_{part}.json"


def load_ravel(data_dir: str | Path, entity_type: str) -> RavelData:
    """The checked files of ``entity_type`` in ``data_dir`` (cached while they are unchanged).

    Example:
        >>> data = load_ravel("RAVEL_DATA", "city")
        >>> len(data.labels), sorted(data.templates)
    """
    paths = [ravel_path(data_dir, entity_type, part) for part in FILES]
    for path in paths:
        if not path.is_file():
            raise SaebenchError(_missing(path, entity_type))
    stamps = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    if stamps not in _CACHE:
        _CACHE[stamps] = _parse(paths, entity_type)
    return _CACHE[stamps]


_CACHE: dict[tuple, RavelData] = {}


def _missing(path: Path, entity_type: str) -> str:
    folder = path.parent
    if not folder.is_dir():
        return (
            f"RAVEL data folder {folder} does not exist; "
            "set data_dir to the folder of ravel_*_*.json"
        )
    files = sorted(p.name for p in folder.iterdir() if p.suffix == ".json")
    types = sorted(
        {
            n[6 : -len(f"_{part}.json")]
            for n in files
            for part in FILES
            if n.startswith("ravel_") and n.endswith(f"_{part}.json")
        }
    )
    held = (
        ", ".join(files[:12]) + (", ..." if len(files) > 12 else "") if files else "no JSON files"
    )
    hint = f"entity types there: {', '.join(types)}" if types else "no RAVEL files there"
    return f"{path.name} is missing from {folder} (it holds {held}; {hint})"


def _read_json(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SaebenchError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SaebenchError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise SaebenchError(
            f"{path}: expected a JSON object at the top, found {type(data).__name__}"
        )
    return data, raw


def _parse(paths: list[Path], entity_type: str) -> RavelData:
    (attrs, raw_a), (prompts, raw_p), (ent_split, raw_e), (tpl_split, raw_t) = map(
        _read_json, paths
    )
    digest = hashlib.sha256(b"\0".join((raw_a, raw_p, raw_e, raw_t))).hexdigest()[:16]
    templates = _templates(prompts, paths[1])
    labels, empty = _labels(attrs, paths[0])
    entity_split = {str(k): v for k, v in ent_split.items()}
    for entity in labels:
        _check_split(entity_split.get(entity), paths[2], f"entity {entity!r}", paths[0].name)
    template_split = {str(k): v for k, v in tpl_split.items()}
    for attribute, items in templates.items():
        for template in items:
            where = f"template {template!r} (attribute {attribute!r})"
            _check_split(template_split.get(template), paths[3], where, paths[1].name)
    return RavelData(entity_type, labels, entity_split, templates, template_split, digest, empty)


def _check_split(split: Any, path: Path, what: str, listed_in: str) -> None:
    if split is None:
        raise SaebenchError(
            f"{path}: {what} of {listed_in} has no split; add it as train, val or test"
        )
    if split not in SPLITS:
        raise SaebenchError(f"{path}: {what} has split {split!r}; use train, val or test")


def _templates(data: dict, path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for attribute, items in data.items():
        if not isinstance(items, list) or not items:
            raise SaebenchError(
                f"{path}: attribute {attribute!r} has no prompts "
                "(expected a non-empty list of templates)"
            )
        for template in items:
            if not isinstance(template, str) or template.count(PLACEHOLDER) != 1:
                raise SaebenchError(
                    f"{path}: attribute {attribute!r}: template {template!r} must hold "
                    f"{PLACEHOLDER} exactly once (where the entity goes)"
                )
        out[str(attribute)] = list(items)
    if not out:
        raise SaebenchError(f"{path}: no attribute has prompts")
    return out


def _labels(data: dict, path: Path) -> tuple[dict[str, dict[str, str]], Counter]:
    labels: dict[str, dict[str, str]] = {}
    empty: Counter = Counter()
    for entity, row in data.items():
        if not isinstance(row, dict):
            raise SaebenchError(
                f"{path}: entity {entity!r}: expected an object of attribute values, "
                f"found {type(row).__name__}"
            )
        if not entity.strip():
            raise SaebenchError(f"{path}: an entity has an empty name; remove it or name it")
        kept = {}
        for attribute, value in row.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float | type(None)):
                raise SaebenchError(
                    f"{path}: entity {entity!r}, attribute {attribute!r}: "
                    f"expected a text value, found {value!r}"
                )
            text = "" if value is None else str(value).strip()
            if text:
                kept[attribute] = text
            else:
                empty[attribute] += 1
        labels[entity] = kept
    return labels, empty


class RavelTask(Task):
    """RAVEL's prompts for one entity type (config ``data_dir``, ``entity_type``).

    Splits are RAVEL's entity splits; the ``template_split`` axis is the template's split.
    :meth:`instance_split` maps a prompt to the instance split of the ``ravel`` evaluator:
    ``train`` (train entity, train template), ``entity`` (test entity, train template) or
    ``context`` (train entity, test template); val entities and templates are left out.
    Pair builders, one per asked attribute: a source entity of the same split whose value of
    that attribute differs, under the same template; the builder named after the entity type
    swaps in any other entity.
    """

    version = "1"
    description = "RAVEL entity attributes from RAVEL's files (set data_dir and entity_type)"
    Config = RavelConfig
    axes = ("template_split",)

    # -- data ---------------------------------------------------------------------------------
    @cached_property
    def data(self) -> RavelData:
        return load_ravel(self.config.data_dir, self.config.entity_type)

    @property
    def entity_key(self) -> str:
        """The attribute under which each prompt names its entity (the entity type)."""
        return self.config.entity_type

    @cached_property
    def asked(self) -> list[str]:
        """The attributes asked about, in the prompt file's order (or the config's)."""
        known = self.data.templates
        wanted = self.config.attributes
        if wanted is None:
            return list(known)
        path = ravel_path(self.config.data_dir, self.config.entity_type, "attribute_to_prompts")
        for attribute in wanted:
            if attribute not in known:
                raise SaebenchError(
                    f"{path.name} has no prompts for attribute {attribute!r} "
                    f"(it has {', '.join(known)})"
                )
        return list(dict.fromkeys(wanted))

    @cached_property
    def entities(self) -> dict[str, list[str]]:
        """The entities of each split, in file order (a seeded sample with ``max_entities``)."""
        c, data = self.config, self.data
        out = {}
        for split in SPLITS:
            names = [e for e in data.labels if data.entity_split[e] == split]
            if c.max_entities is not None and len(names) > c.max_entities:
                rng = random.Random(f"ravel|{c.entity_type}|entities|{split}|{c.seed}")
                keep = set(rng.sample(names, c.max_entities))
                names = [e for e in names if e in keep]
            out[split] = names
        return out

    @cached_property
    def templates(self) -> dict[str, list[tuple[int, str]]]:
        """``(index in the file's list, template)`` per asked attribute, sampled per template
        split with ``max_templates_per_attribute``."""
        c, data = self.config, self.data
        out = {}
        for attribute in self.asked:
            items = list(enumerate(data.templates[attribute]))
            if c.max_templates_per_attribute is not None:
                keep = set()
                for split in SPLITS:
                    mine = [i for i, t in items if data.template_split[t] == split]
                    rng = random.Random(f"ravel|{c.entity_type}|{attribute}|{split}|{c.seed}")
                    keep |= set(rng.sample(mine, min(len(mine), c.max_templates_per_attribute)))
                items = [(i, t) for i, t in items if i in keep]
            out[attribute] = items
        return out

    # -- the Task protocol ----------------------------------------------------------------------
    def build(self, split: str) -> list[TaskPrompt]:
        out = []
        for entity in self.entities[split]:
            labels = self.data.labels[entity]
            attributes = self._attributes(entity)
            for attribute in self.asked:
                if attribute not in labels:
                    continue  # no label: skipped, counted by describe()
                for form in self._forms[attribute]:
                    out.append(form.prompt(entity, attributes, attribute, split))
        return out

    @cached_property
    def _forms(self) -> dict[str, list[_Form]]:
        return {
            a: [_Form.of(t, a, i, self.data.template_split[t]) for i, t in self.templates[a]]
            for a in self.asked
        }

    def attribute_values(self) -> dict[str, list[str]]:
        names = [e for split in SPLITS for e in self.entities[split]]
        values: dict[str, set[str]] = {}
        for entity in names:
            for attribute, value in self.data.labels[entity].items():
                values.setdefault(attribute, set()).add(value)
        return {self.entity_key: sorted(names), **{a: sorted(v) for a, v in values.items()}}

    def pair_builders(self) -> dict[str, Builder]:
        labelled = self.attribute_values()  # an attribute nobody has a label of has no pairs
        builders: dict[str, Builder] = {a: self._changing(a) for a in self.asked if a in labelled}
        builders[self.entity_key] = self._changing(None)
        return builders

    def fingerprint(self) -> str:
        """The prompts are a function of the files' bytes, the config and ``version``:
        hashing those is the same as hashing every prompt, and fast on RAVEL's million city
        prompts. Where the folder is does not count (the same files elsewhere, the same hash)."""
        config = self.config.model_dump(mode="json", exclude={"data_dir"})
        row = json.dumps([self.data.digest, self.version, config], sort_keys=True)
        return hashlib.sha256(row.encode()).hexdigest()[:16]

    # -- the ravel evaluator's instance splits -----------------------------------------------------
    def instance_split(self, prompt: TaskPrompt) -> str | None:
        """``"train"``, ``"val"`` (a val entity under a train template), ``"entity"``
        (held-out entity), ``"context"`` (held-out template) or None (a val template, or a
        test entity under a test template)."""
        return instance_split_of(prompt.split, str(prompt.tags["template_split"]))

    # -- reporting ---------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Entities per split, and per attribute its values, labelled entities, templates
        per split and the prompts skipped for want of a label.

        Example:
            >>> task.describe()["attributes"]["Country"]["templates"]   # {"train": 16, ...}
        """
        data = self.data
        chosen = [e for split in SPLITS for e in self.entities[split]]
        rows = {}
        for attribute in self.asked:
            labelled = [e for e in chosen if attribute in data.labels[e]]
            split_of = [data.template_split[t] for _, t in self.templates[attribute]]
            n_templates = len(self.templates[attribute])
            rows[attribute] = {
                "values": len({data.labels[e][attribute] for e in labelled}),
                "labelled_entities": len(labelled),
                "templates": {s: split_of.count(s) for s in SPLITS},
                "prompts": len(labelled) * n_templates,
                "skipped_prompts": (len(chosen) - len(labelled)) * n_templates,
            }
        stripped = sum(t != t.rstrip() for a in self.asked for _, t in self.templates[a])
        return {
            "entity_type": data.entity_type,
            "entities": {s: len(self.entities[s]) for s in SPLITS},
            "attributes": rows,
            "templates_trailing_space_dropped": stripped,
            "empty_values": dict(sorted(data.empty_values.items())),
            "labels_without_prompts": sorted(
                {a for row in data.labels.values() for a in row} - set(data.templates)
            ),
        }

    # -- helpers -----------------------------------------------------------------------------------
    def _attributes(self, entity: str) -> dict[str, str]:
        return {self.entity_key: entity, **self.data.labels[entity]}

    def _changing(self, attribute: str | None) -> Builder:
        def build(base: TaskPrompt, rng: random.Random) -> TaskPrompt | None:
            entity = base.attributes[self.entity_key]
            candidates = [
                e
                for e in self.entities[base.split]
                if e != entity
                and base.asks in self.data.labels[e]
                and (attribute is None or _differs(self.data.labels[e], base.attributes, attribute))
            ]
            if not candidates:
                return None
            source = rng.choice(candidates)
            tag = base.tags["template"]
            form = next(f for f in self._forms[base.asks] if f.tags["template"] == tag)
            return form.prompt(source, self._attributes(source), base.asks, base.split)

        return build


@dataclass(frozen=True)
class _Form:
    """One template cut at its ``%s``, with the tags its prompts share."""

    head: str
    tail: str
    tags: dict[str, str]

    @classmethod
    def of(cls, template: str, attribute: str, index: int, split: str) -> _Form:
        # trailing whitespace would make the answer's first token merge with it
        head, _, tail = template.rstrip().partition(PLACEHOLDER)
        return cls(head, tail, {"template": f"{attribute}#{index}", "template_split": split})

    def prompt(
        self, entity: str, attributes: dict[str, str], attribute: str, split: str
    ) -> TaskPrompt:
        start = len(self.head)
        return TaskPrompt(
            text=self.head + entity + self.tail,
            spans={"entity": (start, start + len(entity))},
            answer=attributes[attribute],
            attributes=attributes,
            asks=attribute,
            split=split,
            tags=self.tags,  # shared by every prompt of the template (read only)
        )


def _differs(labels: Mapping[str, str], base: Mapping[str, str], attribute: str) -> bool:
    return (
        attribute in labels
        and attribute in base
        and not same_value(labels[attribute], base[attribute])
    )


def alternatives(value: str) -> list[str]:
    """The values a label allows: RAVEL writes some as several joined by commas (city
    languages such as ``"Arabic,Kurdish,Turkish"``), any of which is a right answer.

    Example:
        >>> alternatives("Chinese,Korean"), alternatives("Japan")
        (['Chinese', 'Korean'], ['Japan'])
    """
    return [part.strip() for part in value.split(",") if part.strip()]


@lru_cache(maxsize=1 << 16)  # pair sampling compares the same few labels very often
def same_value(a: str, b: str) -> bool:
    """Whether two labels share an allowed value (case aside): such entities do not
    differ in that attribute."""
    return bool({v.casefold() for v in alternatives(a)} & {v.casefold() for v in alternatives(b)})


def instance_split_of(entity_split: str, template_split: str) -> str | None:
    """The ``ravel`` instance split of an (entity split, template split) pair: ``train`` x
    ``train`` is ``"train"``, ``val`` entity x ``train`` template ``"val"`` (where DAS picks
    its dimension), ``test`` entity x ``train`` template ``"entity"``, ``train`` entity x
    ``test`` template ``"context"``; anything else None."""
    return {
        ("train", "train"): "train",
        ("val", "train"): "val",
        ("test", "train"): "entity",
        ("train", "test"): "context",
    }.get((entity_split, template_split))
