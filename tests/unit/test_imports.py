"""What the public surface costs to import: listing plug-ins and reading records load no
torch (about 1.5 s of start-up), and every lazy export resolves."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "records" / "schema1"

# Each runs in a fresh interpreter, then prints whether torch was imported.
_DRIVER = """
import sys
{body}
print("torch" in sys.modules)
"""
_CLI = """
from saebench.cli.main import main
try:
    main({argv!r})
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""
_LIGHT = {
    "adapters list": _CLI.format(argv=["adapters", "list"]),
    "evaluators list": _CLI.format(argv=["evaluators", "list", "--json"]),
    "--help": _CLI.format(argv=["--help"]),
    "records": f"""
from saebench.records import load_records
from saebench.results.leaderboard import records_frame
records = load_records({str(FIXTURE)!r})
assert len(records) == 2 and len(records_frame(records)) == 1
""",
    "plug-in protocol and configs": """
from saebench.evaluators import (
    EvalConfig, EvalContext, EvalMetrics, EvalResult, Evaluator, Needs, SaeBatch, metric,
)
from saebench.evaluators.mdl import MdlConfig, MdlMetrics
from saebench.evaluators.reconstruction import ReconstructionConfig
from saebench.evaluators.sparsity import SparsityConfig
from saebench.sae import SaeMetadata
import saebench.adapters
MdlConfig(bits=[2, 4]); ReconstructionConfig(); SparsityConfig()
SaeMetadata(architecture="relu", d_in=2, d_sae=4, hook_name="blocks.0.hook_resid_post")
""",
}


@pytest.mark.parametrize("case", _LIGHT)
def test_imports_no_torch(case):
    script = _DRIVER.format(body=_LIGHT[case])
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False", f"{case} imported torch"


@pytest.mark.parametrize(
    "package", ["saebench", "saebench.adapters", "saebench.evaluators", "saebench.sae"]
)
def test_every_lazy_export_is_listed_and_resolves(package):
    module = importlib.import_module(package)
    listed = dir(module)
    for name in module.__all__:
        assert name in listed, f"{package}.{name} missing from dir()"
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        module.nonexistent  # noqa: B018


def test_the_evaluator_protocol_is_importable_from_the_package():
    from saebench import evaluators
    from saebench.evaluators import base

    names = ["Evaluator", "EvalConfig", "EvalMetrics", "EvalResult", "EvalContext", "Needs"]
    for name in [*names, "SaeBatch", "Downstream", "metric", "register_evaluator"]:
        assert getattr(evaluators, name) is getattr(base, name)
