"""The README's test command is the one CI runs; the quickstart command is first."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and line[0] != "#"]


def test_ci_runs_the_readme_test_command():
    quickstart, tests = _commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert quickstart.endswith("saebench quickstart")
    assert tests.replace(" -q", "") in ci.replace(" -q", "")
    assert "torch==2.13.0" in tests and "pytest" in tests
