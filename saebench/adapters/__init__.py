"""Checkpoint-format adapters and the URI resolver."""

from saebench.adapters.base import Adapter, register_adapter
from saebench.adapters.resolve import load_sae, read_uri

__all__ = ["Adapter", "load_sae", "read_uri", "register_adapter"]
