import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from helpers import make_model

    return make_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def texts():
    from helpers import corpus

    return corpus()
