"""Datasets for evaluation: :func:`data_source` turns what a user passes into a
:class:`DataSource`; :func:`make_token_set` cuts it into fixed-length contexts.

Names are imported on first use, so importing this package loads no torch.
"""

from __future__ import annotations

from saebench.lazy import lazy_exports

_EXPORTS = {
    "DataSource": "saebench.data.datasource",
    "data_source": "saebench.data.sources",
    "open_source": "saebench.data.sources",
    "hub_spec": "saebench.data.hub",
    "TokenSet": "saebench.data.contexts",
    "make_token_set": "saebench.data.contexts",
    "bos_check": "saebench.data.contexts",
    "special_ids": "saebench.data.special",
    "resolve_separator": "saebench.data.special",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
