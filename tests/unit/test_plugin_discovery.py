"""A third-party adapter package, pip-installed, is found through its entry point alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from saebench import load_sae
from saebench.registry import adapters

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "plugin_pkg"


def _install(tmp_path: Path) -> Path:
    """pip-install tests/fixtures/plugin_pkg into a private folder (no network, no deps)."""
    source = tmp_path / "src"
    shutil.copytree(FIXTURE, source)  # setuptools writes build files into the source tree
    target = tmp_path / "site"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--target",
        str(target),
        str(source),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return target


def test_installed_plugin_is_discovered(tmp_path):
    assert "theirscheme" not in adapters.names()
    target = _install(tmp_path)
    sys.path.insert(0, str(target))
    adapters.refresh()
    try:
        assert "theirscheme" in adapters.names()
        assert adapters.source("theirscheme") == "saebench-test-plugin"
        assert "saebench_test_plugin" not in sys.modules  # lazy: imported when asked for
        sae = load_sae("theirscheme:4x8")
        assert (sae.d_in, sae.d_sae) == (4, 8)
        assert sae.meta.source == "theirscheme:4x8"
        assert adapters.get("theirscheme").name == "theirscheme"
        # the built-in adapters are rediscovered alongside it
        builtins = {"saelens", "sparsify", "dictionary_learning", "gemmascope", "openai"}
        assert builtins <= set(adapters.names())
        assert adapters.get("sparsify").__name__ == "SparsifyAdapter"
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("saebench_test_plugin", None)
        adapters.refresh()
    assert "theirscheme" not in adapters.names()  # uninstalled: forgotten on refresh
