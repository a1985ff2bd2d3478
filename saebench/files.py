"""Writing files so that a reader never sees half of one (and nothing here imports torch)."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write-to-temp-then-rename: a reader never sees half a file, and a crash leaves the
    old file (or none), never a truncated one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable_dir(path: Path | str, what: str) -> Path:
    """Raise unless ``path`` is (or can be made) a folder we can write into. Nothing is left
    behind: the probe file is removed and no folder is created.

    ``what`` names the setting in the message (e.g. ``--out``).
    """
    from saebench.errors import SaebenchError

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
