"""Planning and sourcing a run on a sentence-embedding model: a corpus of texts, no logits.

The model named is an embedding model (``minilm-l6``); the dataset is a corpus name (default
``kjv``). The rows evaluated are the corpus's held-out ``corpus`` and ``query`` parts, one
one-position context per text at the site ``pooled``. Evaluators that need logits lose their
CE/KL part unless the user asked for it; those that need a model runner, a task or readable
text are refused.

Example:
    >>> groups = plan("zoo:minilm-topk-16", evaluators="reconstruction,retrieval")
    >>> groups[0].tokens.kind
    'embedding'
"""

from __future__ import annotations

from typing import Any

from saebench.errors import SaebenchError, setting

DEFAULT_CORPUS = "kjv"


def check_embedding_request(request, model, metas: list) -> None:
    """Refuse token settings, an unknown corpus and SAEs that do not read ``pooled``."""
    from saebench.models.embedding_corpus import CORPORA
    from saebench.sources.embedding import SITE

    text = {"context_size": request.context_size, "prepend_bos": request.prepend_bos,
            "separator": request.separator}  # fmt: skip
    given = [name for name, value in text.items() if value is not None]
    if given:
        raise SaebenchError(
            f"{model.name} embeds whole texts; drop {', '.join(map(setting, given))}"
        )
    if request.dataset is not None and request.dataset not in CORPORA:
        raise SaebenchError(
            f"{setting('dataset')} {request.dataset!r}: an embedding model reads a named corpus "
            f"({', '.join(CORPORA)})"
        )
    for meta in metas:
        if meta.hook_name != SITE or meta.output_hook != SITE or meta.d_in != model.d_model:
            raise SaebenchError(
                f"SAE {meta.source or meta.hook_name} reads {meta.hook_name} at width "
                f"{meta.d_in}, but {model.name} serves only {SITE!r} at width {model.d_model}"
            )


def check_embedding_needs(specs: list) -> None:
    """Refuse, before any work, an evaluator the embedding source cannot serve."""
    from saebench.registry import evaluators
    from saebench.sources import check_serves
    from saebench.sources.embedding import EmbeddingSource

    for spec in specs:
        cls = evaluators.get(spec.name)
        needs = cls.needs_for(cls.Config(**spec.config))
        check_serves(EmbeddingSource.serves, needs, spec.name, "embedding")


def embedding_tokens(model_spec, dataset: str | None, n_tokens: int | None) -> dict[str, Any]:
    """The fields of the token spec of a run: the held-out parts of the corpus."""
    from saebench.models.embedding_corpus import load_corpus

    corpus = load_corpus(dataset or DEFAULT_CORPUS)
    rows = len(corpus.rows("corpus")) + len(corpus.rows("query"))
    if n_tokens is not None and n_tokens != rows:
        raise SaebenchError(
            f"{setting('n_tokens', n_tokens)}: an embedding run evaluates the {rows} texts of "
            f"the {corpus.name} corpus and query parts; drop it"
        )
    return {
        "name": corpus.name,
        "fingerprint": f"{model_spec.weights_hash[:16]}:{corpus.fingerprint()[:16]}",
        "kind": "embedding",
        "n_tokens": rows,
        "context_size": 1,
        "source": corpus.spec(),
    }


def embedding_source(spec, model, identity: dict):
    """The source of a planned group; its corpus must still be what was planned."""
    from saebench.models.embedding_corpus import load_corpus
    from saebench.sources.embedding import EmbeddingSource

    info = spec.tokens.source
    corpus = load_corpus(info["corpus"], info["n"], info["seed"])
    if not spec.tokens.fingerprint.endswith(corpus.fingerprint()[:16]):
        raise SaebenchError(
            f"corpus {corpus.name!r} gives other texts than when the run was planned; plan it again"
        )
    return EmbeddingSource(model, corpus, spec.settings.device, identity,
                           spec.settings.cache_dir, spec.settings.progress)  # fmt: skip
