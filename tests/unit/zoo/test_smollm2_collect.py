"""``collect`` of the SmolLM2 SAE build on a fake model: the kept positions of every hook are
written in context order, and a second call resumes where the first stopped."""

import contextlib
from types import SimpleNamespace

import torch

from saebench.zoo.build import smollm2_saes as B


class _FakeModel:
    """Calls each hook with an activation that encodes the token and the hook's index."""

    tokenizer = None

    def __init__(self) -> None:
        self.hooked: list = []

    @contextlib.contextmanager
    def hooks(self, fwd_hooks):
        self.hooked = fwd_hooks
        yield
        self.hooked = []

    def __call__(self, tokens, stop_at_layer):
        assert stop_at_layer == B.LAYER + 1
        for name, fn in self.hooked:
            fn(_activation(tokens, name), SimpleNamespace(name=name))


def _activation(tokens: torch.Tensor, hook: str) -> torch.Tensor:
    scale = B.HOOKS.index(hook) + 1
    return (tokens.float() * scale)[..., None].expand(*tokens.shape, B.D_MODEL)


class _TokenSet:
    def __init__(self, tokens: torch.Tensor) -> None:
        self.tokens = tokens

    def mask(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens != B.SEPARATOR


def _tokens(n_contexts: int) -> torch.Tensor:
    ids = torch.arange(1, n_contexts * 8 + 1).reshape(n_contexts, 8) % 50
    return ids  # every 50th id is 0, the separator, which collect must drop


def test_collect_writes_kept_positions_in_order_and_resumes(tmp_path, monkeypatch):
    import saebench.data.contexts as contexts

    tokens = _tokens(40)
    shown = {"n": 20}  # the first call sees 20 contexts, the second all 40
    monkeypatch.setattr(contexts, "make_token_set", lambda *a, **k: _TokenSet(tokens[: shown["n"]]))
    lines: list[str] = []
    first = B.collect(_FakeModel(), tmp_path, n_tokens=400, minutes=60, log=lines.append)
    kept = tokens[tokens != B.SEPARATOR]
    assert first["contexts"] == 20 and first["rows"] == int((tokens[:20] != 0).sum())
    shown["n"] = 40
    second = B.collect(_FakeModel(), tmp_path, n_tokens=999, minutes=60, log=lines.append)
    assert second["contexts"] == 40 and second["rows"] == len(kept)
    assert second["capacity"] == 400  # the first call's, kept in progress.json
    acts = B.load_buffer(tmp_path)
    for i, hook in enumerate(B.HOOKS):
        expected = (kept.float() * (i + 1)).to(torch.float16)
        assert torch.equal(acts[hook][:, 0], expected), hook
        assert torch.equal(acts[hook][:, -1], expected), hook
    assert lines[-1].startswith(f"collected {len(kept)} positions")
