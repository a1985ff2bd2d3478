"""ravel's config: a torch-free leaf, no import cycle among ravel's modules, a task named by
its registered name (RAVEL's layout only), and the keys of existing configs unchanged."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import saebench.evaluators.ravel as ravel
from saebench.errors import SaebenchError
from saebench.evaluators.ravel import RavelConfig, RavelEvaluator
from saebench.identity import stable_hash

PACKAGE = Path(ravel.__file__).parent
PREFIX = "saebench.evaluators.ravel."


def test_the_config_loads_no_torch():
    script = (
        "import sys\nfrom saebench.evaluators.ravel.config import RavelConfig, RavelMetrics\n"
        "RavelConfig(task='smollm2-cities').task_request()\nprint('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False"


def _imports(path: Path) -> set[str]:
    """ravel modules ``path`` imports, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX):
            found.add(node.module.removeprefix(PREFIX).split(".")[0])
    return found


def test_no_import_cycle_among_ravel_modules():
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    def reaches(start: str, goal: str, seen: set) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, {m}))
    assert cycles == []
    assert "evaluator" not in graph["run"] and graph["config"] == set()


def test_a_task_is_named_by_its_registered_name():
    config = RavelConfig(task="smollm2-cities", task_config={"attributes": ["Country"]})
    request = RavelEvaluator.needs_for(config).task
    assert request.name == "smollm2-cities" and request.config == {"attributes": ["Country"]}
    assert config.patched_position() == "entity" and config.variant() is None
    again = RavelConfig(**config.model_dump(mode="json"))  # the plan's dump parses back
    assert again.task == "smollm2-cities"


def test_a_task_not_in_ravels_layout_is_refused_in_one_line():
    with pytest.raises(SaebenchError, match="'zoo-ioi' is not a task in RAVEL's layout") as err:
        RavelEvaluator.needs_for(RavelConfig(task="zoo-ioi"))
    assert "\n" not in str(err.value)
    with pytest.raises(SaebenchError, match="no-such-task"):
        RavelConfig(task="no-such-task").task_request()
    with pytest.raises(ValidationError, match="not both"):
        RavelConfig(task="smollm2-cities", data_dir="D")


def test_data_dir_keeps_working_and_unset_task_keeps_the_keys():
    request = RavelConfig(data_dir="D", entity_type="city").task_request()
    assert request.name == "ravel" and request.config == {"data_dir": "D", "entity_type": "city"}
    assert RavelConfig().task_request().name == "zoo-cities"
    assert "task" not in RavelConfig().model_dump(mode="json")
    # the hash of the default config before ``task`` existed (commit 8c879e9)
    assert stable_hash(RavelConfig().model_dump(mode="json")) == "80310b889c852301"
