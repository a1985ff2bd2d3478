"""The work of the autointerp evaluator once the pass is done: example sets per latent, the
explainer, the scorers, and the record's metrics and details.

Every latent moves through one status: ``dead`` (never active), ``rare`` (active on fewer
than ``min_firing`` tokens, or too few windows to both explain and score), ``dense`` (no
checked negative exists: explained, fuzzed and steered, never detected), ``explain_failed``
(the explainer's request failed or its answer had no explanation: counted, never scored),
or ``scored``. The requests of all latents for one step go to the client together, so they
run concurrently.

A request the judge never answered (timeout, rate limit, 5xx, connection: the client's
``LlmFailure``) is *lost*: what is scored then depends on the server's mood, so the record is
``partial`` (recomputed on resume). An answer that does not parse is the judge's answer: its
examples are counted as failed and the record stays complete.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from saebench.activations.examples import (
    CollectedExamples,
    ExampleCollector,
    LatentWindows,
    Window,
    quantile_sample,
)
from saebench.errors import SaebenchError
from saebench.evaluators.autointerp.classify import parse_labels
from saebench.evaluators.autointerp.detection import detection_requests, detection_scores
from saebench.evaluators.autointerp.explain import explain_messages, parse_explanation
from saebench.evaluators.autointerp.fuzzing import fuzzing_requests, fuzzing_scores
from saebench.evaluators.autointerp.render import Example, PieceDecoder
from saebench.evaluators.autointerp.summary import is_lost

_USAGE = ("requests", "cache_hits", "prompt_tokens", "completion_tokens")
SCORABLE = ("scored", "dense")


@dataclass
class LatentPlan:
    """One sampled latent through the run."""

    latent: int
    firing_count: int
    status: str = "scored"
    latent_max: float = 0.0
    explain: list[Example] = field(default_factory=list)
    activating: list[Example] = field(default_factory=list)
    negatives: list[Example] = field(default_factory=list)
    explanation: str | None = None
    scores: dict = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)  # step -> requests never answered
    intervention: dict = field(default_factory=dict)

    @property
    def scorable(self) -> bool:
        """Has (or will get) an explanation and scores."""
        return self.status in SCORABLE

    def details(self, with_examples: bool) -> dict:
        out = {
            "latent": self.latent,
            "status": self.status,
            "explanation": self.explanation,
            "firing_count": self.firing_count,
            "scores": self.scores,
            "failures": dict(self.failures),
            "lost_requests": {step: n for step, n in self.lost.items() if n},
        }
        if self.intervention:
            out["intervention"] = self.intervention
        if with_examples:
            out["examples"] = [ex.record("explain") for ex in self.explain] + [
                ex.record("score") for ex in self.activating + self.negatives
            ]
        return out


# -- before the pass ------------------------------------------------------------------------
def sampled_latents(config, d_sae: int) -> list[int]:
    """The explicit ``latents``, or ``n_latents`` drawn (seeded) among all ``d_sae``: which
    are alive is known only after the pass, so dead and rare ones are reported as such."""
    if config.latents is not None:
        if max(config.latents) >= d_sae:
            raise SaebenchError(
                f"autointerp: latent {max(config.latents)} is out of range for d_sae={d_sae}; "
                "give indices below d_sae in `latents`"
            )
        return list(config.latents)
    rng = random.Random(f"{config.seed}/latents")
    return sorted(rng.sample(range(d_sae), min(config.n_latents, d_sae)))


def make_collector(config, context) -> ExampleCollector:
    import torch

    token_set = context.token_set
    if token_set is None:
        raise SaebenchError("autointerp: the run streamed no token set")
    n_contexts, context_size = token_set.tokens.shape
    return ExampleCollector(
        context.sae.d_sae,
        torch.tensor(sampled_latents(config, context.sae.d_sae)),
        n_contexts,
        context_size,
        length=config.window_tokens,
        n_top=config.explain_top,
        reservoir=config.reservoir,
        n_candidates=config.negative_candidates,
        seed=config.seed,
    )


# -- example sets ---------------------------------------------------------------------------
def to_example(window: Window, kind: str, token_set, decoder, quantile=None) -> Example:
    row = token_set.tokens[window.context]
    ids = row[window.start : window.end].tolist()
    before = int(row[window.start - 1]) if window.start > 0 else None
    special = set(token_set.special_ids)
    return Example(
        kind,
        decoder.pieces(ids, before),
        [float(a) for a in window.acts],
        [i in special for i in ids],
        window.context,
        window.start,
        quantile,
    )


def plan_latent(found: LatentWindows, config, token_set, decoder: PieceDecoder) -> LatentPlan:
    """The latent's status and its explainer, activating and negative examples."""
    plan = LatentPlan(found.latent, found.firing_count)
    if found.firing_count == 0:
        plan.status = "dead"
        return plan
    rng = random.Random(f"{config.seed}/{found.latent}/examples")
    tops = found.top[: config.explain_top]
    scored = quantile_sample(
        found.sampled, config.score_activating, config.n_quantiles, rng, avoid=tops
    )
    extra = quantile_sample(
        found.sampled,
        config.explain_quantile,
        config.n_quantiles,
        rng,
        avoid=tops + [w for _, w in scored],
    )
    plan.latent_max = max([w.peak for w in found.top] + [0.0])
    if found.firing_count < config.min_firing or not scored or not (tops or extra):
        plan.status = "rare"
        return plan

    def make(window, kind, quantile=None):
        return to_example(window, kind, token_set, decoder, quantile)

    plan.explain = [make(w, "top") for w in tops] + [make(w, "quantile", q) for q, w in extra]
    plan.activating = [make(w, "quantile", q) for q, w in scored]
    plan.negatives = [make(w, "negative") for w in found.negatives[: config.score_negative]]
    if not plan.negatives and "detection" in config.scorers:
        plan.status = "dense"  # active somewhere in every candidate window
    return plan


# -- the LLM steps --------------------------------------------------------------------------
def explain_all(plans: list[LatentPlan], llm, config) -> None:
    from saebench.llm.client import ChatRequest, LlmFailure

    todo = [p for p in plans if p.scorable]
    requests = [
        ChatRequest(
            messages=explain_messages(p.explain, p.latent_max, config.highlight_fraction),
            purpose="explain",
            max_tokens=config.explain_max_tokens,
        )
        for p in todo
    ]
    for plan, reply in zip(todo, llm.chat(requests, accept=_explanation_parses), strict=True):
        if isinstance(reply, LlmFailure):
            plan.failures[f"explain/{reply.kind}"] += 1
            plan.lost["explain"] += is_lost(reply)
        else:
            plan.explanation = parse_explanation(reply.text)
            if plan.explanation is None:
                plan.failures["explain/unparsable"] += 1
        if plan.explanation is None:
            plan.status = "explain_failed"


def classify_all(plans: list[LatentPlan], llm, config, scorer: str) -> None:
    """Detection or fuzzing requests of every explained latent, sent together."""
    todo, batches, requests, sizes = [], [], [], []
    for plan in plans:
        if not plan.scorable or (scorer == "detection" and not plan.negatives):
            continue
        rng = random.Random(f"{config.seed}/{plan.latent}/{scorer}")
        if scorer == "detection":
            prompts, reqs = detection_requests(
                plan.explanation,
                plan.activating,
                plan.negatives,
                config.examples_per_prompt,
                rng,
                config.detection_logprobs,
            )
        else:
            prompts, reqs = fuzzing_requests(
                plan.explanation,
                plan.activating,
                config.highlight_fraction,
                config.examples_per_prompt,
                rng,
            )
        todo.append(plan)
        batches.append((prompts, len(requests), len(reqs)))
        requests += reqs
        sizes += [len(items) for items in prompts]
    # only answers that parse to the right number of labels are cached (a rerun asks again)
    expected = {id(request): n for request, n in zip(requests, sizes, strict=True)}

    def labels_parse(request, reply) -> bool:
        return parse_labels(reply.text, expected[id(request)])[0] is not None

    replies = llm.chat(requests, accept=labels_parse)
    score = detection_scores if scorer == "detection" else fuzzing_scores
    for plan, (prompts, start, n) in zip(todo, batches, strict=True):
        scores, failures = score(prompts, replies[start : start + n])
        plan.lost[scorer] += sum(is_lost(r) for r in replies[start : start + n])
        for kind, count in failures.items():
            plan.failures[f"{scorer}/{kind}"] += count
        if scores is not None:
            plan.scores[scorer] = scores


def _explanation_parses(_request, reply) -> bool:
    """Only explanations that parse are cached, so a rerun asks again for the others."""
    return parse_explanation(reply.text) is not None


# -- the record -----------------------------------------------------------------------------
def usage_delta(before: dict, after: dict) -> dict:
    """What this evaluator's requests cost (the client may be shared by a run's SAEs)."""
    out = {name: after.get(name, 0) - before.get(name, 0) for name in (*_USAGE, "retries")}
    failures = Counter(after.get("failures", {}))
    failures.subtract(before.get("failures", {}))
    out["failures"] = {k: v for k, v in failures.items() if v}
    return out


def run_autointerp(config, context, collector: ExampleCollector, llm):
    """The EvalResult of one SAE (see the module docstring)."""
    from saebench.evaluators.autointerp.summary import result_of

    tokenizer = getattr(context.model, "tokenizer", None)
    if tokenizer is None:
        raise SaebenchError("autointerp: the model has no tokenizer to show examples with")
    before = llm.stats
    found: CollectedExamples = collector.finish()
    decoder = PieceDecoder(tokenizer)
    plans = [plan_latent(f, config, context.token_set, decoder) for f in found.latents]
    explain_all(plans, llm, config)
    for scorer in ("detection", "fuzzing"):
        if scorer in config.scorers:
            classify_all(plans, llm, config, scorer)
    mode, null = None, None
    if "intervention" in config.scorers:
        from saebench.evaluators.autointerp.steer import intervene_all

        mode, null = intervene_all(plans, llm, context, tokenizer, config)
    usage = usage_delta(before, llm.stats)
    failures: Counter = Counter()
    lost: Counter = Counter()
    for plan in plans:
        failures.update(plan.failures)
        lost.update(plan.lost)
    details = {
        "intervention_mode": mode,
        "llm": usage,
        "n_tokens": found.n_tokens,
        "failures": dict(sorted(failures.items())),
        "lost_requests": {step: lost[step] for step in ("explain", *config.scorers)},
        "latents": [p.details(config.details_examples) for p in plans],
    }
    return result_of(plans, config, usage, details, mode, null)
