"""``zoo:NAME``: the SAEs shipped inside the package, stored in the SAELens format so the
embedded default goes through the same adapter as any SAELens folder. ``zoo:smollm2-NAME``
are SmolLM2-135M's (see :mod:`saebench.zoo.catalog`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.adapters.base import Adapter
from saebench.adapters.saelens import SaeLensAdapter
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae


class ZooAdapter(Adapter):
    description = "SAEs shipped with saebench (zoo:NAME; SmolLM2's: zoo:smollm2-NAME)"

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        import torch

        from saebench.zoo.catalog import all_sae_names, sae_folder, sae_model

        names = all_sae_names()
        if location not in names:
            import difflib

            close = difflib.get_close_matches(location, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            listing = ", ".join(names) or "none built yet"
            raise SaebenchError(f"zoo:{location}: no such zoo SAE{hint} (available: {listing})")
        # SmolLM2's SAEs ship in float16 to keep the package small; they run in float32
        dtype = dtype or torch.float32
        sae = SaeLensAdapter.load(str(sae_folder(location)), device=device, dtype=dtype)
        sae.meta.model_name = sae_model(location)
        return sae
