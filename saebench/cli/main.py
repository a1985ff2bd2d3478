"""Entry point: builds the command tree and turns user errors into one clean line.

Every user mistake ends the same way: exit code 2 and one ``error: ...`` line naming the
problem and the fix, no traceback (``--debug`` shows one). That covers saebench's own
errors and every command-line parsing error (typer vendors click, so its exceptions are
typer's, not ``click.ClickException``). Ctrl-C and SIGTERM keep finished records and say how
to resume; SIGTERM exits with 143 however often it is repeated while the run cleans up.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings

import click
import typer

from saebench.activations.scratch import Terminated
from saebench.cli import (
    adapters_cmd,
    autointerp_cmd,
    compare_cmd,
    eval_cmd,
    evaluators_cmd,
    interop_cmd,
    leaderboard_cmd,
    llm_cmd,
    run_cmd,
    synth_cmd,
    tasks_cmd,
    zoo_cmd,
)
from saebench.errors import SaebenchError, SaebenchWarning, command_line

app = typer.Typer(
    name="saebench",
    help="Evaluate sparse autoencoders and transcoders, the same way for every format.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("eval")(eval_cmd.eval_command)
app.command("compare")(compare_cmd.compare_command)
app.command("quickstart")(zoo_cmd.quickstart_command)
app.command("run")(run_cmd.run_command)
app.command("llm-sim")(llm_cmd.llm_sim_command)
app.add_typer(adapters_cmd.app, name="adapters")
app.add_typer(autointerp_cmd.app, name="autointerp")
app.add_typer(evaluators_cmd.app, name="evaluators")
app.add_typer(interop_cmd.export_app, name="export")
app.add_typer(interop_cmd.import_app, name="import")
app.add_typer(leaderboard_cmd.app, name="leaderboard")
app.add_typer(synth_cmd.app, name="synth")
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(zoo_cmd.app, name="zoo")

_USAGE_ERRORS = (typer.TyperException, click.ClickException)
_INTERRUPTS = (KeyboardInterrupt, typer.Abort, click.Abort, Terminated)
_RESUME_HINT = "interrupted: finished records are kept; rerun the same command to resume"


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    """saebench: evaluation harness for SAEs."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    previous = _on_sigterm_unwind()
    terminated = False
    try:
        with command_line(), warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = command.main(args=args, prog_name="saebench", standalone_mode=False)
    except SaebenchError as exc:
        if debug:
            raise
        _fail(str(exc))
    except _INTERRUPTS as exc:
        terminated = isinstance(exc, Terminated)
        print(_RESUME_HINT, file=sys.stderr)
        sys.exit(143 if terminated else 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except _USAGE_ERRORS as exc:
        if debug:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `saebench adapters`: help was asked
            print(exc.format_message())
            sys.exit(0)
        _fail(_usage_message(exc))
    finally:
        if terminated and argv is None and previous is not None:
            # the process is ending: a repeated SIGTERM during interpreter shutdown must
            # not kill it by the signal (-15) after the cleanup is done
            signal.signal(signal.SIGTERM, _exit_terminated)
        elif previous is not None:
            signal.signal(signal.SIGTERM, previous)  # called in-process: give it back
    if code == 130:  # typer turns Ctrl-C inside a command into exit code 130
        print(_RESUME_HINT, file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    first = " ".join(message.split())  # one line, whatever the source
    print(f"error: {first}", file=sys.stderr)
    sys.exit(2)


def _usage_message(exc: Exception) -> str:
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "saebench"
    return f"{message.rstrip('.')}; see `{where} --help`"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, SaebenchWarning):
        print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _on_sigterm_unwind():
    """Turn SIGTERM into :class:`Terminated` (main thread, default handler only); return the
    handler to restore, or None when nothing was changed."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None

    return signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum, frame) -> None:
    # Once only: a repeated SIGTERM must not cut short the cleanup the first one started
    # (scratch folders are removed while the stack unwinds). A Python no-op, not SIG_IGN: a
    # SIGTERM already caught by the C handler but not yet run would find SIG_IGN in place
    # and raise "OSError: Signal 15 ignored due to race condition" mid-cleanup.
    signal.signal(signal.SIGTERM, _ignore_repeat)
    raise Terminated()


def _ignore_repeat(signum, frame) -> None:
    """A SIGTERM after the first, while the run unwinds: nothing to do."""


def _exit_terminated(signum, frame) -> None:
    os._exit(128 + signal.SIGTERM)


if __name__ == "__main__":
    main()
