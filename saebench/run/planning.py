"""Plans: what to evaluate, split into groups that each share one model and one token set.

:func:`plan` checks every input it can before any model work, loads the SAEs and the model
once to learn their identities, and returns :class:`GroupSpec` objects: pydantic models that
serialise to JSON and hold everything that decides the numbers. :func:`saebench.run.group.
run_group` runs one group; the executors (:mod:`saebench.run.executors`) map it over groups.

A group is the SAEs that share a model and a token set. Each SAE's token set comes from its
own metadata (context size, BOS, separator) unless the caller fixes them, so an SAE gets the
same tokens, and the same numbers, whichever SAEs it is evaluated with.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from saebench.errors import SaebenchError, SaebenchWarning, setting
from saebench.identity import stable_hash
from saebench.llm.settings import LlmSettings, llm_hint
from saebench.records import DatasetInfo, EvalRecord, TaskInfo
from saebench.resources import ModelSpec, Resources, SaeSpec
from saebench.run.request import DEFAULT_EVALUATORS, RunRequest

# Contexts are the SAE's training context size, at most this (SAEBench evaluates at 128).
MAX_DEFAULT_CONTEXT = 128


class EvaluatorSpec(BaseModel):
    name: str
    version: str
    config: dict[str, Any]
    config_hash: str
    streams: bool = True  # reads the shared activation pass (so its key holds the token set)
    task: TaskInfo | None = None
    llm_model: str | None = None  # the judge model, for an evaluator that asks an LLM
    llm_seed: int | None = None  # the judge's sampling seed when not the default 0 (in the key)


class TokenSpec(DatasetInfo):
    """A token set: what is recorded (:class:`DatasetInfo`) plus how to reopen the data."""

    source: dict[str, Any] = Field(default_factory=dict)


class RunSettings(BaseModel):
    """How a group runs. None of these changes a number."""

    device: str
    batch_size: int | None = None
    cache_dir: str | None = None
    progress: bool = True
    # where the judge is served and how hard to push it (its model name is in the keys);
    # never the API key, which is read from the environment where the group runs
    llm: LlmSettings | None = None


class GroupSpec(BaseModel):
    """One model, one token set, the SAEs that share them and the evaluators to run.

    Example:
        >>> groups = plan("zoo:resid-topk-16", model="zoo", dataset="zoo", n_tokens=4096)
        >>> GroupSpec.model_validate_json(groups[0].model_dump_json()) == groups[0]
        True
    """

    model: ModelSpec
    sae_dtype: str | None = None
    saes: list[SaeSpec]
    evaluators: list[EvaluatorSpec]
    tokens: TokenSpec | None = None
    settings: RunSettings

    def dataset_for(self, evaluator: EvaluatorSpec) -> DatasetInfo | None:
        if not evaluator.streams or self.tokens is None:
            return None
        return DatasetInfo(**self.tokens.model_dump(exclude={"source"}))

    def key(self, sae: SaeSpec, evaluator: EvaluatorSpec) -> str:
        from saebench.records import record_key

        dataset = self.dataset_for(evaluator)
        return record_key(sae.uri, sae.weights_hash, self.model, evaluator, dataset, evaluator.task)


def plan(
    saes: Any,
    model: Any = None,
    dataset: Any = None,
    evaluators: str | Sequence[str] = DEFAULT_EVALUATORS,
    n_tokens: int | None = None,
    *,
    resources: Resources | None = None,
    **options: Any,
) -> list[GroupSpec]:
    """Check the inputs, learn the identities of SAEs and model, and group the work.

    The arguments are the fields of :class:`~saebench.run.request.RunRequest` (those of
    :func:`saebench.evaluate`); an unknown option is refused with the closest name.

    Example:
        >>> groups = plan(["zoo:resid-relu", "zoo:resid-topk-16"], model="zoo", dataset="zoo")
    """
    request = RunRequest.build(
        saes, model=model, dataset=dataset, evaluators=evaluators, n_tokens=n_tokens, **options
    )
    return plan_request(request, resources)


def plan_request(request: RunRequest, resources: Resources | None = None) -> list[GroupSpec]:
    """The groups of a request. ``n_tokens`` None is the default budget (200,000), capped
    with a warning at what the dataset gives; a budget given is refused when the dataset
    cannot give it. ``separator`` is ``"bos"``, ``"eos"``, ``"sep"``, ``"none"`` or a token
    id; unset, each SAE's own metadata decides, else BOS (SAELens's default). ``llm`` names
    the judge of evaluators that ask an LLM; unset fields come from the environment, and
    without a judge those evaluators are skipped with a warning that says how to enable them.
    ``controls`` (``permuted_decoder``, ``matched_l0_random``, ``random_init``) adds those
    controls of every SAE, planned beside it (``docs/controls.md``).
    """
    from saebench.models.load import parse_dtype

    r = request
    llm = resolve_llm(r.llm)
    specs = evaluator_specs(r.evaluators, r.configs, llm)
    settings = _run_settings(r, specs, llm)
    _check_sizes(r.n_tokens, r.context_size)
    sae_dtype = parse_dtype(r.sae_dtype)
    parse_dtype(r.model_dtype)
    # a bad data file is found before anything loads (resolving reads it once, to hash it)
    streams = any(spec.streams for spec in specs)
    source = _data_source(r.dataset) if streams and _reads_text(r) else None
    if source is not None and r.n_tokens is not None:
        from saebench.data.budget import check_budget

        check_budget(source, r.n_tokens, r.context_size, setting("n_tokens", r.n_tokens))
    resources = resources or Resources()
    loaded = _load_saes(_with_controls(r.saes, r.controls), resources, settings.device, sae_dtype)
    model_spec, model_obj = resources.add_model(
        r.model if r.model is not None else _model_of(loaded), settings.device, r.model_dtype
    )
    if model_spec.synthetic:
        specs, groups = _synthetic_groups(r, specs, llm, model_spec, model_obj, loaded, streams)
    elif model_spec.embedding:
        specs, groups = _embedding_groups(r, specs, llm, model_spec, model_obj, loaded, streams)
    else:
        groups = _model_groups(r, source, loaded, model_obj, streams)
    dtype = str(sae_dtype).replace("torch.", "") if sae_dtype else None
    return [
        GroupSpec(
            model=model_spec,
            sae_dtype=dtype,
            saes=group_saes,
            evaluators=specs,
            tokens=tokens,
            settings=settings,
        )
        for tokens, group_saes in groups
    ]


def _reads_text(request: RunRequest) -> bool:
    """Whether the run reads a dataset: every model but a synthetic tier (which makes its own
    samples; when the SAEs name the model, the dataset is checked once they are loaded) and
    an embedding model (whose dataset is a corpus name)."""
    from saebench.models.embedding import is_embedding_model
    from saebench.synthetic.config import TIERS

    if is_embedding_model(request.model):
        return False
    return request.dataset is not None or (request.model is not None and request.model not in TIERS)


def _model_groups(r: RunRequest, source, loaded, model, streams: bool) -> list:
    """The groups of a run on a model: SAEs checked against its hooks, grouped by token set."""
    from saebench.models.hooks import check_saes_fit

    if streams and source is None:
        source = _data_source(None)  # the error that names the missing dataset
    check_saes_fit(model, [sae.meta for _, sae in loaded])
    return _token_groups(r, source, loaded, model, streams)


def _synthetic_groups(r: RunRequest, specs, llm, model_spec, model, loaded, streams: bool):
    """The evaluator specs and the one group of a run on a synthetic tier."""
    from saebench.run import synthetic

    synthetic.check_synthetic_request(r, model, [sae.meta for _, sae in loaded])
    specs = evaluator_specs(r.evaluators, synthetic.without_logits(r, specs), llm)
    synthetic.check_synthetic_needs(specs)
    tokens = TokenSpec(**synthetic.synthetic_tokens(model_spec, r.n_tokens)) if streams else None
    return specs, [(tokens, [sae_spec for sae_spec, _ in loaded])]


def _embedding_groups(r: RunRequest, specs, llm, model_spec, model, loaded, streams: bool):
    """The evaluator specs and the one group of a run on a sentence-embedding model."""
    from saebench.run import embedding, synthetic

    embedding.check_embedding_request(r, model, [sae.meta for _, sae in loaded])
    specs = evaluator_specs(r.evaluators, synthetic.without_logits(r, specs), llm)
    embedding.check_embedding_needs(specs)
    tokens = embedding.embedding_tokens(model_spec, r.dataset, r.n_tokens) if streams else None
    return specs, [(tokens and TokenSpec(**tokens), [sae_spec for sae_spec, _ in loaded])]


def _run_settings(request: RunRequest, specs: list[EvaluatorSpec], llm) -> RunSettings:
    return RunSettings(
        device=check_device(request.device),
        batch_size=_positive("batch_size", request.batch_size, optional=True),
        cache_dir=_cache_dir(request.cache_dir),
        progress=request.progress,
        llm=llm if any(spec.llm_model for spec in specs) else None,
    )


def _check_sizes(n_tokens: int | None, context_size: int | None) -> None:
    _positive("n_tokens", n_tokens, optional=True)
    if context_size is not None and _positive("context_size", context_size) < 2:
        raise SaebenchError(f"{setting('context_size')} must be at least 2 (got {context_size})")


def _token_groups(request: RunRequest, source, loaded, model, streams: bool) -> list:
    """(token spec, SAEs) per token set: SAEs with the same token set share a group."""
    if not streams:
        return [(None, [sae_spec for sae_spec, _ in loaded])]
    r = request
    by_tokens: dict[str, tuple[TokenSpec, list[SaeSpec]]] = {}
    for sae_spec, sae in loaded:
        tokens = token_spec(
            source, sae.meta, model, r.n_tokens, r.context_size, r.prepend_bos, r.separator
        )
        by_tokens.setdefault(tokens.model_dump_json(), (tokens, []))[1].append(sae_spec)
    return list(by_tokens.values())


# -- checks made before anything loads ------------------------------------------------------
def check_device(device: str | None) -> str:
    """A device string torch accepts and this machine has (default: CUDA when present)."""
    import torch

    from saebench.models.load import default_device

    if device is None:
        return default_device()
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise SaebenchError(
            f"{setting('device')} {device!r} is not a device; use cpu, cuda, cuda:N or mps"
        ) from exc
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise SaebenchError(
                f"{setting('device')} {device}: no CUDA GPU is visible here; use cpu"
            )
        if parsed.index is not None and parsed.index >= count:
            raise SaebenchError(
                f"{setting('device')} {device}: only {count} CUDA device(s) here (0..{count - 1})"
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise SaebenchError(f"{setting('device')} mps: Apple MPS is not available here; use cpu")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise SaebenchError(f"{setting('device')} {device!r}: use cpu, cuda, cuda:N or mps")
    return str(parsed)


def _positive(name: str, value: Any, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SaebenchError(f"{setting(name)} must be a positive whole number (got {value!r})")
    return value


def _cache_dir(cache_dir) -> str | None:
    if cache_dir is None:
        return None
    from saebench.files import check_writable_dir

    return str(check_writable_dir(cache_dir, setting("cache_dir")).resolve())


def evaluator_specs(
    names: str | Sequence[str],
    configs: dict[str, dict[str, Any]],
    llm: LlmSettings | None = None,
) -> list[EvaluatorSpec]:
    """Each named evaluator with its parsed config; unknown names and settings refused.

    An evaluator that asks an LLM is skipped, with a warning naming the setting that enables
    it, when ``llm`` names no judge; if that leaves nothing to run, it is an error.
    """
    from saebench.registry import evaluators

    if isinstance(names, str):
        names = [part.strip() for part in names.split(",")]
    names = list(dict.fromkeys(name for name in names if name))
    if not names:
        known = ", ".join(evaluators.names())
        raise SaebenchError(f"no evaluators given to {setting('evaluators')}; known: {known}")
    unknown = sorted(set(configs) - set(names))
    if unknown:
        raise SaebenchError(
            f"settings given for evaluators not run: {', '.join(unknown)}; "
            f"add them to {setting('evaluators')} or drop the settings"
        )
    specs, skipped = [], []
    for name in names:
        cls = evaluators.get(name)
        config = parse_config(cls, configs.get(name, {}))
        needs = cls.needs_for(config)
        if needs.llm and (llm is None or not llm.configured()):
            skipped.append(f"skipped {name}: it needs {llm_hint()}")
            continue
        values = config.model_dump(mode="json")
        specs.append(
            EvaluatorSpec(
                name=name,
                version=cls.version,
                config=values,
                config_hash=stable_hash(values),
                streams=needs.activations,
                task=_task_info(name, needs.task),
                llm_model=llm.model if needs.llm else None,
                llm_seed=llm.seed if needs.llm and llm.seed else None,
            )
        )
    if skipped and not specs:
        raise SaebenchError("; ".join(skipped))
    for message in skipped:
        warnings.warn(message, SaebenchWarning, stacklevel=3)
    return specs


def resolve_llm(llm: LlmSettings | dict[str, Any] | None) -> LlmSettings:
    """The judge's settings: those given, the rest from the environment."""
    if isinstance(llm, LlmSettings):
        return llm.resolved()
    try:
        return LlmSettings(**(llm or {})).resolved()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SaebenchError(f"llm setting {field}: {first['msg']}") from exc


def _task_info(evaluator: str, request) -> TaskInfo | None:
    """The identity of the task an evaluator asks for (name, version, config, data hash)."""
    if request is None:
        return None
    from saebench.tasks import build_task

    try:
        return build_task(request.name, request.config).spec()
    except SaebenchError as exc:
        raise SaebenchError(f"evaluator {evaluator!r}: {exc}") from exc


def parse_config(cls, values: dict[str, Any]):
    try:
        return cls.Config(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SaebenchError(
            f"evaluator {cls.name!r}, setting {field!r}: {first['msg']} "
            f"(see `saebench evaluators list` and docs/evaluators/{cls.name}.md)"
        ) from exc


# -- what is loaded once to learn identities ------------------------------------------------
def _load_saes(saes, resources: Resources, device: str, dtype) -> list[tuple[SaeSpec, Any]]:
    items = saes if isinstance(saes, (list, tuple)) else [saes]
    if not items:
        raise SaebenchError(f"no SAE given; pass one or more SAEs ({setting('saes')})")
    loaded: dict[tuple[str, str], tuple[SaeSpec, Any]] = {}
    for position, item in enumerate(items):
        spec, sae = resources.add_sae(item, device, dtype)
        spec.position = position
        identity = (spec.uri, spec.weights_hash)
        if identity in loaded:
            warnings.warn(
                f"{spec.name} is given twice; it is evaluated once", SaebenchWarning, stacklevel=3
            )
            continue
        loaded[identity] = (spec, sae)
    _name_distinctly([spec for spec, _ in loaded.values()])
    return list(loaded.values())


def _name_distinctly(specs: list[SaeSpec]) -> None:
    """Unique row names within the run (parent folders added where last names collide),
    and a warning for the same weights under two URIs (two identical rows otherwise)."""
    from saebench.adapters.names import distinct_names

    for spec, name in zip(specs, distinct_names([s.uri for s in specs]), strict=True):
        if spec.uri != "inline":
            spec.name = name
    first: dict[str, SaeSpec] = {}
    for spec in specs:
        if spec.weights_hash in first:
            warnings.warn(
                f"{spec.name} ({spec.uri}) has the same weights as {first[spec.weights_hash].name} "
                f"({first[spec.weights_hash].uri}); both are evaluated, with identical numbers",
                SaebenchWarning,
                stacklevel=4,
            )
        first.setdefault(spec.weights_hash, spec)


def _with_controls(saes, controls) -> Any:
    """The SAEs, each followed by its controls: URIs for SAEs given by URI, objects made from
    the SAE for SAEs given as objects."""
    from saebench.adapters.control import check_kinds, control_uri, is_control

    kinds = check_kinds(controls)
    if not kinds:
        return saes
    from saebench.sae import Sae
    from saebench.sae.controls import make_control

    out: list[Any] = []
    for item in saes if isinstance(saes, (list, tuple)) else [saes]:
        out.append(item)
        if isinstance(item, Sae):
            out += [make_control(item, kind) for kind in kinds if not hasattr(item, "control")]
        elif not is_control(str(item)):
            out += [control_uri(kind, str(item)) for kind in kinds]
    return out


def _model_of(loaded) -> str:
    names = {sae.meta.model_name for _, sae in loaded}
    if len(names) != 1 or None in names:
        raise SaebenchError(
            "cannot tell which model to use (the SAEs name "
            f"{', '.join(sorted(map(str, names)))}); pass {setting('model')}"
        )
    return names.pop()


def _data_source(dataset):
    from saebench.data.sources import data_source

    if dataset is None:
        raise SaebenchError(
            f"no dataset given; pass {setting('dataset')} (a .txt/.jsonl file, token ids, "
            "or `zoo` with the zoo model)"
        )
    return data_source(dataset)


def token_spec(source, meta, model, n_tokens, context_size, prepend_bos, separator) -> TokenSpec:
    """The token set one SAE is evaluated on: the caller's choices where given, else the
    SAE's own metadata (context size capped at 128, BOS, separator), else SAELens's
    defaults. Token ids are used as given."""
    from saebench.data.contexts import resolve_separator, special_ids

    limit = model.cfg.n_ctx
    if context_size is not None and context_size > limit:
        raise SaebenchError(
            f"{setting('context_size')} {context_size} exceeds the model's n_ctx {limit}"
        )
    tokenizer = getattr(model, "tokenizer", None)
    specials = sorted(special_ids(tokenizer)) if tokenizer is not None else []
    if source.kind == "tokens":
        ctx = context_size or source.row_length
        if ctx > limit:
            raise SaebenchError(
                f"the token rows are {ctx} long but the model takes at most {limit}; pass "
                f"{setting('context_size', limit)} to keep the first {limit} of each row"
            )
        bos, sep = None, None
    else:
        ctx = context_size or min(meta.context_size or MAX_DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT)
        ctx = min(ctx, limit)
        bos = meta.prepend_bos if prepend_bos is None else prepend_bos
        chosen = next((s for s in (separator, meta.sequence_separator) if s is not None), "bos")
        sep = None if chosen == "none" else resolve_separator(chosen, tokenizer)
    from saebench.data.budget import DEFAULT_TOKENS, fit_budget

    n_tokens = fit_budget(  # counted now, so a budget the data cannot fill never runs
        source,
        tokenizer=tokenizer,
        context_size=ctx,
        prepend_bos=bos,
        separator=sep,
        n_tokens=n_tokens or DEFAULT_TOKENS,
        explicit=n_tokens is not None,
        flag=setting("n_tokens"),
    )
    return TokenSpec(
        name=source.name,
        fingerprint=source.fingerprint,
        kind=source.kind,
        n_tokens=n_tokens,
        context_size=ctx,
        prepend_bos=bos,
        separator=sep,
        special_ids=specials,
        source=source.spec,
    )


def in_plan_order(records: list[EvalRecord], groups: Sequence[GroupSpec]) -> list[EvalRecord]:
    """Records by the caller's SAE order then evaluator order; records keyed without an SAE
    of the plan (references, panels) after the SAEs, each record once."""
    position = {(s.uri, s.weights_hash): s.position for g in groups for s in g.saes}
    order = {e.name: i for g in groups for i, e in enumerate(g.evaluators)}
    unique = list({record.key: record for record in records}.values())
    last = len(position) + 1
    return sorted(
        unique,
        key=lambda r: (
            position.get((r.sae.uri, r.sae.weights_hash), last),
            order.get(r.evaluator.name, len(order)),
            r.sae.uri,
        ),
    )
