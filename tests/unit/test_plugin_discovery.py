"""A third-party plug-in package, pip-installed, is found through its entry points alone.

The fixture package (tests/fixtures/plugin_pkg) declares an adapter and an evaluator the way
docs/writing-plugins.md says: named by their entry points only, no decorator, no ``name``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import saebench
from saebench import load_sae
from saebench.registry import adapters, evaluators

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


def test_installed_plugins_are_discovered_and_named_by_their_entry_points(
    tmp_path, tiny_model, texts
):
    assert "theirscheme" not in adapters.names()
    assert "their_max_code" not in evaluators.names()
    target = _install(tmp_path)
    sys.path.insert(0, str(target))
    adapters.refresh()
    evaluators.refresh()
    try:
        assert "theirscheme" in adapters.names() and "their_max_code" in evaluators.names()
        assert adapters.source("theirscheme") == "saebench-test-plugin"
        assert evaluators.source("their_max_code") == "saebench-test-plugin"
        assert "saebench_test_plugin" not in sys.modules  # lazy: imported when asked for
        sae = load_sae("theirscheme:32x64")
        assert (sae.d_in, sae.d_sae) == (32, 64)
        assert sae.meta.source == "theirscheme:32x64"
        # the classes declare no name: the entry points gave them theirs
        assert adapters.get("theirscheme").name == "theirscheme"
        assert evaluators.get("their_max_code").name == "their_max_code"
        (record,) = saebench.evaluate(
            sae,
            model=tiny_model,
            dataset=texts,
            evaluators="their_max_code",
            n_tokens=256,
            context_size=16,
            progress=False,
        )
        assert record.evaluator.name == "their_max_code"
        assert math.isfinite(record.metrics["max_code"]) and record.metrics["max_code"] > 0
        # the built-in plug-ins are rediscovered alongside them
        builtins = {"saelens", "sparsify", "dictionary_learning", "gemmascope", "openai"}
        assert builtins <= set(adapters.names())
        assert {"reconstruction", "sparsity", "mdl"} <= set(evaluators.names())
        assert adapters.get("sparsify").__name__ == "SparsifyAdapter"
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("saebench_test_plugin", None)
        adapters.refresh()
        evaluators.refresh()
    # uninstalled: forgotten on refresh
    assert "theirscheme" not in adapters.names()
    assert "their_max_code" not in evaluators.names()
