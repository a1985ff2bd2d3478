"""``saebench llm-sim``: serve the rule-based judge so a config can be dry-run with no spend."""

from __future__ import annotations

from typing import Annotated

import typer

FAULT_HELP = (
    "Inject a fault into a fraction of requests, KIND:RATE (429, 500, slow, malformed, "
    "wrong_length, empty, blank, garbage, trickle; e.g. 429:0.1); repeatable."
)


Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on (0: any free port).")]
Faults = Annotated[list[str], typer.Option("--fault", help=FAULT_HELP)]
Seed = Annotated[int, typer.Option(help="Seed of the fault choice.")]
NoPromptLogprobs = Annotated[
    bool,
    typer.Option(
        "--no-prompt-logprobs", help="Answer 404 on /v1/completions, like a chat-only API."
    ),
]
Latency = Annotated[float, typer.Option(help="Delay before every answer.")]
RetryAfter = Annotated[float, typer.Option(help="Retry-After sent with a 429 fault.")]
SlowSeconds = Annotated[
    float,
    typer.Option(help="Hold of a slow fault (beyond the timeout), or until the client hangs up."),
]
TrickleSeconds = Annotated[
    float,
    typer.Option(help="Length of a trickle fault: the answer a byte per 0.1 s, over this long."),
]
FaultSightings = Annotated[
    int,
    typer.Option(help="Faults only on the first N sightings of a request (a burst that ends)."),
]


def llm_sim_command(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    fault: Faults = None,
    seed: Seed = 0,
    no_prompt_logprobs: NoPromptLogprobs = False,
    latency_seconds: Latency = 0.0,
    retry_after_seconds: RetryAfter = 1.0,
    slow_seconds: SlowSeconds = 65.0,
    trickle_seconds: TrickleSeconds = 120.0,
    fault_sightings: FaultSightings = None,
) -> None:
    """Serve a simulated OpenAI-compatible judge until Ctrl-C."""
    server = _listen(
        host,
        port,
        faults=parse_faults(fault or []),
        seed=seed,
        prompt_logprobs=not no_prompt_logprobs,
        latency_seconds=latency_seconds,
        retry_after_seconds=retry_after_seconds,
        slow_seconds=slow_seconds,
        trickle_seconds=trickle_seconds,
        fault_sightings=fault_sightings,
    )
    _serve(server)


def _listen(host: str, port: int, **settings):
    """The simulated judge bound to ``host:port``; a port in use is the user's to change."""
    from saebench.errors import SaebenchError
    from saebench.llm.sim import SimServer

    try:
        return SimServer(host=host, port=port, **settings)
    except OSError as exc:
        raise SaebenchError(
            f"llm-sim: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another --port"
        ) from exc


def _serve(server) -> None:
    """Answer until Ctrl-C or SIGTERM, then say how many requests were served."""
    from saebench.activations.scratch import Terminated
    from saebench.llm.sim import MODEL_NAME

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
