"""Suites: an evaluation written down as data (``evals/*.yaml``), checked before anything loads.

A suite names the SAEs (URIs, globs over local paths or the zoo, or a SAELens release with a
pattern of SAE ids), the model, the dataset and token budget, the evaluators with their
configs, and how the groups run. :func:`load_suite` reads and validates it: an unknown key, a
wrong type, an unknown evaluator or a bad evaluator setting is one error naming the file, the
line and the fix. :meth:`Suite.plan` turns it into groups (:func:`saebench.run.planning.plan`,
which loads the SAEs and model once); :meth:`Suite.dry_plan` says what would run without
loading anything. The format is described in ``docs/suites.md``.

Example:
    >>> suite = load_suite("evals/quickstart.yaml")
    >>> [group.saes for group in suite.dry_plan().groups]
"""

from __future__ import annotations

import difflib
import fnmatch
import glob
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from saebench.adapters.control import ControlsSetting, base_of
from saebench.errors import SaebenchError
from saebench.llm.settings import LlmSettings, merge_settings
from saebench.run.request import ExecutorSettings, RunRequest

ALL_EVALUATORS = "all"  # an evaluators entry that stands for every installed evaluator
_GLOB_CHARS = "*?["
_SCHEME = re.compile(r"^([A-Za-z][\w-]+):(?!//)(.*)$")  # as adapters.resolve reads URIs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SaeSource(_Strict):
    """One entry of ``saes``: a URI or glob (a plain string), or a SAELens release."""

    uri: str | None = None
    saelens_release: str | None = None
    sae_ids: str = "*"  # fnmatch pattern over the release's SAE ids

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"uri": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind(self) -> SaeSource:
        if (self.uri is None) == (self.saelens_release is None):
            raise ValueError(
                "give a URI or glob as a string, or {saelens_release: NAME, sae_ids: PATTERN}"
            )
        return self


class EvaluatorEntry(_Strict):
    """One entry of ``evaluators``: a name (or ``all``), or a mapping with its settings."""

    name: str
    preset: Literal["defaults", "quickstart"] | None = None  # None: the suite's preset
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class Context(_Strict):
    """How text becomes contexts; unset fields come from each SAE's own metadata."""

    context_size: int | None = Field(default=None, ge=2)
    prepend_bos: bool | None = None
    separator: str | int | None = None  # bos, eos, sep, none or a token id


class Executor(_Strict):
    """Where and how the groups run (none of this changes a number)."""

    name: Literal["local", "ray"] = "local"
    address: str | None = None  # Ray cluster address; None starts a local Ray instance
    num_cpus: float = Field(default=1, ge=0)  # per Ray task (one task per group)
    num_gpus: float = Field(default=0, ge=0)
    retries: int = Field(default=1, ge=0)  # Ray: times a failed group is submitted again
    device: str | None = None
    batch_size: int | None = Field(default=None, ge=1)


class Suite(_Strict):
    """A validated suite. Build it with :func:`load_suite` (or :func:`parse_suite`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = "1"
    description: str = ""
    saes: list[SaeSource] = Field(min_length=1)
    model: str | None = None  # None: the SAEs' own model
    dataset: str | None = None
    tokens: int | None = Field(default=None, ge=1)  # None: 200,000, capped at the dataset
    context: Context = Field(default_factory=Context)
    preset: Literal["defaults", "quickstart"] = "defaults"
    evaluators: list[EvaluatorEntry] = Field(min_length=1)
    executor: Executor = Field(default_factory=Executor)
    out: str | None = None  # records folder; None: results/NAME
    controls: ControlsSetting | None = None  # controls beside the SAEs (docs/controls.md)
    # the judge of evaluators that ask an LLM and its limits (LlmSettings fields; flags win)
    llm: LlmSettings | None = None

    _source: str = PrivateAttr(default="<suite>")
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _lines: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, value: Any) -> Any:
        """``version: 2`` is text; one SAE or evaluator may be given without a list."""
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if isinstance(value.get("version"), (int, float)) and not isinstance(
            value["version"], bool
        ):
            value["version"] = str(value["version"])
        for key in ("saes", "evaluators"):
            if isinstance(value.get(key), str):
                value[key] = [value[key]]
        return value

    # -- where things are --------------------------------------------------------------------
    def where(self, *loc: str | int) -> str:
        """``file:line`` of the YAML node at ``loc`` (the deepest one found)."""
        return f"{self._source}:{_line_of(self._lines, loc)}"

    def out_dir(self) -> Path:
        """Where the records go: ``out`` (relative to the working directory) or results/NAME."""
        return Path(self.out) if self.out else Path("results") / self.name

    # -- what runs ---------------------------------------------------------------------------
    def sae_uris(self) -> list[str]:
        """Every SAE URI, globs and releases expanded, in order, each once."""
        uris: list[str] = []
        for index, source in enumerate(self.saes):
            uris += self._expand(source, index)
        return self._with_controls(list(dict.fromkeys(uris)))

    def _with_controls(self, uris: list[str]) -> list[str]:
        """Each SAE that ``controls`` chooses followed by its controls (same group)."""
        if self.controls is None:
            return uris
        try:
            return self.controls.expand(uris)
        except SaebenchError as exc:
            raise SaebenchError(f"{self.where('controls')}: {exc}") from exc

    def _expand(self, source: SaeSource, index: int) -> list[str]:
        if source.saelens_release is not None:
            try:
                return release_uris(source.saelens_release, source.sae_ids)
            except SaebenchError as exc:
                raise SaebenchError(f"{self.where('saes', index)}: {exc}") from exc
        uri = source.uri
        if not any(char in uri for char in _GLOB_CHARS):
            return [self._located(uri)]
        found = expand_glob(uri, self._root)
        if not found:
            raise SaebenchError(
                f"{self.where('saes', index)}: {uri!r} matches no SAE; check the pattern "
                "(`saebench zoo list` shows zoo names; paths are relative to the suite file)"
            )
        return found

    def _located(self, uri: str) -> str:
        """A relative path is looked up next to the suite file, then in the working folder."""
        prefix, location = split_scheme(uri)
        path = Path(location).expanduser()
        if not path.is_absolute() and (self._root / path).exists():
            return prefix + str((self._root / path).resolve())
        return uri

    def evaluator_configs(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """Evaluator names in order and their configs (preset values, then the suite's)."""

        names: list[str] = []
        configs: dict[str, dict[str, Any]] = {}
        self._refuse_repeated_evaluators()
        for index, entry in enumerate(self.evaluators):
            expanded = self._all_evaluators() if entry.name == ALL_EVALUATORS else [entry.name]
            if entry.name == ALL_EVALUATORS and entry.config:
                raise SaebenchError(
                    f"{self.where('evaluators', index, 'config')}: `all` takes no config; "
                    "list the evaluator by name to give it settings"
                )
            for name in expanded:
                config = self._config(name, entry, index)
                if name not in names:
                    names.append(name)
                if config:
                    configs[name] = config
        return names, configs

    def _all_evaluators(self) -> list[str]:
        """Every installed evaluator the suite's source can serve: on a model, all but those
        that need synthetic ground truth or embeddings; on a synthetic tier or an embedding
        model, those that need no model runner (CE/KL aside, which they turn off)."""
        from saebench.models.embedding import is_embedding_model
        from saebench.registry import evaluators
        from saebench.sources import DOWNSTREAM, ModelSource, SyntheticSource, needed_services
        from saebench.sources.embedding import EmbeddingSource
        from saebench.synthetic.config import TIERS

        embedding = is_embedding_model(self.model)
        synthetic = self.model in TIERS or embedding  # no logits either
        serves = (SyntheticSource if self.model in TIERS else ModelSource).serves
        serves = EmbeddingSource.serves if embedding else serves
        kept = []
        for name in evaluators.names():
            cls = evaluators.get(name)
            wanted = needed_services(cls.needs_for(cls.Config()))
            if synthetic:
                wanted.discard(DOWNSTREAM)
            if wanted <= serves:
                kept.append(name)
        return kept

    def _refuse_repeated_evaluators(self) -> None:
        """An evaluator named twice would keep one of its configs silently. (A name after
        ``all`` is not a repeat: it gives that evaluator its own settings.)"""
        first: dict[str, int] = {}
        for index, entry in enumerate(self.evaluators):
            if entry.name in first:
                earlier = _line_of(self._lines, ("evaluators", first[entry.name]))
                raise SaebenchError(
                    f"{self.where('evaluators', index)}: evaluator {entry.name!r} is listed "
                    f"twice (also at line {earlier}); list it once, with one config"
                )
            first[entry.name] = index

    def _config(self, name: str, entry: EvaluatorEntry, index: int) -> dict[str, Any]:
        from saebench.registry import evaluators

        try:
            cls = evaluators.get(name)
        except SaebenchError as exc:
            raise SaebenchError(f"{self.where('evaluators', index)}: {exc}") from exc
        preset = entry.preset or self.preset
        config = {**(cls.quickstart if preset == "quickstart" else {}), **entry.config}
        try:
            cls.Config(**config)
        except ValidationError as exc:
            raise SaebenchError(self._config_error(cls, exc.errors()[0], index)) from exc
        return config

    def _config_error(self, cls, error: dict, index: int) -> str:
        loc = tuple(error["loc"])
        where = self.where("evaluators", index, "config", *loc)
        field = ".".join(str(part) for part in loc)
        fix = f"see `saebench evaluators list` and docs/evaluators/{cls.name}.md"
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), list(cls.Config.model_fields), n=1)
            fix = f"did you mean {close[0]!r}?" if close else fix
            return f"{where}: evaluator {cls.name!r} has no setting {field!r}; {fix}"
        return f"{where}: evaluator {cls.name!r}, setting {field!r}: {error['msg']}; {fix}"

    def dataset_location(self) -> str | None:
        """The dataset, a relative file looked up next to the suite file first."""
        return self._near_suite(self.dataset)

    def model_location(self) -> str | None:
        """The model, a relative folder looked up next to the suite file first."""
        return self._near_suite(self.model)

    def _near_suite(self, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and (self._root / path).exists():
            return str((self._root / path).resolve())
        return value

    def check(self) -> tuple[list[str], Any]:
        """Every SAE URI and the dataset (a :class:`~saebench.data.DataSource`, or None),
        checked without loading weights: an unknown SAE or a missing dataset is one error
        naming its line (as is a bad evaluator entry)."""
        self.evaluator_configs()
        uris = self.checked_sae_uris()
        dataset = self.dataset_location()
        if dataset is None:
            return uris, None
        from saebench.data.sources import data_source
        from saebench.models.embedding import is_embedding_model

        if is_embedding_model(self.model):  # a corpus name, checked when the run is planned
            return uris, dataset

        try:
            source = data_source(dataset)
        except SaebenchError as exc:
            raise SaebenchError(f"{self.where('dataset')}: {exc}") from exc
        if self.tokens is not None:
            from saebench.data.budget import check_budget

            where = f"{self.where('tokens')}: tokens {self.tokens}"
            check_budget(source, self.tokens, self.context.context_size, where)
        return uris, source

    def checked_sae_uris(self) -> list[str]:
        """:meth:`sae_uris`, each checked by :func:`check_sae_uri` (errors name the line)."""
        uris: list[str] = []
        for index, source in enumerate(self.saes):
            for uri in self._expand(source, index):
                try:
                    check_sae_uri(uri)
                except SaebenchError as exc:
                    raise SaebenchError(f"{self.where('saes', index)}: {exc}") from exc
                uris.append(uri)
        return self._with_controls(list(dict.fromkeys(uris)))

    def request(
        self,
        *,
        out_dir: str | Path | None = None,
        executor: dict[str, Any] | None = None,
        cache_dir: str | Path | None = None,
        llm: Any = None,
        progress: bool = True,
        checked: tuple[list[str], Any] | None = None,
    ) -> RunRequest:
        """The suite as a :class:`~saebench.run.request.RunRequest` (after :meth:`check`, whose
        result may be passed as ``checked`` so the dataset is read once); arguments given
        here override the suite's own settings, as the command-line flags do."""
        names, configs = self.evaluator_configs()
        uris, dataset = checked or self.check()
        runs_on = self.executor.model_dump(exclude={"device", "batch_size"})
        runs_on.update({k: v for k, v in (executor or {}).items() if v is not None})
        return RunRequest(
            saes=uris,
            model=self.model_location(),
            dataset=dataset,
            evaluators=names,
            n_tokens=self.tokens,
            configs=configs,
            context_size=self.context.context_size,
            prepend_bos=self.context.prepend_bos,
            separator=self.context.separator,
            batch_size=self.executor.batch_size,
            device=self.executor.device,
            cache_dir=cache_dir,
            llm=merge_settings(self.llm, llm),
            out_dir=out_dir or self.out_dir(),
            progress=progress,
            executor=ExecutorSettings(**runs_on),
        )

    def plan(self, *, resources: Any = None, **request: Any) -> list:
        """The groups to run (:func:`saebench.run.planning.plan_request` of :meth:`request`:
        loads SAEs and model once). Evaluators that ask an LLM are skipped with a warning
        when ``llm`` (or the environment) names no judge, as ``saebench quickstart`` does."""
        from saebench.run.planning import plan_request

        return plan_request(self.request(**request), resources)

    def dry_plan(self) -> DryPlan:
        """What would run, without loading any weights: see :class:`DryPlan`."""
        names, configs = self.evaluator_configs()
        groups: dict[tuple, DryGroup] = {}
        for uri in self.checked_sae_uris():
            info = sae_header(uri)
            model = self.model or info.get("model")
            fixed = self.context.model_dump()
            tokens = {
                "context_size": fixed["context_size"] or _capped(info.get("context_size")),
                "prepend_bos": _first(fixed["prepend_bos"], info.get("prepend_bos")),
                "separator": _first(fixed["separator"], info.get("separator")),
            }
            key = (model, json.dumps(tokens, sort_keys=True, default=str))
            groups.setdefault(key, DryGroup(model=model, tokens=tokens)).saes.append(uri)
        return DryPlan(
            suite=self.name,
            evaluators={name: configs.get(name, {}) for name in names},
            groups=list(groups.values()),
        )


@dataclass
class DryGroup:
    """A group as the suite predicts it: its model and token settings (None: unknown until
    the SAE is loaded) and its SAE URIs."""

    model: str | None
    tokens: dict[str, Any]
    saes: list[str] = field(default_factory=list)


@dataclass
class DryPlan:
    """The plan read from the suite and the SAEs' configs alone, nothing loaded. The real
    plan groups by the SAEs' own metadata too, so a value unknown here (None) can split a
    group further; fix it in the suite's ``context`` to be sure."""

    suite: str
    evaluators: dict[str, dict[str, Any]]
    groups: list[DryGroup]

    @property
    def sae_uris(self) -> list[str]:
        return [uri for group in self.groups for uri in group.saes]

    def lines(self) -> list[str]:
        names = ", ".join(self.evaluators)
        out = [f"suite {self.suite}: {len(self.sae_uris)} SAE(s), {len(self.groups)} group(s)"]
        out.append(f"evaluators: {names}")
        for index, group in enumerate(self.groups, 1):
            tokens = ", ".join(f"{k}={v}" for k, v in group.tokens.items())
            out.append(f"group {index}: model {group.model or '(the SAEs own)'}, {tokens}")
            out += [f"  {uri}" for uri in group.saes]
        return out


def _capped(context_size: Any) -> int | None:
    from saebench.run.planning import MAX_DEFAULT_CONTEXT

    return min(int(context_size), MAX_DEFAULT_CONTEXT) if context_size else None


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


# -- reading ----------------------------------------------------------------------------------
def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every mistake is one error naming file and line.

    Example:
        >>> load_suite("evals/quickstart.yaml").name
        'quickstart'
    """
    path = Path(path).expanduser()
    if not path.is_file():
        shipped = sorted(p.name for p in shipped_suites_dir().glob("*.yaml"))
        raise SaebenchError(
            f"{path}: no such suite file; pass a path to a .yaml suite "
            f"(shipped in {shipped_suites_dir()}: {', '.join(shipped) or 'none'})"
        )
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SaebenchError(f"{path}: cannot read the suite ({exc})") from exc
    return parse_suite(text, source=str(path), root=path.resolve().parent)


def parse_suite(text: str, source: str = "<suite>", root: str | Path | None = None) -> Suite:
    """A suite from YAML text; ``source`` names it in errors, relative paths are under ``root``."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SaebenchError(
            f"{source}:{line}: not valid YAML ({exc.problem}); fix the syntax there"
        ) from exc
    _refuse_duplicate_keys(node, source)
    if not isinstance(data, dict):
        raise SaebenchError(
            f"{source}:1: a suite is a mapping of keys (name, saes, evaluators, ...); "
            "see docs/suites.md"
        )
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        # an unknown key first: a misspelt key is also reported as a missing one
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise SaebenchError(_explain(errors[0], node, source)) from exc
    suite._source, suite._lines = source, node
    suite._root = Path(root) if root is not None else Path.cwd()
    return suite


def _refuse_duplicate_keys(node, source: str, path: tuple = ()) -> None:
    """A key given twice in one mapping (YAML itself keeps the last one, silently)."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _refuse_duplicate_keys(child, source, (*path, index))
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, int] = {}
    for key, value in node.value:
        name, line = str(key.value), key.start_mark.line + 1
        dotted = ".".join(str(part) for part in (*path, name))
        if name in seen and name != "<<":
            raise SaebenchError(
                f"{source}:{line}: key {dotted!r} is given twice (also at line {seen[name]}); "
                "keep one"
            )
        seen[name] = line
        _refuse_duplicate_keys(value, source, (*path, name))


def _explain(error: dict, node, source: str) -> str:
    """One line: where, what, and the fix (a close key for an unknown one)."""
    loc = tuple(error["loc"])
    where = f"{source}:{_line_of(node, loc)}"
    dotted = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(Suite, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(allowed)}"
        return f"{where}: unknown key {dotted!r}; {hint}"
    if error["type"] == "missing":
        return f"{where}: {dotted!r} is missing; add it (see docs/suites.md)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {dotted}: {message}; fix the value (see docs/suites.md)"


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed in the mapping at ``loc`` (list indices are stepped over)."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = current.model_fields[part].annotation
        args = [a for a in typing.get_args(annotation) if isinstance(a, type)] or [annotation]
        current = next(a for a in args if isinstance(a, type) and issubclass(a, BaseModel))
    return list(current.model_fields)


def _line_of(node, loc: tuple) -> int:
    """1-based line of the deepest YAML node along ``loc`` (a key's own line for the last)."""
    import yaml

    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def shipped_suites_dir() -> Path:
    """The ``evals/`` folder of the saebench source tree."""
    return Path(__file__).resolve().parents[2] / "evals"


# -- SAE sources ------------------------------------------------------------------------------
def expand_glob(pattern: str, root: Path) -> list[str]:
    """URIs matching a glob: ``zoo:*``-style over the zoo's names, else over local paths
    (relative ones under ``root``), keeping any ``scheme:`` prefix. Sorted."""
    from saebench.zoo.catalog import all_sae_names, family_prefixes, sae_names

    prefix, location = split_scheme(pattern)
    if prefix == "zoo:":
        # zoo:* is the toy model's; other families are matched by their own prefix
        own = location.startswith(family_prefixes())
        names = all_sae_names() if own else sae_names()
        return [f"zoo:{name}" for name in names if fnmatch.fnmatchcase(name, location)]
    path = Path(location).expanduser()
    base = path if path.is_absolute() else root / path
    return [prefix + str(Path(match).resolve()) for match in sorted(glob.glob(str(base)))]


def split_scheme(uri: str) -> tuple[str, str]:
    """``("scheme:", location)`` for a URI with a scheme, else ``("", uri)``."""
    match = _SCHEME.match(uri)
    if match is None or Path(uri).exists():
        return "", uri
    return f"{match.group(1)}:", match.group(2)


def release_uris(release: str, sae_ids: str = "*") -> list[str]:
    """``saelens:RELEASE/SAE_ID`` for each SAE id of a SAELens release matching ``sae_ids``,
    read from sae-lens's directory of pretrained SAEs (no network).

    Example:
        >>> release_uris("gpt2-small-res-jb", "blocks.1*")[:1]
        ['saelens:gpt2-small-res-jb/blocks.1.hook_resid_pre']
    """
    lookup = _release(release)
    ids = [sae_id for sae_id in lookup.saes_map if fnmatch.fnmatchcase(sae_id, sae_ids)]
    if not ids:
        sample = ", ".join(list(lookup.saes_map)[:4])
        raise SaebenchError(
            f"no SAE id of release {release!r} matches {sae_ids!r}; its ids look like {sample}"
        )
    return [f"saelens:{release}/{sae_id}" for sae_id in ids]


def _release(release: str):
    try:
        from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory
    except ImportError as exc:
        raise SaebenchError(
            "a saelens_release needs sae-lens; pip install 'saebench[saelens]'"
        ) from exc
    directory = get_pretrained_saes_directory()
    if release not in directory:
        close = difflib.get_close_matches(release, list(directory), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see SAELens's pretrained list"
        raise SaebenchError(f"unknown SAELens release {release!r}; {hint}")
    return directory[release]


def check_sae_uri(uri: str) -> None:
    """Refuse an SAE URI that cannot load, as far as can be told without its weights: an
    unknown scheme, a missing path, an unknown zoo name or SAELens release or SAE id."""
    from saebench.adapters.resolve import read_uri

    scheme, location = read_uri(uri)
    if scheme == "zoo":
        from saebench.zoo.catalog import all_sae_names

        names = all_sae_names()
        if location not in names:
            close = difflib.get_close_matches(location, names, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names)}"
            raise SaebenchError(f"zoo:{location}: no such zoo SAE; {hint}")
    elif scheme == "saelens" and not Path(location).expanduser().exists():
        release, _, sae_id = location.partition("/")
        if not sae_id or location.startswith((".", "/", "~")):
            raise SaebenchError(f"{uri}: no such folder, and not a RELEASE/SAE_ID hub name")
        if sae_id not in _release(release).saes_map:
            raise SaebenchError(f"{uri}: release {release!r} has no SAE id {sae_id!r}")
    elif location.startswith(("/", ".", "~")) and not Path(location).expanduser().exists():
        raise SaebenchError(f"{uri}: no such file or directory")


def sae_header(uri: str) -> dict[str, Any]:
    """What an SAE's config says about its model and token set, read without its weights
    (the SAELens directory for a release, cfg.json for a folder); {} when unknown."""
    scheme, _, location = base_of(uri).partition(":")  # a control reads as its SAE
    if scheme == "saelens" and not Path(location).exists():
        release, _, _ = location.partition("/")
        try:
            return {"model": _release(release).model}
        except SaebenchError:
            return {}
    if scheme == "zoo":
        from saebench.zoo.catalog import sae_folder, sae_model

        folder, model = sae_folder(location), sae_model(location)
    else:
        folder, model = Path(location if location else uri), None
    return _cfg_header(folder / "cfg.json", model)


def _cfg_header(path: Path, model: str | None) -> dict[str, Any]:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"model": model} if model else {}
    flat = {**cfg, **(cfg.get("metadata") or {})}
    return {
        "model": model or flat.get("model_name"),
        "context_size": flat.get("context_size"),
        "prepend_bos": flat.get("prepend_bos"),
        "separator": flat.get("sequence_separator_token"),
    }


# -- running ----------------------------------------------------------------------------------
def run_suite(
    suite: Suite,
    out_dir: str | Path | None = None,
    *,
    executor: str | None = None,
    address: str | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    cache_dir: str | Path | None = None,
    llm: Any = None,
    progress: bool = True,
    log: Any = None,
) -> list:
    """Plan the suite and run its groups (local or Ray); return every record, in plan order.

    Every name is checked before anything loads (:meth:`Suite.check`; a Ray address is
    probed). Records already in the output folder are reused, so an interrupted run resumes;
    ``cache_dir`` keeps activations on disk for the next run. ``log`` gets one line per group
    start and finish and a total (default: stderr when ``progress``). Flags given here
    override the suite's ``executor`` settings.

    Example:
        >>> records = run_suite(load_suite("evals/quickstart.yaml"), executor="local")
    """
    import time

    flags = {"name": executor, "address": address, "num_cpus": num_cpus, "num_gpus": num_gpus}
    out, checked = _preflight(suite, flags, out_dir, cache_dir)
    log = _stderr_log(progress) if log is None else log
    began = time.perf_counter()
    log(f"[plan] suite {suite.name}: planning {len(checked[0])} SAE(s)")
    request = suite.request(
        out_dir=out,
        executor=flags,
        cache_dir=cache_dir,
        llm=llm,
        progress=progress,
        checked=checked,
    )
    records, new = _plan_and_execute(request, log)
    seconds = time.perf_counter() - began
    log(f"[total] {len(records)} record(s), {new} new, in {seconds:.1f} s")
    return records


def _plan_and_execute(request: RunRequest, log) -> tuple[list, int]:
    """Plan the request into groups and run them, logging each group's start and finish;
    return the records and how many of them are new."""
    from saebench.resources import Resources
    from saebench.run.executors import execute
    from saebench.run.planning import plan_request

    resources = Resources()
    groups = plan_request(request, resources)
    progress_log = GroupProgress(groups, log)
    records = execute(request, groups=groups, resources=resources, on_event=progress_log)
    return records, progress_log.new


def _preflight(
    suite: Suite, flags: dict[str, Any], out_dir: str | Path | None, cache_dir: str | Path | None
) -> tuple[Path, tuple[list[str], Any]]:
    """Everything checked before anything loads: Ray, the folders, the suite's names.
    Returns the output folder and :meth:`Suite.check`'s answer."""
    from saebench.files import check_writable_dir

    _check_ray(suite, flags)
    out = check_writable_dir(out_dir or suite.out_dir(), "--out")
    if cache_dir is not None:
        check_writable_dir(cache_dir, "--cache-dir")
    return out, suite.check()


def _stderr_log(progress: bool):
    """One flushed line per event on stderr, or nothing when progress is off."""
    import sys

    return (lambda line: print(line, file=sys.stderr, flush=True)) if progress else _silent


def _check_ray(suite: Suite, flags: dict[str, Any]) -> None:
    """Before any loading: Ray installed, and its address answering (file:line if from the
    suite)."""
    name = flags["name"] or suite.executor.name
    if name != "ray":
        return
    from saebench.run.ray_executor import check_address, import_ray

    import_ray()
    if flags["address"] is not None:
        check_address(flags["address"], "--address")
    else:
        where = suite.where("executor", "address")
        check_address(suite.executor.address, f"{where}: executor.address")


def _silent(line: str) -> None:
    return None


class GroupProgress:
    """Turns executor events into one line per group start and finish, with counts and times."""

    def __init__(self, groups: list, log) -> None:
        self.log, self.new = log, 0
        self.index = {id(spec): i for i, spec in enumerate(groups, 1)}
        self.count = len(groups)
        total = sum(len(spec.saes) * len(spec.evaluators) for spec in groups)
        log(f"[plan] {len(groups)} group(s), {total} record(s) in all")

    def __call__(self, kind: str, spec, info: dict) -> None:
        from saebench.run.ray_executor import group_label

        number = self.index.get(id(spec), "?")
        head = f"[group {number}/{self.count}] {group_label(spec)}"
        if kind == "skip":
            self.log(f"{head}: all {info['records']} record(s) already done")
        elif kind == "start":
            self.log(f"{head}: started, {info['pending']} record(s) to compute")
        elif kind == "done":
            self.new += info["records"]
            self.log(
                f"{head}: done in {info['seconds']:.1f} s, {info['records']} record(s) written"
            )
        elif kind == "retry":
            self.log(f"{head}: attempt {info['attempt']} failed ({info['error']}); retrying")
        elif kind == "failed":
            self.log(f"{head}: FAILED after {info['attempts']} attempt(s): {info['error']}")
