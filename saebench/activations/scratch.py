"""Scratch folders for temporary activation caches that never outlive their run.

A cache for a two-pass evaluator can be gigabytes. :func:`scratch_dir` removes its folder on
a normal exit, an exception, Ctrl-C and SIGTERM (what ``timeout`` and Slurm send). SIGKILL
cannot be caught, so folder names carry the owner's process id and every entry removes the
folders of processes that are gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "saebench-acts-"
# Folders of the old naming (no pid) cannot be tied to a process; past this age, no
# evaluation is plausibly still reading them.
OLD_NAMING_MAX_AGE_SECONDS = 24 * 3600


class Terminated(SystemExit):
    """SIGTERM, raised in the main thread inside :func:`scratch_dir` so the stack unwinds.

    A ``SystemExit`` (so a ``BaseException``): ``except Exception`` does not swallow it,
    ``finally`` blocks and context managers run, and if nothing catches it the interpreter
    exits without a traceback and with status 143, as if the signal had killed it.
    Not ``KeyboardInterrupt``, which would claim Ctrl-C and exit 130.
    """

    def __init__(self, code: int = 128 + signal.SIGTERM) -> None:
        super().__init__(code)


@contextmanager
def scratch_dir(root: Path | str | None = None) -> Iterator[Path]:
    """A fresh folder under ``root`` (default: the temp dir), removed however the run ends.

    Stale folders of earlier runs are removed first; see :func:`remove_stale`.

    Example:
        >>> with scratch_dir() as folder:
        ...     cache = ActivationCache(folder, key, names)
    """
    root = Path(root) if root is not None else Path(tempfile.gettempdir())
    remove_stale(root)
    with _sigterm_unwinds():
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def remove_stale(root: Path | str) -> list[Path]:
    """Remove ``saebench-acts-*`` folders of finished runs under ``root``; return them.

    ``saebench-acts-<pid>-*`` goes when no process ``pid`` exists; ``saebench-acts-<random>``
    (the naming before pids) when unchanged for a day. Anything else is left alone.
    """
    removed = []
    for entry in _candidates(Path(root)):
        if _is_stale(entry):
            shutil.rmtree(entry, ignore_errors=True)  # another cleaner may be racing us
            removed.append(Path(entry.path))
    return removed


def _candidates(root: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(root) as entries:
            return [
                e for e in entries if e.name.startswith(PREFIX) and e.is_dir(follow_symlinks=False)
            ]
    except OSError:  # no temp dir to clean is no reason to fail a run
        return []


def _is_stale(entry: os.DirEntry) -> bool:
    rest = entry.name[len(PREFIX) :]
    pid, sep, _ = rest.partition("-")
    if sep and pid.isdigit():
        return not process_alive(int(pid))
    if not sep:  # old naming: mkdtemp's random part has no hyphen
        try:
            age = time.time() - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            return False
        return age > OLD_NAMING_MAX_AGE_SECONDS
    return False


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on other systems than POSIX, assumed so)."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while inside, if nobody else handles it.

    Signal handlers can only be set from the main thread, and a handler someone else
    installed (a job runner, a web server) is theirs to keep.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum, frame) -> None:
    # A second SIGTERM (sent while the folder is being removed) must not cut the cleanup
    # short; the previous handler is back once the unwinding leaves scratch_dir.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()
