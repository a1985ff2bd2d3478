import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: the machine's cores are shared, and these models are tiny."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def zoo_model():
    from saebench.zoo.model import load_model

    return load_model()
