"""Run the saebench CLI in a child process that stops at a chosen call and says so.

A test that signals a running command must not race it: on a loaded machine the run may
finish before the signal is sent, or the signal may land anywhere. :func:`stalled_cli` starts
``saebench ARGV`` with one function patched so that, at the chosen call, it writes a marker
file and waits there until a signal ends the process; :func:`wait_for_marker` waits for that
file (an event, not a time). The signal then always lands at the same place.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import importlib, json, sys, time
from pathlib import Path

plan = json.loads(sys.argv[1])
module_name, _, attr = plan["target"].partition(":")
owner = importlib.import_module(module_name)
*path, name = attr.split(".")
for part in path:
    owner = getattr(owner, part)
original = getattr(owner, name)
calls = []

def stalled(*args, **kwargs):
    calls.append(1)
    arg = plan.get("arg")
    if len(calls) == plan.get("call") or (arg is not None and args[arg] == plan["equals"]):
        Path(plan["marker"]).write_text("stalled")
        while True:  # until a signal ends the process
            time.sleep(3600)
    return original(*args, **kwargs)

setattr(owner, name, stalled)
from saebench.cli.main import main

sys.argv = ["saebench", *plan["argv"]]
main()
"""


def stalled_cli(
    argv: list[str],
    marker: Path,
    target: str,
    *,
    call: int | None = None,
    arg: int | None = None,
    equals=None,
    **popen,
) -> subprocess.Popen:
    """``saebench ARGV`` in a child; ``target`` (``module:Class.method``) stalls at its
    ``call``-th call, or at the first whose positional argument ``arg`` equals ``equals``."""
    plan = {"argv": argv, "marker": str(marker), "target": target, "call": call}
    if arg is not None:
        plan.update(arg=arg, equals=equals)
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(plan)], **popen)


def wait_for_marker(marker: Path, child: subprocess.Popen, limit: float = 600) -> None:
    """Wait until the child has stalled; fail at once if it exits first. ``limit`` only stops
    a broken run from hanging the suite: it is far beyond any healthy start-up."""
    deadline = time.monotonic() + limit
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"the child exited ({child.returncode}) before it stalled")
        assert time.monotonic() < deadline, "the child never reached the stall"
        time.sleep(0.05)
