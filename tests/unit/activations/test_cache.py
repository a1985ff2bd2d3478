from helpers import make_model, make_sae

import saebench
from saebench.activations.shared_pass import SharedPass


def _run(model, texts, cache_dir, counter):
    original = SharedPass._clean

    def counting(self, index, tokens, names, need_logits, cache):
        acts, logits = original(self, index, tokens, names, need_logits, cache)
        counter.append(cache is not None and cache.has(index))
        return acts, logits

    SharedPass._clean = counting
    try:
        return saebench.evaluate(
            make_sae(),
            model=model,
            dataset=texts,
            evaluators=["sparsity"],
            n_tokens=256,
            context_size=16,
            batch_size=4,
            cache_dir=cache_dir,
            resume=False,
            progress=False,
        )
    finally:
        SharedPass._clean = original


def test_persistent_cache_serves_a_rerun_and_keeps_models_apart(tiny_model, texts, tmp_path):
    first, second = [], []
    a = _run(tiny_model, texts, tmp_path, first)
    b = _run(tiny_model, texts, tmp_path, second)
    assert second and all(second)  # every batch came from disk
    assert a[0].metrics == b[0].metrics
    other = make_model(tmp_path / "other", seed=1)  # same name, other weights
    third = []
    c = _run(other, texts, tmp_path, third)
    assert c[0].metrics != a[0].metrics
    assert len(list(tmp_path.glob("*/key.json"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))
