import pytest
from board_factory import board_records


@pytest.fixture
def records():
    """Five SAEs on two hooks (reconstruction, sparsity), RAVEL with references on one."""
    return board_records()
