"""Scratch folders: removed on every exit a process can clean up after, and at the next start."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from saebench.activations.scratch import PREFIX, Terminated, scratch_dir

POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

CHILD = """
import sys, time
from saebench.activations.scratch import scratch_dir
with scratch_dir(sys.argv[1]) as path:
    (path / "shard").write_bytes(b"x" * 1000)
    print(path, flush=True)
    while True:  # until the test signals it, however long the machine takes to get there
        time.sleep(3600)
"""


def _child(root) -> tuple[subprocess.Popen, str]:
    """A process inside scratch_dir(root), and the folder it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _folder(path, days: float = 0):
    """A folder whose last change was ``days`` ago."""
    path.mkdir()
    then = time.time() - days * 86400
    os.utime(path, (then, then))
    return path


@pytest.fixture
def default_sigterm():
    """Run with Python's default SIGTERM handling whatever the test runner set."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_the_folder_is_named_for_its_process_and_removed_on_exit(tmp_path):
    with scratch_dir(tmp_path) as path:
        assert path.is_dir() and path.parent == tmp_path
        assert path.name.startswith(f"{PREFIX}{os.getpid()}-")
        (path / "shard").write_bytes(b"x")
    assert not path.exists()


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_the_folder_is_removed_when_an_error_unwinds(tmp_path, error):
    with pytest.raises(error), scratch_dir(tmp_path) as path:
        (path / "shard").write_bytes(b"x")
        raise error()
    assert not path.exists()


@POSIX
def test_sigterm_is_caught_only_inside_and_the_old_handler_comes_back(tmp_path, default_sigterm):
    with scratch_dir(tmp_path):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@POSIX
def test_someone_elses_sigterm_handler_is_left_alone(tmp_path):
    def theirs(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, theirs)
    try:
        with scratch_dir(tmp_path):
            assert signal.getsignal(signal.SIGTERM) is theirs
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, previous)


@POSIX
def test_a_worker_thread_gets_a_folder_without_touching_signals(tmp_path, default_sigterm):
    seen = {}

    def work():
        with scratch_dir(tmp_path) as path:
            seen["path"] = path
            seen["handler"] = signal.getsignal(signal.SIGTERM)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["handler"] is signal.SIG_DFL and not seen["path"].exists()


@POSIX
def test_terminated_unwinds_like_an_exit_with_the_sigterm_status():
    assert issubclass(Terminated, BaseException) and not issubclass(Terminated, Exception)
    assert Terminated().code == 128 + signal.SIGTERM


@POSIX
def test_sigterm_removes_the_folder_and_exits_cleanly(tmp_path):
    proc, path = _child(tmp_path)
    assert os.path.isdir(path)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr == ""  # no traceback
    assert not os.path.exists(path)


@POSIX
def test_sigkill_leaves_the_folder_and_the_next_run_removes_it(tmp_path):
    proc, path = _child(tmp_path)
    proc.kill()
    proc.communicate(timeout=120)
    assert os.path.isdir(path)
    with scratch_dir(tmp_path) as mine:
        assert not os.path.exists(path)
        assert [p.name for p in tmp_path.iterdir()] == [mine.name]


@POSIX
def test_folders_of_live_processes_and_unknown_names_are_kept(tmp_path):
    live, live_path = _child(tmp_path)
    try:
        removed = [
            _folder(tmp_path / f"{PREFIX}{_dead_pid()}-abc"),
            _folder(tmp_path / f"{PREFIX}k2x_9qpa", days=2),  # old naming, stale
        ]
        kept = [
            _folder(tmp_path / f"{PREFIX}{os.getpid()}-abc", days=2),  # alive: age is no matter
            _folder(tmp_path / f"{PREFIX}zz81ab_c", days=0.5),  # old naming, may still run
            _folder(tmp_path / f"{PREFIX}extra-part", days=2),  # not a name we write
            _folder(tmp_path / "other-tool-1234-abc", days=2),
        ]
        as_file = tmp_path / f"{PREFIX}{_dead_pid()}-file"
        as_file.write_text("")
        with scratch_dir(tmp_path):
            pass
        assert os.path.isdir(live_path)
        assert all(folder.is_dir() for folder in kept) and as_file.is_file()
        assert not any(folder.exists() for folder in removed)
    finally:
        live.kill()
        live.communicate(timeout=120)
