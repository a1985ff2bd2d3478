"""``saebench llm-sim``: serve the rule-based judge so a config can be dry-run with no spend."""

from __future__ import annotations

import typer

FAULT_HELP = (
    "Inject a fault into a fraction of requests, KIND:RATE (429, 500, slow, malformed, "
    "wrong_length, empty, blank, garbage, trickle; e.g. 429:0.1); repeatable."
)


def llm_sim_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on (0: any free port)."),
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),
    seed: int = typer.Option(0, help="Seed of the fault choice."),
    no_prompt_logprobs: bool = typer.Option(
        False, "--no-prompt-logprobs", help="Answer 404 on /v1/completions, like a chat-only API."
    ),
    latency_seconds: float = typer.Option(0.0, help="Delay before every answer."),
    retry_after_seconds: float = typer.Option(1.0, help="Retry-After sent with a 429 fault."),
    slow_seconds: float = typer.Option(
        65.0, help="Hold of a slow fault (beyond the timeout), or until the client hangs up."
    ),
    trickle_seconds: float = typer.Option(
        120.0, help="Length of a trickle fault: the answer a byte per 0.1 s, over this long."
    ),
    fault_sightings: int = typer.Option(
        None, help="Faults only on the first N sightings of a request (a burst that ends)."
    ),
) -> None:
    """Serve a simulated OpenAI-compatible judge until Ctrl-C."""
    from saebench.activations.scratch import Terminated
    from saebench.errors import SaebenchError
    from saebench.llm.sim import MODEL_NAME, SimServer

    faults = parse_faults(fault)
    try:
        server = SimServer(
            host=host,
            port=port,
            faults=faults,
            seed=seed,
            prompt_logprobs=not no_prompt_logprobs,
            latency_seconds=latency_seconds,
            retry_after_seconds=retry_after_seconds,
            slow_seconds=slow_seconds,
            trickle_seconds=trickle_seconds,
            fault_sightings=fault_sightings,
        )
    except OSError as exc:
        raise SaebenchError(
            f"llm-sim: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another --port"
        ) from exc
    url = server.base_url
    print(f"llm-sim: serving a simulated judge at {url}", flush=True)
    print(f"use: --llm-base-url {url} --llm-model {MODEL_NAME}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, Terminated):
        pass
    finally:
        server.stop()
    print(f"llm-sim: stopped after {server.stats()['requests']} requests", flush=True)


def parse_faults(pairs: list[str]) -> dict[str, float]:
    """``["429:0.1", "slow:0.05"]`` -> ``{"429": 0.1, "slow": 0.05}``."""
    from saebench.errors import SaebenchError
    from saebench.llm.sim import check_faults

    faults: dict[str, float] = {}
    for pair in pairs:
        kind, sep, rate = pair.rpartition(":")
        try:
            if not sep or not kind:
                raise ValueError("expected KIND:RATE")
            faults[kind] = faults.get(kind, 0.0) + float(rate)
        except ValueError as exc:
            raise SaebenchError(f"--fault {pair!r}: {exc}; write e.g. --fault 429:0.1") from None
    try:
        return check_faults(faults)
    except ValueError as exc:
        raise SaebenchError(f"--fault: {exc}") from None
