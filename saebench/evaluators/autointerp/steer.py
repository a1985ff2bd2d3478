"""The intervention scorer over every explained latent: steer, generate, ask the judge.

The maths (the KL search, continuations, request forms and parses) is in
:mod:`saebench.evaluators.autointerp.intervention`; this module runs it for the latents of
one SAE and writes their scores, and returns which mode ran ("surprisal" when the server
gives prompt logprobs, else "choice").
"""

from __future__ import annotations

import random

from saebench.evaluators.autointerp.intervention import (
    choice_request,
    continuations,
    parse_choice,
    passage,
    steer_latents,
    steering_prompts,
    surprisal_difference,
    surprisal_requests,
)


def intervene_all(plans, llm, context, tokenizer, config) -> str | None:
    todo = [p for p in plans if p.status == "scored"]
    if not todo:
        return None
    mode = "surprisal" if llm.supports_prompt_logprobs() else "choice"
    prompts = steering_prompts(
        context.token_set.tokens,
        config.intervention_prompts,
        config.intervention_prompt_tokens,
        config.seed,
    ).to(context.device)
    runner, sae = context.runner, context.sae
    for start in range(0, len(todo), config.intervention_chunk):
        part = todo[start : start + config.intervention_chunk]
        steering = steer_latents(
            runner, sae, [p.latent for p in part], prompts, config.target_kl, config.kl_search_steps
        )
        new = continuations(runner, sae, steering, prompts, config.intervention_new_tokens).cpu()
        for j, plan in enumerate(part):
            _record_steering(plan, steering, j, prompts.cpu(), new, tokenizer)
    if mode == "surprisal":
        _score_surprisal(todo, llm)
    else:
        _score_choice(todo, llm, config.seed)
    return mode


def _record_steering(plan, steering, j, prompts, new, tokenizer) -> None:
    passages = [
        {
            "clean": passage(tokenizer, prompts[k].tolist(), new[0, k].tolist()),
            "steered": passage(tokenizer, prompts[k].tolist(), new[1 + j, k].tolist()),
        }
        for k in range(prompts.shape[0])
    ]
    plan.intervention = {
        "alpha": float(steering.alpha[j]),
        "multiplier": float(steering.multiplier[j]),
        "kl": float(steering.kl[j]),
        "reached": bool(steering.reached[j]),
        "passages": passages,
    }
    if not steering.reached[j]:
        plan.failures["intervention/kl_unreached"] += 1


def _score_surprisal(todo, llm) -> None:
    requests, owners = [], []
    for plan in todo:
        for pair in plan.intervention["passages"]:
            requests += surprisal_requests(plan.explanation, pair["clean"], pair["steered"])
            owners.append(plan)
    replies = llm.surprisal(requests)
    values: dict[int, list[float]] = {}
    for k, plan in enumerate(owners):
        diff, kind = surprisal_difference(replies[2 * k], replies[2 * k + 1])
        if diff is None:
            plan.failures[f"intervention/{kind}"] += 1
        else:
            values.setdefault(id(plan), []).append(diff)
    _write_scores(todo, values)


def _score_choice(todo, llm, seed: int) -> None:
    from saebench.llm.client import LlmFailure

    requests, keys = [], []
    for plan in todo:
        rng = random.Random(f"{seed}/{plan.latent}/choose")
        for pair in plan.intervention["passages"]:
            steered_first = rng.random() < 0.5
            requests.append(
                choice_request(plan.explanation, pair["clean"], pair["steered"], steered_first)
            )
            keys.append((plan, "A" if steered_first else "B"))
    values: dict[int, list[float]] = {}
    for (plan, right), reply in zip(keys, llm.chat(requests), strict=True):
        if isinstance(reply, LlmFailure):
            plan.failures[f"intervention/{reply.kind}"] += 1
            continue
        picked = parse_choice(reply.text)
        if picked is None:
            plan.failures["intervention/unparsable"] += 1
            continue
        values.setdefault(id(plan), []).append(float(picked == right))
    _write_scores(todo, values)


def _write_scores(todo, values: dict[int, list[float]]) -> None:
    for plan in todo:
        got = values.get(id(plan), [])
        if got:
            plan.scores["intervention"] = {"score": sum(got) / len(got), "n": len(got)}
