"""Entry point: builds the command tree and turns user errors into one clean line."""

from __future__ import annotations

import sys

import click
import typer

from saebench.cli import adapters_cmd, eval_cmd, evaluators_cmd, leaderboard_cmd, zoo_cmd
from saebench.errors import SaebenchError

app = typer.Typer(
    name="saebench",
    help="Evaluate sparse autoencoders and transcoders, the same way for every format.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("eval")(eval_cmd.eval_command)
app.command("quickstart")(zoo_cmd.quickstart_command)
app.add_typer(adapters_cmd.app, name="adapters")
app.add_typer(evaluators_cmd.app, name="evaluators")
app.add_typer(leaderboard_cmd.app, name="leaderboard")
app.add_typer(zoo_cmd.app, name="zoo")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    """saebench: evaluation harness for SAEs."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="saebench", standalone_mode=False)
    except SaebenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        print(
            "interrupted: finished records are kept; rerun the command to resume", file=sys.stderr
        )
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
