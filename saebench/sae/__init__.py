"""The SAE protocol and one encoder class per architecture."""

from saebench.sae.base import Sae
from saebench.sae.build import ENCODERS, build_sae
from saebench.sae.metadata import SaeMetadata

__all__ = ["ENCODERS", "Sae", "SaeMetadata", "build_sae"]
