"""Importing the LLM package, its settings and the simulated server loads neither torch nor
the openai SDK (the SDK loads when a client is built)."""

import subprocess
import sys

_DRIVER = """
import sys
import saebench.llm
from saebench.llm import LlmSettings, SimServer, ChatRequest
LlmSettings(model="m").resolved()
assert sorted(saebench.llm.__all__) == sorted(dir(saebench.llm))
for name in saebench.llm.__all__:
    getattr(saebench.llm, name)   # every lazy export resolves
print("torch" in sys.modules)
"""


def test_the_package_is_light_and_every_export_resolves():
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_settings_and_the_server_need_no_openai():
    body = "import sys\nfrom saebench.llm import LlmSettings, SimServer\nprint('openai' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
