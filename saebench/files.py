"""Writing files so that a reader never sees half of one (and nothing here imports torch)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from saebench.errors import SaebenchError


class WriteError(SaebenchError, OSError):
    """A failed write (a full disk, a read-only folder): a user error naming the folder and
    the fix, and still an ``OSError`` for callers that catch those."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write-to-temp-then-rename: a reader never sees half a file, and a crash leaves the
    old file (or none), never a truncated one. A failed write (a full disk, say) raises
    :class:`WriteError`, one line naming the folder and the fix."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path.parent, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_error(folder: Path, exc: OSError) -> OSError:
    """The one-line error of a write into ``folder`` that failed with ``exc``."""
    if isinstance(exc, WriteError):
        return exc
    why = (exc.strerror or str(exc)).lower()
    fix = "free some space on that disk" if exc.errno == errno.ENOSPC else "check its permissions"
    error = WriteError(f"cannot write into {folder}: {why}; {fix} or choose another folder")
    error.errno = exc.errno
    return error


def check_writable_dir(path: Path | str, what: str) -> Path:
    """Raise unless ``path`` is (or can be made) a folder we can write into. Nothing is left
    behind: the probe file is removed and no folder is created.

    ``what`` names the setting in the message (e.g. ``--out``).
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise SaebenchError(f"{what} {path}: is a file, not a folder; choose another path")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise SaebenchError(f"{what} {path}: {existing} is a file, so the folder cannot be made")
    probe = existing / f".saebench-write-test-{os.getpid()}"
    try:
        probe.write_text("")
    except OSError as exc:
        raise SaebenchError(
            f"{what} {path}: cannot write into {existing} ({exc.strerror or exc}); "
            "choose a writable folder"
        ) from exc
    finally:
        probe.unlink(missing_ok=True)
    return path
