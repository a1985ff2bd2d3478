"""Output folders are checked before any work, and checking them writes nothing."""

import os

import pytest

from saebench.errors import SaebenchError
from saebench.files import atomic_write_text, check_writable_dir


def test_a_missing_folder_is_fine_and_is_not_created(tmp_path):
    target = tmp_path / "new" / "out"
    assert check_writable_dir(target, "--out") == target
    assert not (tmp_path / "new").exists() and not list(tmp_path.iterdir())


def test_a_file_is_refused_with_the_setting_named(tmp_path):
    target = tmp_path / "out"
    target.write_text("")
    with pytest.raises(SaebenchError, match="--out .* is a file") as err:
        check_writable_dir(target, "--out")
    assert "\n" not in str(err.value)


def test_a_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SaebenchError, match="is a file, so the folder cannot be made"):
        check_writable_dir(tmp_path / "file" / "out", "--cache-dir")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_folder_is_refused(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    try:
        with pytest.raises(SaebenchError, match="cannot write"):
            check_writable_dir(target, "--out")
    finally:
        target.chmod(0o700)
    assert not list(target.iterdir())


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic_write_text(tmp_path / "a" / "r.json", "{}")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["r.json"]
