"""What every dictionary at one (model, hook, task, position) is measured against, computed
once and shared by the run's SAEs: the prompts the model answers, their activations, the
metric's answer tokens, the clean and mean-ablated metric, the supervised dictionary and the
counterfactual pairs with their target answers.

Example:
    >>> study = build_study(task, runner, config, sae.meta, once=context.once)
    >>> study.ld_clean, study.dictionary.sets, len(study.pairs["flip_order"].rows)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.evaluators.supervised.dictionaries import SupervisedDictionary, fit_dictionary
from saebench.evaluators.supervised.interpretability import value_masks
from saebench.evaluators.supervised.site import Prepared, Site
from saebench.evaluators.supervised.task_metric import counterfactual_answers, metric_builder
from saebench.toolkit.sites import Position, default_position


@dataclass
class PairSet:
    """The counterfactual pairs of one builder: base rows (into the eval prompts), source
    activations, old and new labels, changed value indices, and the target answers."""

    builder: str
    rows: Tensor
    source_acts: Tensor
    old: list[dict]
    new: list[dict]
    changes: list[list[tuple[int, int]]]
    target: Tensor
    considered: int = 0
    bases: Prepared | None = None  # the base prompts, ready to re-run
    # over the scored pairs: how often the answer with the source activation patched in is
    # the answer on the real counterfactual prompt
    patched_is_real: float | None = None
    sources: list = field(default_factory=list)  # the scored pairs' source prompts
    rare: int = 0  # pairs left out: a changed value has under min_value_count train prompts


@dataclass
class Study:
    site: Site
    position: str
    attributes: list[str]
    train: list
    eval: list
    prepared: Prepared  # the eval prompts
    train_acts: Tensor
    eval_acts: Tensor
    mean: Tensor
    answer: Tensor
    counter: Tensor
    ld_clean: float
    ld_mean: float
    clean_top: Tensor
    metric_builder: str
    dictionary: SupervisedDictionary
    value_names: list[tuple[str, str]]
    train_values: Tensor
    strength: dict[str, float]
    pairs: dict[str, PairSet] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # per held-out prompt, the metric clean and mean-ablated (for intervals over prompts)
    ld_clean_rows: Tensor | None = None
    ld_mean_rows: Tensor | None = None

    @property
    def eval_labels(self) -> list[dict]:
        return [dict(p.attributes) for p in self.eval]


def survivors(task, runner, config, split: str, once=None) -> list:
    """The prompts of ``split`` the model answers, filtered once per run (``once``: the
    context's :meth:`~saebench.evaluators.EvalContext.once`; None filters every call)."""
    from saebench.toolkit.answers import filter_answered

    def kept() -> list:
        return filter_answered(task, runner, config.filter, split=split).kept

    return kept() if once is None else once("answered", kept, depends_on=split)


def _attribute_sets(config, attributes: list[str]) -> list[tuple[str, ...]]:
    coupled = [tuple(s) for s in config.coupled]
    for s in coupled:
        if unknown := sorted(set(s) - set(attributes)):
            raise SaebenchError(
                f"supervised: coupled set {list(s)} names unknown attributes {unknown} "
                f"(attributes: {', '.join(attributes)})"
            )
    inside = {a for s in coupled for a in s}
    return coupled + [(a,) for a in attributes if a not in inside]


def _attributes(config, prompts) -> list[str]:
    present = sorted(set(prompts[0].attributes))
    if config.attributes is None:
        return present
    if unknown := sorted(set(config.attributes) - set(present)):
        raise SaebenchError(
            f"supervised: the task's prompts have no attributes {unknown} "
            f"(attributes: {', '.join(present)})"
        )
    return list(config.attributes)


def build_study(task, runner, config, meta, once=None) -> Study:
    """Everything SAE-independent at the site of ``meta`` (its hook and head): see the
    module. ``once`` shares the filtering of prompts (see :func:`survivors`)."""
    train = survivors(task, runner, config, config.train_split, once)[: config.n_train]
    evals = survivors(task, runner, config, config.eval_split, once)
    if len(train) < 2 or len(evals) < 2:
        raise TooFewPrompts(len(train), len(evals))
    position = _position(config, train, task.name)
    attributes = _attributes(config, train)
    site = Site(runner, meta.hook_name, position, meta, config.batch_size)
    train_acts = site.acts(train)
    labels = [dict(p.attributes) for p in train]
    sets = _attribute_sets(config, attributes)
    dictionary = fit_dictionary(train_acts, labels, sets, config.dictionary)
    builder = metric_builder(task, train, config.metric_builder)
    evals, answer, counter = _scored_evals(
        task, site, dictionary, builder, evals, config, len(train)
    )
    prepared = site.prepare(evals)
    mean = train_acts.double().mean(0).float()
    lds, tops = site.run(prepared, [None, mean.expand_as(prepared.acts)], answer, counter)
    names, train_values = value_masks(labels, attributes)
    study = Study(
        site=site,
        position=position.span,
        attributes=attributes,
        train=train,
        eval=evals,
        prepared=prepared,
        train_acts=train_acts,
        eval_acts=prepared.acts,
        mean=mean,
        answer=answer,
        counter=counter,
        ld_clean=float(lds[0].double().mean()),
        ld_mean=float(lds[1].double().mean()),
        clean_top=tops[0],
        metric_builder=builder,
        dictionary=dictionary,
        value_names=names,
        train_values=train_values,
        strength=dictionary.strength(labels),
        ld_clean_rows=lds[0].double(),
        ld_mean_rows=lds[1].double(),
        counts={"train_prompts": len(train), "eval_prompts": len(evals)},
    )
    for name in config.edit_builders or sorted(task.pair_builders()):
        study.pairs[name] = _pairs(study, task, name, config)
    return study


def _position(config, train: list, task_name: str) -> Position:
    """The configured position (checked against the prompts' spans), else the default."""
    position = Position(config.position) if config.position else default_position(train)
    position.check(train, who=f"supervised: task {task_name!r}")
    return position


def _scored_evals(task, site: Site, dictionary, builder: str, evals: list, config, n_train):
    """The held-out prompts the metric can score (labels the dictionary knows, a
    counterfactual answer with another first token), with both answers' token ids."""
    evals = [p for p in evals if dictionary.knows(p.attributes)]
    counter_text = counterfactual_answers(task, evals, builder, config.seed)
    kept = [(p, c) for p, c in zip(evals, counter_text, strict=True) if c is not None]
    kept = kept[: config.n_eval]
    if len(kept) < 2:
        raise TooFewPrompts(n_train, len(kept))
    evals = [p for p, _ in kept]
    answer = site.answer_ids(evals, [p.answer for p in evals])
    counter = site.answer_ids(evals, [c for _, c in kept])
    keep = answer != counter  # answers sharing a first token say nothing
    evals = [p for p, k in zip(evals, keep.tolist(), strict=True) if k]
    return evals, answer[keep], counter[keep]


class TooFewPrompts(SaebenchError):
    """Too few prompts survive filtering: a status of the record, not a crash."""

    def __init__(self, n_train: int, n_eval: int) -> None:
        super().__init__(
            f"supervised: too few prompts the model answers ({n_train} train, {n_eval} eval); "
            "raise the task's prompt count (task_config) or check the model"
        )


def _pairs(study: Study, task, builder: str, config) -> PairSet:
    """Pairs of eval prompts and sources changing dictionary attributes to known values;
    kept only where patching the source activation changes the model's top answer."""
    rows, sources, changes, rare = _candidates(study, task, builder, config)
    if not rows:
        none = torch.zeros(0, dtype=torch.long)
        return PairSet(builder, none, study.eval_acts[:0], [], [], [], none, 0, rare=rare)
    site, row_t = study.site, torch.tensor(rows)
    on_sources = site.prepare(sources)
    source_acts = on_sources.acts
    prepared = study.prepared.select(row_t)
    answer, counter = study.answer[row_t], study.counter[row_t]
    _, tops = site.run(prepared, [source_acts], answer, counter)
    _, real = site.run(on_sources, [None], answer, counter)  # the source prompts' own answers
    moved = (tops[0] != study.clean_top[row_t]).nonzero(as_tuple=True)[0][: config.n_pairs]
    keep = moved.tolist()
    bases = prepared.prompts
    return PairSet(
        builder=builder,
        rows=row_t[moved],
        source_acts=source_acts[moved],
        old=[dict(bases[i].attributes) for i in keep],
        new=[dict(sources[i].attributes) for i in keep],
        changes=[changes[i] for i in keep],
        target=tops[0][moved],
        considered=len(rows),
        bases=prepared.select(moved),
        # over the scored pairs (not every considered pair): does patching the node alone
        # give the answer of the real counterfactual prompt?
        patched_is_real=float((tops[0][moved] == real[0][moved]).double().mean()) if keep else None,
        sources=[sources[i] for i in keep],
        rare=rare,
    )


def _candidates(study: Study, task, builder: str, config) -> tuple[list, list, list, int]:
    """The builder's pairs that change known attributes between values with enough
    training prompts: base rows, source prompts, changed value indices, and how many pairs
    were left out as rare."""
    if builder not in task.pair_builders():
        known = ", ".join(sorted(task.pair_builders())) or "none"
        raise SaebenchError(
            f"supervised: task {task.name!r} has no pair builder {builder!r} (builders: {known})"
        )
    index = {id(p): i for i, p in enumerate(study.eval)}
    value_index = {name: i for i, name in enumerate(study.value_names)}
    enough = _enough_values(study, config.min_value_count)
    rows, sources, changes, rare = [], [], [], 0
    for pair in task.pairs(builder, prompts=study.eval, seed=config.seed):
        old, new = pair.base.attributes, pair.source.attributes
        changed = [a for a in study.attributes if old[a] != new[a]]
        if not changed or not study.dictionary.knows(new):
            continue
        if any((a, new[a]) not in enough or (a, old[a]) not in enough for a in changed):
            rare += 1
            continue
        rows.append(index[id(pair.base)])
        sources.append(pair.source)
        changes.append([(value_index[a, old[a]], value_index[a, new[a]]) for a in changed])
    return rows, sources, changes, rare


def _enough_values(study: Study, min_count: int) -> set[tuple[str, str]]:
    """Values with at least ``min_count`` training prompts. F1 scores of a value seen in two
    training prompts are noise: edit only these (the same min_value_count that decides
    which values interpretability scores), so every dictionary is edited on the same pairs."""
    counts = study.train_values.sum(0).tolist()
    return {name for name, n in zip(study.value_names, counts, strict=True) if n >= min_count}
