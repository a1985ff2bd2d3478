"""Named, deterministic sample streams of a synthetic model, independent of batch size.

A stream is cut into blocks of ``BLOCK`` samples; block ``i`` of stream ``s`` is drawn from a
generator seeded by a stable hash of (config key, s, i), so sample ``j`` of a stream is the
same whether it is read in batches of 1, 1000 or all at once, and evaluation numbers depend
on (model, stream, n) only.

Example:
    >>> x, a = samples(load_model("synth-1k"), "eval", 10_000)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import torch

from saebench.errors import SaebenchError
from saebench.identity import stable_hash
from saebench.synthetic.model import SyntheticModel

BLOCK = 4096
_STREAM = re.compile(r"(eval|train)(-[A-Za-z0-9_.]+)?")


def check_stream(stream: str) -> str:
    """``eval``, ``train``, or either with a ``-<seed>`` suffix (``eval-1``, ``train-b``)."""
    if not isinstance(stream, str) or not _STREAM.fullmatch(stream):
        raise SaebenchError(
            f"unknown synthetic stream {stream!r}: use 'eval', 'train', or 'eval-<seed>' / "
            "'train-<seed>' for another independent stream"
        )
    return stream


def block_seed(model: SyntheticModel, stream: str, index: int) -> int:
    """The seed of block ``index`` of ``stream`` (64 bits of a stable hash)."""
    return int(stable_hash([model.config.key(), check_stream(stream), int(index)]), 16)


def block(model: SyntheticModel, stream: str, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Block ``index`` (0-based) of ``stream``: (x [BLOCK, D], a [BLOCK, N])."""
    if index < 0:
        raise SaebenchError(f"synthetic block index {index}: must be 0 or more")
    generator = torch.Generator().manual_seed(block_seed(model, stream, index))
    return model.sample(BLOCK, generator)


def samples(
    model: SyntheticModel, stream: str, n: int, start: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples ``start .. start + n`` of ``stream`` (the first ``n`` by default), as one
    (x [n, D], a [n, N]); ``a`` is dense, so keep ``n`` to what fits (use :func:`batches`)."""
    parts = list(_pieces(model, stream, start, start + n))
    if not parts:
        return torch.zeros(0, model.hidden_dim), torch.zeros(0, model.num_features)
    return _joined(parts)


def batches(
    model: SyntheticModel, stream: str, n: int, batch_size: int, start: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Samples ``start .. start + n`` of ``stream`` in batches of ``batch_size`` (the last
    may be shorter), drawing each block once; their concatenation equals :func:`samples`
    for any batch size."""
    if batch_size < 1:
        raise SaebenchError(f"batch_size={batch_size}: must be 1 or more")
    held: list[tuple[torch.Tensor, torch.Tensor]] = []
    count = 0
    for x, a in _pieces(model, stream, start, start + n):
        while x.shape[0]:
            take = min(batch_size - count, x.shape[0])
            held.append((x[:take], a[:take]))
            x, a, count = x[take:], a[take:], count + take
            if count == batch_size:
                yield _joined(held)
                held, count = [], 0
    if held:
        yield _joined(held)


def _joined(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    xs, codes = zip(*parts, strict=True)
    return torch.cat(xs), torch.cat(codes)


def _pieces(
    model, stream: str, start: int, stop: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Rows [start, stop) of the stream as slices of its blocks (each block drawn once)."""
    if start < 0 or stop < start:
        raise SaebenchError(f"synthetic samples {start}..{stop}: need 0 <= start <= stop")
    check_stream(stream)
    for index in range(start // BLOCK, -(-stop // BLOCK)):
        x, a = block(model, stream, index)
        low, high = max(start - index * BLOCK, 0), min(stop - index * BLOCK, BLOCK)
        yield x[low:high], a[low:high]
