"""Plans and groups: a record's numbers depend only on its key."""

import json
import subprocess
import sys
import warnings

import pytest
import torch
from helpers import corpus, make_model, make_sae

import saebench
from saebench.adapters.saelens import save_saelens
from saebench.errors import SaebenchWarning
from saebench.models.load import save_model
from saebench.run.planning import GroupSpec, plan

EVALS = ["reconstruction", "sparsity", "mdl"]
MDL = {"mdl": {"bits": [2, 4, 6], "dense_bits": [2, 4, 6, 8]}}


def _evaluate(model, texts, saes, **kwargs):
    kwargs.setdefault("evaluators", EVALS)
    kwargs.setdefault("configs", MDL)
    return saebench.evaluate(
        saes, model=model, dataset=texts, n_tokens=1024, progress=False, **kwargs
    )


def _by_sae(records):
    return {(r.sae.name, r.evaluator.name): r for r in records}


def _close(a: dict, b: dict, rel=1e-6):
    assert a.keys() == b.keys()
    for name in a:
        if a[name] is None:
            assert b[name] is None, name
        else:
            assert b[name] == pytest.approx(a[name], rel=rel, abs=1e-9), name


@pytest.fixture(scope="module")
def saes():
    return {
        "a": make_sae("topk", k=8, seed=1, context_size=32),
        "b": make_sae("standard", seed=2, context_size=16),
        "c": make_sae("jumprelu", seed=3, hook_name="blocks.1.hook_mlp_out", context_size=32),
    }


def test_an_sae_gets_the_same_record_alone_and_in_any_company(tiny_model, texts, saes):
    alone = _by_sae(_evaluate(tiny_model, texts, [saes["a"]]))
    together = _by_sae(_evaluate(tiny_model, texts, [saes["b"], saes["c"], saes["a"]]))
    for key, record in alone.items():
        assert together[key].key == record.key
        assert together[key].dataset.context_size == 32
        _close(record.metrics, together[key].metrics)


@pytest.mark.parametrize("batch_size", [3, 64])
def test_batch_size_changes_no_number(tiny_model, texts, saes, batch_size):
    auto = _by_sae(_evaluate(tiny_model, texts, [saes["a"]]))
    fixed = _by_sae(_evaluate(tiny_model, texts, [saes["a"]], batch_size=batch_size))
    for key, record in auto.items():
        assert fixed[key].key == record.key
        # float32 model forwards differ in the last bits with the batch shape
        _close(record.metrics, fixed[key].metrics, rel=2e-5)


def test_saes_with_other_token_sets_go_to_other_groups(tiny_model, texts, saes):
    groups = plan([saes["a"], saes["b"], saes["c"]], tiny_model, texts, EVALS, 1024)
    sizes = sorted((g.tokens.context_size, len(g.saes)) for g in groups)
    assert sizes == [(16, 1), (32, 2)]


def test_a_record_key_is_recomputable_from_its_content(tiny_model, texts, saes):
    for record in _evaluate(tiny_model, texts, [saes["a"]], evaluators=["sparsity"], configs={}):
        assert record.expected_key() == record.key
        edited = record.model_copy(deep=True)
        edited.dataset.n_tokens += 1
        assert edited.expected_key() != record.key


@pytest.fixture(scope="module")
def on_disk(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("planning")
    save_model(tiny_model, root / "model")
    save_saelens(make_sae("topk", k=8, seed=5), root / "sae")
    (root / "texts.txt").write_text("\n".join(corpus(200)))
    return root


def test_a_group_spec_runs_the_same_in_a_fresh_process(on_disk, tmp_path):
    groups = plan(
        str(on_disk / "sae"),
        str(on_disk / "model"),
        str(on_disk / "texts.txt"),
        EVALS,
        1024,
        configs=MDL,
        device="cpu",
        progress=False,
    )
    (group,) = groups
    text = group.model_dump_json()
    assert GroupSpec.model_validate_json(text) == group
    here = saebench.run_group(group)
    script = (
        "import sys, json; from saebench.run.planning import GroupSpec; "
        "from saebench.run.group import run_group; "
        "spec = GroupSpec.model_validate_json(sys.stdin.read()); "
        "print(json.dumps([r.model_dump(mode='json') for r in run_group(spec)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=text, capture_output=True, text=True, check=True
    )
    there = json.loads(done.stdout)
    assert [r["key"] for r in there] == [r.key for r in here]
    for theirs, mine in zip(there, here, strict=True):
        _close(mine.metrics, theirs["metrics"])


def test_byte_identical_sae_folders_are_two_saes(on_disk, tmp_path, tiny_model, texts):
    sae = make_sae(seed=9)
    save_saelens(sae, tmp_path / "one" / "sae")
    save_saelens(sae, tmp_path / "two" / "sae")
    out = tmp_path / "out"
    kw = dict(evaluators=["sparsity"], configs={}, out_dir=out)
    first = _evaluate(tiny_model, texts, str(tmp_path / "one" / "sae"), **kw)
    second = _evaluate(tiny_model, texts, str(tmp_path / "two" / "sae"), **kw)
    assert first[0].key != second[0].key
    assert first[0].sae.uri != second[0].sae.uri
    assert len(list(out.glob("*.json"))) == 2


def test_a_model_with_other_weights_under_the_same_name_is_not_reused(tiny_model, texts, tmp_path):
    sae = make_sae(seed=4)
    other = make_model(tmp_path / "other", seed=11)  # same name and config, other weights
    kw = dict(evaluators=["reconstruction"], configs={}, out_dir=tmp_path / "out")
    first = _evaluate(tiny_model, texts, sae, **kw)
    second = _evaluate(other, texts, sae, **kw)
    assert first[0].key != second[0].key
    assert first[0].metrics["ce_loss_clean"] != second[0].metrics["ce_loss_clean"]


def test_the_same_sae_twice_is_evaluated_once(tiny_model, texts, tmp_path):
    save_saelens(make_sae(seed=6), tmp_path / "s")
    uri = str(tmp_path / "s")
    with pytest.warns(SaebenchWarning, match="given twice"):
        records = _evaluate(
            tiny_model,
            texts,
            [uri, str(tmp_path / "s" / "."), uri + "/"],
            evaluators=["sparsity"],
            configs={},
        )
    assert len(records) == 1


def test_a_uri_ending_in_dotdot_is_named_by_its_folder(tiny_model, texts, tmp_path):
    save_saelens(make_sae(seed=6), tmp_path / "mysae")
    (tmp_path / "mysae" / "inner").mkdir()
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (record,) = _evaluate(
            tiny_model,
            texts,
            str(tmp_path / "mysae" / "inner" / ".."),
            evaluators=["sparsity"],
            configs={},
            out_dir=out,
        )
    assert record.sae.name == "mysae"
    assert [p.name.split("__")[0] for p in out.glob("*.json")] == ["mysae"]


def test_a_float16_sae_has_an_l1(tiny_model, texts):
    sae = make_sae(seed=2)
    sae.W_enc.data *= 200  # large codes: their float16 sum overflows 65504
    (record,) = _evaluate(
        tiny_model, texts, sae, evaluators=["sparsity"], configs={}, sae_dtype="float16"
    )
    assert record.metrics["l1"] is not None and record.metrics["l1"] > 1000
    assert sae.dtype == torch.float32  # the caller's SAE is not converted in place


def test_legacy_explained_variance_by_hand(tiny_model, texts):
    """Per-token 1 - err / ||x - chunk mean||^2 over chunks of 2 contexts, averaged."""
    sae = make_sae(seed=3)
    (record,) = _evaluate(
        tiny_model,
        texts,
        sae,
        evaluators=["reconstruction"],
        configs={"reconstruction": {"legacy_chunk_contexts": 2, "downstream": False}},
        context_size=16,
        batch_size=3,
    )
    from saebench.data.contexts import make_token_set
    from saebench.data.sources import data_source

    token_set = make_token_set(
        data_source(texts),
        tokenizer=tiny_model.tokenizer,
        context_size=16,
        n_tokens=1024,
        prepend_bos=True,
        separator=tiny_model.tokenizer.bos_token_id,
        special_ids=(0, 1, 2),
        vocab_size=tiny_model.cfg.d_vocab,
    )
    acts = tiny_model.run_with_cache(token_set.tokens, names_filter=[sae.meta.hook_name])[1]
    x_all = acts[sae.meta.hook_name].double()
    mask = token_set.mask()
    values = []
    for first in range(0, token_set.tokens.shape[0], 2):
        x = x_all[first : first + 2][mask[first : first + 2]]
        x_hat = sae(x.float())[1].double()
        centred = (x - x.mean(0)).pow(2).sum(-1)
        values.append(1 - (x - x_hat).pow(2).sum(-1) / centred)
    expected = float(torch.cat(values).mean())
    assert record.metrics["explained_variance_legacy"] == pytest.approx(expected, rel=1e-5)


def _task_evaluator():
    """A task-only evaluator: the fraction of the task's test prompts the model answers."""
    from saebench.evaluators.base import (
        EvalConfig,
        EvalMetrics,
        EvalResult,
        Evaluator,
        Needs,
        TaskRequest,
        metric,
    )
    from saebench.registry import evaluators

    class Config(EvalConfig):
        n: int = 40

    class Metrics(EvalMetrics):
        n_prompts: float = metric("prompts seen", None)

    class PromptCount(Evaluator):
        version = "1"
        main_metric = "n_prompts"

    PromptCount.Config, PromptCount.Metrics = Config, Metrics
    PromptCount.needs_for = classmethod(
        lambda cls, config: Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name="zoo-ioi", config={"n": config.n}),
        )
    )
    PromptCount.finish = lambda self: EvalResult(
        metrics=Metrics(n_prompts=len(self.context.task.prompts("test")))
    )
    if "prompt_count" not in evaluators:
        evaluators.decorator("prompt_count")(PromptCount)


def test_a_task_evaluator_needs_no_dataset_and_keys_its_task():
    _task_evaluator()
    sae = make_sae(d_in=128, hook_name="blocks.1.hook_resid_post", seed=1)
    first = saebench.evaluate(sae, model="zoo", evaluators="prompt_count", progress=False)
    (record,) = first
    assert record.dataset is None and record.task.name == "zoo-ioi"
    assert record.task.config["n"] == 40 and record.metrics["n_prompts"] > 0
    assert record.expected_key() == record.key
    (other,) = saebench.evaluate(
        sae,
        model="zoo",
        evaluators="prompt_count",
        configs={"prompt_count": {"n": 20}},
        progress=False,
    )
    assert other.task.fingerprint != record.task.fingerprint and other.key != record.key


def test_a_model_without_a_tokenizer_takes_token_ids(tiny_model):
    from transformer_lens import HookedTransformer

    bare = HookedTransformer(tiny_model.cfg)  # no tokenizer
    bare.load_state_dict(tiny_model.state_dict())
    ids = torch.randint(
        4, tiny_model.cfg.d_vocab, (8, 16), generator=torch.Generator().manual_seed(0)
    )
    (record,) = saebench.evaluate(
        make_sae(seed=1),
        model=bare,
        dataset=ids,
        evaluators="sparsity",
        n_tokens=128,
        progress=False,
    )
    assert record.dataset.kind == "tokens" and record.model.tokenizer_hash is None
    assert record.dataset.special_ids == []  # no tokenizer: no token is special
    with pytest.raises(saebench.SaebenchError, match="the model has no tokenizer"):
        saebench.evaluate(make_sae(seed=1), model=bare, dataset=["some text"], progress=False)


def test_python_errors_name_keywords_and_cli_errors_name_flags():
    from saebench.errors import command_line

    with pytest.raises(saebench.SaebenchError, match="n_tokens= must be a positive") as err:
        plan("zoo:resid-relu", "zoo", "zoo", n_tokens=0)
    assert "--tokens" not in str(err.value)
    with command_line(), pytest.raises(saebench.SaebenchError, match="--tokens must be a"):
        plan("zoo:resid-relu", "zoo", "zoo", n_tokens=0)


def test_the_model_weights_are_hashed_once_per_run_even_with_a_persistent_cache(
    tiny_model, texts, tmp_path, monkeypatch
):
    """The cache is keyed by the plan's identities, not by reading the weights again."""
    reads = []
    real = tiny_model.state_dict

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny_model, "state_dict", counting)
    _evaluate(tiny_model, texts, make_sae(seed=3), cache_dir=tmp_path / "cache")
    assert len(reads) == 1  # the plan's weights hash
    assert list((tmp_path / "cache").glob("*/batch_*.safetensors"))


# -- the token budget against the dataset (issue 18, items 8 and 13b) -------------------------
def test_the_default_budget_on_the_zoo_is_capped_with_a_warning():
    with pytest.warns(SaebenchWarning, match="default"):
        [group] = plan(
            "zoo:resid-topk-16", model="zoo", dataset="zoo", evaluators="mdl", progress=False
        )
    assert 0 < group.tokens.n_tokens < 200_000
    assert group.tokens.n_tokens % group.tokens.context_size == 0


def test_an_explicit_budget_beyond_the_zoo_is_refused_when_planned():
    with pytest.raises(saebench.SaebenchError, match="fewer than the 200000 asked for"):
        plan("zoo:resid-topk-16", model="zoo", dataset="zoo", n_tokens=200_000, progress=False)


def test_an_absurd_budget_is_refused_before_anything_loads(monkeypatch, tmp_path):
    import saebench.models.load

    def refuse(*a, **k):
        raise AssertionError("loaded before the budget was refused")

    monkeypatch.setattr(saebench.models.load, "load_model", refuse)
    monkeypatch.setattr("saebench.run.planning._load_saes", refuse)
    (tmp_path / "t.txt").write_text("\n".join(corpus(50)))
    with pytest.raises(saebench.SaebenchError, match="t.txt"):
        plan("zoo:resid-topk-16", model="zoo", dataset=tmp_path / "t.txt", n_tokens=10**12)


def test_a_padded_batch_leaves_the_tokenizer_hash_and_the_keys_as_they_were(tiny_model, texts):
    """Tokenising a padded batch leaves padding and truncation set on a fast tokenizer; the
    hash (and so every record key) must not depend on how the tokenizer was last called."""
    from saebench.identity import tokenizer_hash

    tokenizer = tiny_model.tokenizer
    before = tokenizer_hash(tokenizer)
    tiny_model.to_tokens(texts[:2], padding_side="right")
    assert tokenizer.backend_tokenizer.padding is not None  # the call state did change
    assert tokenizer_hash(tokenizer) == before
