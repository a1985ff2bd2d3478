"""``zoo:NAME``: the SAEs shipped inside the package, stored in the SAELens format so the
embedded default goes through the same adapter as any SAELens folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.adapters.base import Adapter
from saebench.adapters.saelens import SaeLensAdapter
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae


class ZooAdapter(Adapter):
    description = "SAEs shipped with saebench for the embedded default model (zoo:NAME)"

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.zoo.catalog import sae_names, saes_dir

        names = sae_names()
        if location not in names:
            import difflib

            close = difflib.get_close_matches(location, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            listing = ", ".join(names) or "none built yet"
            raise SaebenchError(f"zoo:{location}: no such zoo SAE{hint} (available: {listing})")
        sae = SaeLensAdapter.load(str(saes_dir() / location), device=device, dtype=dtype)
        sae.meta.model_name = "zoo"
        return sae
