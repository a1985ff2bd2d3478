"""Records made by hand (no model run), so every expected table cell is known in advance."""

from saebench.identity import stable_hash
from saebench.records import (
    DatasetInfo,
    EvalRecord,
    EvaluatorInfo,
    Interval,
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
    model: str = "toy",
    architecture: str = "topk",
    config: dict | None = None,
    references: dict | None = None,
    task: bool = False,
    created_at: str = "2026-01-01T00:00:00+00:00",
    git_commit: str | None = "0123456789abcdef0123456789abcdef01234567",
    schema: int = 3,
    role: str = "sae",
    of: str | None = None,
    uri: str | None = None,
) -> EvalRecord:
    """A record with complete provenance and a correct key (not sealed: ``.sealed()`` or
    ``write_record`` gives it its content hash)."""
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
        uri=uri or f"zoo:{sae}",
        name=sae,
        architecture=architecture,
        hook_name=hook,
        d_in=64,
        d_sae=256,
        weights_hash=stable_hash(["weights", sae]),
        metadata={},
        role=role,
        of=of,
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
        schema_version=schema,
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
        schema=2,  # references as metric-name suffixes: how records before schema 3 held them
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


# -- schema 3: intervals, nulls, sample sizes, references and controls as records -------------
def estimated(record, low, high, *, unit="contexts", n=64, method="bootstrap", null=None):
    """The record with an interval (and a null) on its main metric and its sample size."""
    main = record.evaluator.main_metric
    record.intervals[main] = Interval(low=low, high=high, method=method, unit=unit, n=n)
    if null is not None:
        record.nulls[main] = null
    record.sample_sizes[unit] = n
    return record


def reference(evaluator, method, value, *, main, higher, hook="blocks.1.hook_resid_post", **kw):
    """A reference method's own record, as ``run_group`` writes it."""
    uri = f"reference:{evaluator}/{method}@{hook}"
    return make_record(
        method, evaluator, {main: value}, main=main, higher=higher, hook=hook, role="reference",
        uri=uri, architecture="reference", **kw,
    )  # fmt: skip


def control(of_sae, name, evaluator, value, *, main, higher, **kw):
    """A control made from the SAE ``zoo:of_sae``."""
    return make_record(
        name, evaluator, {main: value}, main=main, higher=higher, role="control",
        of=f"zoo:{of_sae}", **kw,
    )  # fmt: skip
