"""The plug-in's face loads no torch: its config, metrics and evaluator class are read by
`saebench evaluators list` and by planning; the work loads when it runs."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import sys
from saebench.evaluators.supervised import SupervisedEvaluator
from saebench.evaluators.supervised.config import QUICKSTART_CONFIG, SupervisedConfig
SupervisedConfig(**QUICKSTART_CONFIG); SupervisedEvaluator.prepare_identity(SupervisedConfig())
print("torch" in sys.modules)
"""


def test_config_and_evaluator_import_no_torch():
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
