"""The intervention scorer over every explained latent: steer, sample, ask the judge.

The maths (prompts cut at the first activating token, the KL search, sampled continuations,
request forms and parses) is in :mod:`saebench.evaluators.autointerp.intervention`; this
module runs it for the latents of one SAE, writes their scores, and returns which mode ran
("surprisal" when the server gives prompt logprobs, else "choice") and the null to read the
mean score against:

* surprisal: the same passages scored with another latent's explanation (a seeded
  derangement among the steered latents), so a score that any explanation would get (the
  steering makes text more surprising in general, say) shows; ``None`` with fewer than two
  steered latents or ``intervention_null`` off;
* choice: 0.5 (the steered passage is A or B at random).

The model work runs inside :func:`saebench.toolkit.determinism.fixed_threads`: the KL
search compares floats to a target and the samples take an argmax, both of which a
different float order could flip.
"""

from __future__ import annotations

import random

from saebench.evaluators.autointerp.intervention import (
    choice_request,
    first_active_prompt,
    parse_choice,
    passage,
    prompt_batch,
    sample_continuations,
    steer_rows,
    surprisal_difference,
    surprisal_requests,
)


def intervene_all(plans, llm, context, tokenizer, config) -> tuple[str | None, float | None]:
    from saebench.toolkit.determinism import fixed_threads

    todo = [p for p in plans if p.scorable]
    if not todo:
        return None, None
    mode = "surprisal" if llm.supports_prompt_logprobs() else "choice"
    with fixed_threads():
        for start in range(0, len(todo), config.intervention_chunk):
            _steer_chunk(
                todo[start : start + config.intervention_chunk], context, tokenizer, config
            )
    steered = [p for p in todo if p.intervention.get("passages")]
    if mode == "choice":
        _score_choice(steered, llm, config.seed)
        return mode, 0.5
    return mode, _score_surprisal(steered, llm, config)


def _chunk_prompts(part, tokens, config) -> tuple[list[dict], list[int], list]:
    """The prompts of a chunk's latents, each row's latent (its index in ``used``), and the
    latents that have a prompt."""
    prompts, owner, used = [], [], []
    for plan in part:
        found = [first_active_prompt(ex, tokens, config.intervention_prompt_tokens)
                 for ex in plan.activating]  # fmt: skip
        found = [f for f in found if f][: config.intervention_prompts]
        if not found:
            plan.failures["intervention/no_prompt"] += 1
            continue
        owner += [len(used)] * len(found)
        used.append(plan)
        prompts += found
    return prompts, owner, used


def _steer_chunk(part, context, tokenizer, config) -> None:
    from saebench.evaluators.autointerp.summary import hash_seed

    prompts, owner, used = _chunk_prompts(part, context.token_set.tokens, config)
    if not used:
        return
    batch, rows_owner = prompt_batch([p["ids"] for p in prompts], owner)
    batch = batch.to(context.device)
    latents = [p.latent for p in used]
    steering = steer_rows(
        context.runner, context.sae, latents, batch, rows_owner,
        config.target_kl, config.kl_search_steps,
    )  # fmt: skip
    # each prompt's noise is seeded by its latent and its place among that latent's prompts,
    # so a continuation does not depend on the chunk it was steered in
    seeds = [
        hash_seed(config.seed, f"sample/{latents[j]}/{owner[:k].count(j)}")
        for k, j in enumerate(owner)
    ]
    clean, steered = sample_continuations(
        context.runner, context.sae, batch, rows_owner, steering,
        config.intervention_new_tokens, config.intervention_temperature, seeds,
    )  # fmt: skip
    for j, plan in enumerate(used):
        rows = [k for k, o in enumerate(owner) if o == j]
        _record_steering(plan, steering, j, [prompts[k] for k in rows], clean[rows], steered[rows],
                         tokenizer)  # fmt: skip


def _record_steering(plan, steering, j, prompts, clean, steered, tokenizer) -> None:
    passages = [
        {
            "clean": passage(tokenizer, p["ids"], clean[k].tolist()),
            "steered": passage(tokenizer, p["ids"], steered[k].tolist()),
            "unchanged": bool((clean[k] == steered[k]).all()),
        }
        for k, p in enumerate(prompts)
    ]
    plan.intervention = {
        "alpha": float(steering.alpha[j]),
        "multiplier": float(steering.multiplier[j]),
        "kl": float(steering.kl[j]),
        "reached": bool(steering.reached[j]),
        "prompts": [
            {
                "tokens": len(p["ids"]),
                "act_at_end": p["act_at_end"],
                "acts_before": p["acts_before"],
            }
            for p in prompts
        ],
        "passages": passages,
    }
    if not steering.reached[j]:
        plan.failures["intervention/kl_unreached"] += 1


def _foreign(steered, seed: int) -> dict[int, str]:
    """Another latent's explanation for each steered latent (a seeded derangement)."""
    if len(steered) < 2:
        return {}
    order = list(steered)
    random.Random(f"{seed}/intervention-null").shuffle(order)
    return {id(p): order[(i + 1) % len(order)].explanation for i, p in enumerate(order)}


def _score_surprisal(steered, llm, config) -> float | None:
    from saebench.evaluators.autointerp.summary import is_lost

    foreign = _foreign(steered, config.seed) if config.intervention_null else {}
    requests, owners = [], []  # owners: (plan, pair index, own explanation?)
    for plan in steered:
        for k, pair in enumerate(plan.intervention["passages"]):
            if pair["unchanged"]:
                continue  # equal passages: 0 nats whatever the explanation
            for own, text in ((True, plan.explanation), (False, foreign.get(id(plan)))):
                if text is not None:
                    requests += surprisal_requests(text, pair["clean"], pair["steered"])
                    owners.append((plan, k, own))
    replies = llm.surprisal(requests)
    values: dict[tuple, float] = {}
    for n, (plan, k, own) in enumerate(owners):
        a, b = replies[2 * n], replies[2 * n + 1]
        plan.lost["intervention"] += is_lost(a) + is_lost(b)
        diff, kind = surprisal_difference(a, b)
        if diff is None:
            plan.failures[f"intervention/{kind}" if own else f"intervention_null/{kind}"] += 1
        else:
            values[(id(plan), k, own)] = diff
    _write_scores(steered, values, own=True, unchanged=0.0)
    nulls = [_mean_of(p, values, False, 0.0) for p in steered if id(p) in foreign]
    nulls = [v for v in nulls if v is not None]
    return sum(nulls) / len(nulls) if nulls else None


def _score_choice(steered, llm, seed: int) -> None:
    from saebench.evaluators.autointerp.summary import is_lost
    from saebench.llm.client import LlmFailure

    requests, keys = [], []
    for plan in steered:
        rng = random.Random(f"{seed}/{plan.latent}/choose")
        for k, pair in enumerate(plan.intervention["passages"]):
            steered_first = rng.random() < 0.5
            if pair["unchanged"]:
                continue  # equal passages: the judge can only guess (0.5)
            requests.append(
                choice_request(plan.explanation, pair["clean"], pair["steered"], steered_first)
            )
            keys.append((plan, k, "A" if steered_first else "B"))
    values: dict[tuple, float] = {}
    replies = llm.chat(requests, accept=_choice_parses)
    for (plan, k, right), reply in zip(keys, replies, strict=True):
        if isinstance(reply, LlmFailure):
            plan.failures[f"intervention/{reply.kind}"] += 1
            plan.lost["intervention"] += is_lost(reply)
            continue
        picked = parse_choice(reply.text)
        if picked is None:
            plan.failures["intervention/unparsable"] += 1
            continue
        values[(id(plan), k, True)] = float(picked == right)
    _write_scores(steered, values, own=True, unchanged=0.5)


def _choice_parses(_request, reply) -> bool:
    """Only choices that parse are cached, so a rerun asks again for the others."""
    return parse_choice(reply.text) is not None


def _mean_of(plan, values: dict, own: bool, unchanged: float) -> float | None:
    got = []
    for k, pair in enumerate(plan.intervention["passages"]):
        if pair["unchanged"]:
            got.append(unchanged)
        elif (id(plan), k, own) in values:
            got.append(values[(id(plan), k, own)])
    return sum(got) / len(got) if got else None


def _write_scores(steered, values: dict, own: bool, unchanged: float) -> None:
    for plan in steered:
        score = _mean_of(plan, values, own, unchanged)
        if score is None:
            continue
        passages = plan.intervention["passages"]
        n = sum(p["unchanged"] or (id(plan), k, own) in values for k, p in enumerate(passages))
        plan.scores["intervention"] = {"score": score, "n": n}
