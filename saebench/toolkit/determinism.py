"""Numbers that do not depend on the thread count.

A trained mask, probe or rotation follows the floating-point order of its matmuls, and that
order changes with torch's thread count (a Ray worker runs one thread, a local run as many as
there are cores). Training inside :func:`fixed_threads` makes it the same everywhere.

Example:
    >>> with fixed_threads():
    ...     pass  # train here
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fixed_threads(threads: int = 1) -> Iterator[None]:
    """Run the block with ``threads`` torch threads, restoring the previous count after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
