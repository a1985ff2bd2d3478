"""``saebench compare``: how much several SAEs of one site agree, pair by pair.

It runs the ``compare`` panel evaluator through the normal run (records written like any
other, resumed the same way) and prints, per site, every pair, the mean +- sd over pairs
and the random baseline (two untrained SAEs of the same shapes).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from saebench.cli.eval_cmd import ContextSize, Dataset, Device, Model, Out, Quiet, Tokens
from saebench.cli.output import emit_json, warn_partial

Saes = Annotated[list[str], typer.Argument(help="two or more SAEs of one site (URIs or paths)")]
Samples = Annotated[
    int,
    typer.Option(
        "--samples", help="tokens for activation correlations (0: weights only, no model pass)"
    ),
]
MaxExact = Annotated[
    int, typer.Option("--max-exact", help="exact Hungarian matching up to this many latents")
]
Unsigned = Annotated[bool, typer.Option("--unsigned", help="match on |cos| (SynthSAEBench)")]
AsJson = Annotated[bool, typer.Option("--json", help="print the panel records as JSON")]

# columns of the printed table: (heading, metric)
COLUMNS = (
    ("MMCS A>B", "mmcs_dec_a_to_b"),
    ("MMCS B>A", "mmcs_dec_b_to_a"),
    ("PW-MCC dec", "hungarian_dec_mean_cos"),
    ("enc", "hungarian_enc_mean_cos"),
    (">0.7", "frac_dec_matched_gt_0_7"),
    ("shared", "frac_shared_pb_0_7"),
    ("agree", "enc_dec_matching_agree"),
    ("act corr", "act_hungarian_mean_corr"),
)


def compare_command(
    saes: Saes,
    model: Model = None,
    dataset: Dataset = None,
    n_tokens: Tokens = None,
    context_size: ContextSize = None,
    samples: Samples = 20000,
    max_exact: MaxExact = 16384,
    unsigned: Unsigned = False,
    device: Device = None,
    out_dir: Out = Path("results"),
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Compare SAEs of the same site: decoder/encoder matching, shared latents, correlations."""
    from saebench.resources import Resources
    from saebench.run.executors import execute
    from saebench.run.planning import plan_request

    config = {
        "n_activation_samples": samples,
        "max_exact_latents": max_exact,
        "signed": not unsigned,
    }
    fields = {"model": model, "dataset": dataset, "n_tokens": n_tokens, "device": device}
    fields.update(context_size=context_size, out_dir=out_dir, progress=not quiet and not as_json)
    request = _request(saes, config, **fields)
    resources = Resources()
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        groups = plan_request(request, resources)
        _check_sites(groups, resources)
        records = execute(request, groups=groups, resources=resources)
    records = [r for r in records if r.sae.role == "panel"]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in records])
        return
    for record in records:
        print(panel_text(record))
    warn_partial(records)
    print(f"\n{len(records)} panel record(s) in {out_dir}/")


def _request(saes: list[str], config: dict, **fields):
    """The run request: the ``compare`` evaluator alone on these SAEs."""
    from saebench.errors import SaebenchError
    from saebench.run.request import RunRequest

    if len(set(saes)) < 2:
        raise SaebenchError(
            "compare needs two or more different SAEs; name them all on the command line "
            "(to compare an SAE with itself, copy its folder and name both)"
        )
    return RunRequest.build(saes, evaluators=["compare"], configs={"compare": config}, **fields)


def _check_sites(groups, resources) -> None:
    """Refuse, before any work, SAEs of which no two share a site and a token set (a panel
    compares the SAEs of one group at one hook)."""
    from collections import Counter

    from saebench.errors import SaebenchError
    from saebench.models.load import parse_dtype

    for group in groups:
        device, dtype = group.settings.device, parse_dtype(group.sae_dtype)
        hooks = Counter(resources.sae(spec, device, dtype).meta.hook_name for spec in group.saes)
        if any(count >= 2 for count in hooks.values()):
            return
    raise SaebenchError(
        "no two of these SAEs read the same site with the same tokens; compare SAEs of one "
        "hook (and one context size, or set --context-size)"
    )


def panel_text(record) -> str:
    """One site's pairs, their mean +- sd and the random baseline, as a table."""
    from tabulate import tabulate

    details = record.details
    rows = [
        [f"{pair['a']} vs {pair['b']}", *(_cell(pair.get(m)) for _, m in COLUMNS)]
        for pair in details["pairs"]
    ]
    sd = details.get("sd", {})
    rows.append(["mean +- sd", *(_cell(record.metrics.get(m), sd.get(m)) for _, m in COLUMNS)])
    rows.append(["random init", *(_cell(record.nulls.get(m)) for _, m in COLUMNS)])
    title = (
        f"{record.sae.hook_name}: {len(details['members'])} SAEs, "
        f"{details['matching']} matching, {details['activation_rows']} activation rows"
    )
    table = tabulate(rows, headers=["pair", *(h for h, _ in COLUMNS)], tablefmt="github")
    return f"\n{title}\n{table}"


def _cell(value, sd=None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if sd is None else f"{value:.3f}+-{sd:.3f}"
