"""autointerp end to end on the zoo, against the simulated judge over real HTTP."""

import pytest
import torch

import saebench
from saebench.errors import SaebenchWarning
from saebench.llm.sim import SimServer

N_TOKENS = 8_000
SMALL = {"n_latents": 24, "scorers": ["detection", "fuzzing"]}


def run(saes, zoo_model, server, cache, config=None, **llm):
    settings = {"model": "saebench-sim", "base_url": server.base_url, "cache_dir": str(cache)}
    return saebench.evaluate(
        saes,
        model=zoo_model,
        dataset="zoo",
        evaluators=["autointerp"],
        n_tokens=N_TOKENS,
        configs={"autointerp": config or SMALL},
        llm={**settings, **llm},
        progress=False,
    )


@pytest.fixture(scope="module")
def server():
    with SimServer(port=0) as sim:
        yield sim


def test_real_sae_beats_random_and_a_rerun_asks_nothing(zoo_model, server, tmp_path):
    saes = ["zoo:resid-topk-16", "zoo:resid-random"]
    real, rand = run(saes, zoo_model, server, tmp_path)
    for metric in ("detection_balanced_accuracy", "fuzzing_balanced_accuracy"):
        assert real.metrics[metric] > rand.metrics[metric], metric
    m = real.metrics
    assert m["n_latents_sampled"] == 24
    statuses = ("n_latents_scored", "n_dense", "n_dead", "n_rare", "n_explain_failed")
    assert sum(m[s] for s in statuses) == 24
    assert m["n_failed_examples"] == 0 and m["llm_requests"] > 0
    # one explain, two detection and one fuzzing request per scored latent
    assert m["llm_requests"] == 4 * m["n_latents_scored"] + 2 * m["n_dense"]
    interval = real.intervals["detection_balanced_accuracy"]
    assert interval.low <= m["detection_balanced_accuracy"] <= interval.high
    latent = next(x for x in real.details["latents"] if x["status"] == "scored")
    assert set(latent["scores"]) == {"detection", "fuzzing"}
    assert 0 <= latent["scores"]["detection"]["auroc"] <= 1  # the sim returns logprobs
    kinds = {ex["kind"] for ex in latent["examples"]}
    assert kinds == {"top", "quantile", "negative"}
    for ex in latent["examples"]:
        assert len(ex["tokens"]) == len(ex["acts"])
        if ex["kind"] == "negative":
            assert max(ex["acts"]) == 0
    before = server.stats()["requests"]
    again = run(saes, zoo_model, server, tmp_path)
    assert server.stats()["requests"] == before  # every answer came from the cache
    assert again[0].metrics["llm_requests"] == 0
    assert again[0].metrics["llm_cache_hits"] == m["llm_requests"]
    assert again[0].metrics["detection_balanced_accuracy"] == m["detection_balanced_accuracy"]


def test_injected_faults_are_counted_per_kind_and_never_scored(zoo_model, tmp_path):
    faults = {"429": 0.05, "500": 0.05, "malformed": 0.05, "wrong_length": 0.15, "empty": 0.05}
    with (
        SimServer(port=0, faults=faults, retry_after_seconds=0.01) as sim,
        pytest.warns(SaebenchWarning, match="resid-topk-16 / autointerp: .* partial"),
    ):
        (record,) = run(
            ["zoo:resid-topk-16"], zoo_model, sim, tmp_path, max_attempts=1, backoff_seconds=0.0
        )
        injected = sim.stats()["faults"]
    details, m = record.details, record.metrics
    assert record.status == "partial" and m["n_lost_requests"] > 0
    kinds = set(details["failures"])
    assert any(k.endswith("/wrong_length") for k in kinds)
    assert len(kinds) >= 3 and injected
    lost = sum(n for k, n in details["failures"].items() if not k.startswith("explain/"))
    assert m["n_failed_examples"] == lost > 0
    explain_failed = [x for x in details["latents"] if x["status"] == "explain_failed"]
    assert m["n_explain_failed"] == len(explain_failed)
    for x in explain_failed:
        assert x["scores"] == {} and any(k.startswith("explain/") for k in x["failures"])
    for x in details["latents"]:
        if x["status"] != "scored":
            continue
        shown = {"detection": 0, "fuzzing": 0}
        for ex in x["examples"]:
            if ex["used_for"] == "score":
                shown["detection"] += 1
                shown["fuzzing"] += ex["kind"] != "negative"
        for scorer, total in shown.items():
            scored = x["scores"].get(scorer, {}).get("n", 0)
            failed = sum(n for k, n in x["failures"].items() if k.startswith(scorer + "/"))
            assert scored + failed == total, (x["latent"], scorer)


def test_intervention_modes(zoo_model, tmp_path):
    config = {"n_latents": 6, "scorers": ["intervention"], "intervention_prompts": 3}
    with SimServer(port=0) as sim:
        (surprisal,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path / "a", config)
    with SimServer(port=0, prompt_logprobs=False) as sim:
        (choice,) = run(["zoo:resid-topk-16"], zoo_model, sim, tmp_path / "b", config)
        purposes = sim.stats()["purposes"]
    assert surprisal.details["intervention_mode"] == "surprisal"
    assert choice.details["intervention_mode"] == "choice"
    n = choice.metrics["n_latents_scored"] + choice.metrics["n_dense"]
    changed = sum(not p["unchanged"] for x in choice.details["latents"]
                  for p in (x.get("intervention") or {}).get("passages", []))  # fmt: skip
    assert purposes["choose"] == changed <= 3 * n  # equal passages are not asked about
    assert 0 <= choice.metrics["intervention_score"] <= 1
    assert surprisal.metrics["intervention_kl"] == pytest.approx(0.5, abs=0.02)
    latent = next(x for x in choice.details["latents"] if x["status"] == "scored")
    assert latent["scores"]["intervention"]["n"] == 3
    assert len(latent["intervention"]["passages"]) == 3


def test_kl_search_reaches_the_target_on_padded_per_latent_prompts(zoo_model):
    from saebench.adapters.resolve import load_sae
    from saebench.evaluators.autointerp.intervention import prompt_batch, steer_rows
    from saebench.models.edits import add_direction
    from saebench.models.interventions import ModelRunner

    sae = load_sae("zoo:mlp-relu")
    runner = ModelRunner(zoo_model)
    g = torch.Generator().manual_seed(0)
    lengths = [10, 6, 8, 3, 9, 7]  # two prompts per latent, of different lengths
    prompts = [torch.randint(4, zoo_model.cfg.d_vocab, (n,), generator=g).tolist() for n in lengths]
    batch, owner = prompt_batch(prompts, [0, 0, 1, 1, 2, 2])
    found = steer_rows(runner, sae, [1, 5, 9], batch, owner, target_kl=0.5)
    assert found.reached.all()
    assert torch.allclose(found.kl, torch.full((3,), 0.5), atol=0.01)
    # an independent check: each of latent 5's prompts alone, a full forward with the edit
    kls = []
    for ids in prompts[2:4]:
        tokens = torch.tensor([ids])
        edit = add_direction(
            sae.W_dec[5].detach(), float(found.alpha[1]), torch.tensor([len(ids) - 1])
        )
        clean = torch.log_softmax(runner.logits_with(tokens, sae.meta.hook_name, None)[:, -1], -1)
        steered = torch.log_softmax(runner.logits_with(tokens, sae.meta.hook_name, edit)[:, -1], -1)
        kls.append(float((clean.exp() * (clean - steered)).sum(-1)))
    assert sum(kls) / 2 == pytest.approx(float(found.kl[1]), abs=1e-4)


def test_sampled_continuations_share_their_noise(zoo_model):
    from saebench.adapters.resolve import load_sae
    from saebench.evaluators.autointerp.intervention import (
        Steering,
        prompt_batch,
        sample_continuations,
    )
    from saebench.models.interventions import ModelRunner

    sae = load_sae("zoo:mlp-relu")
    runner = ModelRunner(zoo_model)
    batch, owner = prompt_batch([[5, 9, 30, 41], [7, 8]], [0, 1])
    nothing = Steering([1, 2], torch.ones(2), torch.zeros(2), torch.zeros(2), torch.ones(2) > 0)
    clean, steered = sample_continuations(runner, sae, batch, owner, nothing, 6, 1.0, [3, 4])
    assert torch.equal(clean, steered)  # no steering: the same draws give the same tokens
    again, _ = sample_continuations(runner, sae, batch, owner, nothing, 6, 1.0, [3, 5])
    assert torch.equal(again[0], clean[0]) and not torch.equal(again[1], clean[1])
    # a row alone gives what it gave in the batch (its noise is its own)
    alone, _ = sample_continuations(
        runner, sae, prompt_batch([[7, 8]], [0])[0], torch.tensor([0]),
        Steering([2], torch.ones(1), torch.zeros(1), torch.zeros(1), torch.ones(1) > 0),
        6, 1.0, [4],
    )  # fmt: skip
    assert torch.equal(alone[0], clean[1])


def test_batch_size_changes_nothing(zoo_model, server, tmp_path):
    config = {"n_latents": 8, "scorers": ["detection", "fuzzing"]}
    records = [
        saebench.evaluate(
            ["zoo:mlp-topk-16"],
            model=zoo_model,
            dataset="zoo",
            evaluators=["autointerp"],
            n_tokens=N_TOKENS,
            configs={"autointerp": config},
            llm={"model": "saebench-sim", "base_url": server.base_url, "cache_dir": str(tmp_path)},
            batch_size=size,
            progress=False,
        )[0]
        for size in (7, 32)
    ]
    # the same examples make the same prompts: the second run is answered from the cache
    assert records[1].metrics["llm_requests"] == 0
    assert records[0].details["latents"] == records[1].details["latents"]
