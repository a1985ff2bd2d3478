"""Each evaluator's cost as a multiple of one forward pass over the same tokens.

For every named (or every installed, offline) evaluator it runs ``saebench.evaluate`` alone on
one SAE, at the evaluator's quickstart preset (``--preset default`` for its defaults), and
divides the process CPU seconds by those of one plain forward pass of the model over the
token set the run streams (the same tokens, contexts and batch size). The model is loaded
once before anything is timed, so loading is in no figure. Each evaluator runs on two SAEs in
one call: the CPU figure covers the shared pass, the once-per-run preparation (captured
prompts, references) and both SAEs; "1st" and "2nd" are each SAE's ``finish`` wall seconds
from its record, so 2nd is what one more SAE adds after the shared work (1st holds it).

    python benchmarks/evaluator_cost.py                       # every offline evaluator, zoo
    python benchmarks/evaluator_cost.py --evaluators absorption,output_score
    python benchmarks/evaluator_cost.py --model smollm2-135m --sae zoo:smollm2-resid-topk-32 \
        --second zoo:smollm2-resid-relu --tokens 4096 --evaluators sae_probes

Times are process CPU seconds on one torch thread (benchmarks/README.md: on a shared machine
CPU time is what the work cost). It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import time
import warnings


def cpu_seconds(work) -> tuple[float, object]:
    began = time.process_time()
    out = work()
    return time.process_time() - began, out


def dataset_of(model_name: str) -> str:
    return "zoo" if model_name == "zoo" else "smollm2"


def forward_seconds(model, args) -> float:
    """CPU seconds of one plain forward (logits kept) over the tokens a run streams."""
    import torch

    from saebench.data.contexts import make_token_set

    ids = make_token_set(
        dataset_of(args.model), tokenizer=model.tokenizer, context_size=args.context,
        n_tokens=args.tokens,
    ).tokens  # fmt: skip
    batch = args.batch

    def run():
        with torch.inference_mode():
            for start in range(0, ids.shape[0], batch):
                model(ids[start : start + batch])

    seconds, _ = cpu_seconds(run)
    return seconds


def evaluator_seconds(name, model, saes, args) -> tuple[float, list[float], str]:
    """CPU seconds of ``evaluate`` with one evaluator over ``saes``, each SAE's finish time
    (wall seconds, from its record) and the records' status."""
    import saebench
    from saebench.registry import evaluators

    cls = evaluators.get(name)
    config = dict(cls.quickstart) if args.preset == "quickstart" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, records = cpu_seconds(
            lambda: saebench.evaluate(
                saes, model=model, dataset=dataset_of(args.model), evaluators=[name],
                configs={name: config}, n_tokens=args.tokens, context_size=args.context,
                batch_size=args.batch, progress=False,
            )
        )  # fmt: skip
    own = [r for r in records if r.sae.role == "sae"]
    finishes = [r.timing.get("finish_seconds", float("nan")) for r in own]
    statuses = {str(r.details.get("status", r.status)) for r in own}
    return seconds, finishes, ", ".join(sorted(statuses))[:60]


def offline_evaluators() -> list[str]:
    from saebench.quickstart import runnable_evaluators

    names, _ = runnable_evaluators(None)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="zoo")
    parser.add_argument("--sae", default="zoo:resid-topk-16")
    parser.add_argument("--second", default="zoo:resid-relu", help="a second SAE (per-SAE cost)")
    parser.add_argument("--evaluators", default=None, help="comma-separated (default: all)")
    parser.add_argument("--preset", choices=["quickstart", "default"], default="quickstart")
    parser.add_argument("--tokens", type=int, default=32_768)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    import torch

    from saebench.models.load import load_model

    torch.set_num_threads(1)
    model = load_model(args.model, device="cpu")
    names = args.evaluators.split(",") if args.evaluators else offline_evaluators()
    forward = forward_seconds(model, args)
    print(f"one forward pass over {args.tokens:,} tokens of {args.model}: {forward:.2f} CPU s")
    print(f"{'evaluator':<18} {'2 SAEs s':>9} {'x fwd':>7} {'1st':>6} {'2nd':>6}  status")
    for name in names:
        seconds, finishes, status = evaluator_seconds(name, model, [args.sae, args.second], args)
        first, second = (f"{t:6.1f}" for t in finishes[:2])
        print(f"{name:<18} {seconds:>9.1f} {seconds / forward:>7.1f} {first} {second}  {status}")


if __name__ == "__main__":
    main()
