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


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread per test: the machine's cores are shared and the models are tiny
    (two threads made one mask-training step 30 times slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def zoo_model():
    from saebench.zoo.model import load_model

    return load_model()
