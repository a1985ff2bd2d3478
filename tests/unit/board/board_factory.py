"""Records made by hand (no model run), so every expected table cell is known in advance."""

from saebench.identity import stable_hash
from saebench.records import (
    DatasetInfo,
    EvalRecord,
    EvaluatorInfo,
    ModelInfo,
    Provenance,
    SaeInfo,
    TaskInfo,
    record_key,
)

RECON = {
    "main": "ce_loss_score",
    "higher": {"ce_loss_score": True, "fvu": False, "mse": False, "explained_variance": True},
}
SPARSITY = {"main": "l0", "higher": {"l0": None, "l1": None, "dead_fraction": False}}


def make_record(
    sae: str,
    evaluator: str,
    metrics: dict,
    *,
    main: str,
    higher: dict,
    hook: str = "blocks.0.hook_resid_post",
    model: str = "zoo",
    architecture: str = "topk",
    config: dict | None = None,
    references: dict | None = None,
    task: bool = False,
    created_at: str = "2026-01-01T00:00:00+00:00",
    git_commit: str | None = "0123456789abcdef0123456789abcdef01234567",
) -> EvalRecord:
    """A record with complete provenance and a correct key."""
    config = config or {"seed": 0}
    info = EvaluatorInfo(
        name=evaluator,
        version="1",
        config=config,
        config_hash=stable_hash(config),
        main_metric=main,
        higher_is_better=higher,
        references=references or {},
    )
    sae_info = SaeInfo(
        uri=f"zoo:{sae}",
        name=sae,
        architecture=architecture,
        hook_name=hook,
        d_in=64,
        d_sae=256,
        weights_hash=stable_hash(["weights", sae]),
        metadata={},
    )
    model_info = ModelInfo(
        name=model, revision="r1", dtype="float32", weights_hash="m" * 16, tokenizer_hash="t" * 16
    )
    dataset = None
    task_info = None
    if task:
        task_info = TaskInfo(name="zoo-cities", version="1", config={}, fingerprint="f" * 16)
    else:
        dataset = DatasetInfo(name="zoo-text", fingerprint="d" * 16, n_tokens=4096, context_size=32)
    key = record_key(sae_info.uri, sae_info.weights_hash, model_info, info, dataset, task_info)
    return EvalRecord(
        key=key,
        evaluator=info,
        sae=sae_info,
        model=model_info,
        dataset=dataset,
        task=task_info,
        metrics=metrics,
        provenance=Provenance(
            saebench_version="0.3.0",
            git_commit=git_commit,
            packages={"torch": "2.4.0"},
            python="3.11.2",
            device="cpu",
            created_at=created_at,
        ),
    )


def recon(sae, ce, fvu, **kw):
    metrics = {"ce_loss_score": ce, "fvu": fvu, "mse": fvu / 10, "explained_variance": 1 - fvu}
    return make_record(sae, "reconstruction", metrics, **RECON, **kw)


def sparsity(sae, l0, **kw):
    metrics = {"l0": l0, "l1": 2.0 * l0, "dead_fraction": 0.01}
    return make_record(sae, "sparsity", metrics, **SPARSITY, **kw)


def ravel(sae, score, neurons, das, **kw):
    metrics = {
        "disentanglement": score,
        "disentanglement_neurons": neurons,
        "disentanglement_das": das,
    }
    return make_record(
        sae,
        "ravel",
        metrics,
        main="disentanglement",
        higher={
            "disentanglement": True,
            "disentanglement_neurons": True,
            "disentanglement_das": True,
        },
        references={"neurons": "disentanglement_neurons", "das": "disentanglement_das"},
        task=True,
        **kw,
    )


# three SAEs on the residual stream, two on the MLP output; RAVEL on the residual ones
ZOO = [
    ("resid-a", "blocks.1.hook_resid_post", 0.95, 0.10, 16.0, "topk"),
    ("resid-b", "blocks.1.hook_resid_post", 0.99, 0.05, 64.0, "topk"),
    ("resid-c", "blocks.1.hook_resid_post", 0.90, 0.20, 32.0, "relu"),
    ("mlp-a", "blocks.0.hook_mlp_out", 0.97, 0.08, 8.0, "topk"),
    ("mlp-b", "blocks.0.hook_mlp_out", 0.93, 0.03, 24.0, "relu"),
]


def board_records():
    records = []
    for name, hook, ce, fvu, l0, arch in ZOO:
        records.append(recon(name, ce, fvu, hook=hook, architecture=arch))
        records.append(sparsity(name, l0, hook=hook, architecture=arch))
    for name, score, arch in (
        ("resid-a", 0.6, "topk"),
        ("resid-b", 0.7, "topk"),
        ("resid-c", 0.5, "relu"),
    ):
        records.append(
            ravel(name, score, 0.55, 0.9, hook="blocks.1.hook_resid_post", architecture=arch)
        )
    return records
