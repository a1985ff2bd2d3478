"""The one exception type that reaches users as a clean one-line error, and the way its
messages name a setting: as a flag on the command line, as a keyword in Python."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar


class SaebenchError(Exception):
    """A problem the user can fix: the message says what is wrong, where, and what to do.

    The CLI prints it as ``error: <message>`` and exits with code 2, with no traceback
    unless ``--debug`` is given.
    """


class SaebenchWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints it as one
    ``warning: ...`` line)."""


# The Python keyword of each setting and the flag that sets it from the command line.
FLAGS = {
    "saes": "SAE",
    "model": "--model",
    "dataset": "--dataset",
    "evaluators": "--evals",
    "n_tokens": "--tokens",
    "context_size": "--context-size",
    "prepend_bos": "--prepend-bos/--no-prepend-bos",
    "separator": "--separator",
    "batch_size": "--batch-size",
    "device": "--device",
    "model_dtype": "--model-dtype",
    "sae_dtype": "--sae-dtype",
    "out_dir": "--out",
    "cache_dir": "--cache-dir",
    "configs": "--set",
    "resume": "--no-resume",
}

_ON_COMMAND_LINE: ContextVar[bool] = ContextVar("saebench_on_command_line", default=False)


def on_command_line() -> bool:
    """Whether messages should speak in flags (inside :func:`command_line`)."""
    return _ON_COMMAND_LINE.get()


def setting(name: str, value: object = None) -> str:
    """How the user names a setting where they are: ``--tokens`` on the command line,
    ``n_tokens=`` in Python (with ``value``: ``--tokens 5000`` / ``n_tokens=5000``).

    Example:
        >>> f"lower {setting('n_tokens')}"   # 'lower n_tokens=' (Python), 'lower --tokens' (CLI)
    """
    if _ON_COMMAND_LINE.get():
        flag = FLAGS.get(name, name)
        return flag if value is None else f"{flag} {value}"
    return f"{name}=" if value is None else f"{name}={value!r}"


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    """Within this block, messages name settings by their flags."""
    token = _ON_COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _ON_COMMAND_LINE.reset(token)
