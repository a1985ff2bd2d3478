"""Models and SAEs, loaded once per process and shared by every group that uses them.

A spec names what to load (a TransformerLens name, ``zoo``, a folder, an SAE URI). Objects
the user passed in (a HookedTransformer, a loaded Sae) cannot be named in JSON, so they are
kept here by weak reference under their weights hash and found again by the same process;
another process gets a clear error instead.
"""

from __future__ import annotations

import copy
import weakref
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from saebench.adapters.names import canonical_uri, short_name
from saebench.errors import SaebenchError
from saebench.identity import model_weights_hash, sae_weights_hash, tokenizer_hash
from saebench.records import ModelInfo

_INLINE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


SYNTHETIC = "synthetic:"  # the location prefix of a synthetic model (a tier's name follows)
EMBEDDING = "embedding:"  # the location prefix of a sentence-embedding model (its name follows)


class ModelSpec(ModelInfo):
    """A model's identity (what goes into record keys) plus where to load it from."""

    location: str  # TransformerLens name, "zoo", an absolute folder, "inline" or "synthetic:TIER"

    @property
    def synthetic(self) -> bool:
        return self.location.startswith(SYNTHETIC)

    @property
    def embedding(self) -> bool:
        return self.location.startswith(EMBEDDING)


class SaeSpec(BaseModel):
    uri: str  # canonical URI (identity); "inline" for an object with no loadable source
    name: str
    weights_hash: str
    inline: bool = False  # passed in as an object: reuse it rather than reload the URI
    position: int = 0  # its place in the caller's list, to return results in that order


class Resources:
    """A per-process cache of loaded models and SAEs, keyed by their specs.

    Example:
        >>> resources = Resources()
        >>> spec, model = resources.add_model("zoo", "cpu")
        >>> resources.model(spec, "cpu") is model
        True
    """

    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}
        self._saes: dict[tuple, Any] = {}

    # -- models -------------------------------------------------------------------------------
    def add_model(self, given: Any, device: str, dtype: str | None = None):
        """Load (or take) a model, or build a synthetic tier's; return its spec and the object."""
        from transformer_lens import HookedTransformer

        from saebench.models.embedding import is_embedding_model
        from saebench.synthetic.config import TIERS

        if isinstance(given, str) and given in TIERS:
            return self._add_synthetic(given, device)
        if is_embedding_model(given):
            return self._add_embedding(given, device)

        from saebench.models.load import load_model, model_identity

        inline = isinstance(given, HookedTransformer)
        location = "inline" if inline else _model_location(given)
        cache_key = (location if not inline else id(given), device, dtype)
        model = self._models.get(cache_key)
        if model is None:
            model = load_model(given, device, dtype)
            self._models[cache_key] = model
        identity = model_identity(model)
        spec = ModelSpec(
            name=identity["name"],
            revision=identity["revision"],
            dtype=identity["dtype"],
            weights_hash=model_weights_hash(model),
            tokenizer_hash=tokenizer_hash(getattr(model, "tokenizer", None)),
            location=location,
        )
        if inline:
            _INLINE[("model", spec.weights_hash)] = model
        self._models[(spec.location, spec.weights_hash, device)] = model
        return spec, model

    def model(self, spec: ModelSpec, device: str):
        """The model a spec names, loaded once; its weights must still match the spec."""
        from saebench.models.load import load_model

        found = self._models.get((spec.location, spec.weights_hash, device))
        if found is not None:
            return found
        if spec.synthetic:
            return self._add_synthetic(spec.location.removeprefix(SYNTHETIC), device)[1]
        if spec.embedding:
            return self._add_embedding(spec.location.removeprefix(EMBEDDING), device)[1]
        if spec.location == "inline":
            found = _INLINE.get(("model", spec.weights_hash))
            if found is None:
                raise SaebenchError(
                    f"model {spec.name!r} was passed as an object and is not in this process; "
                    "save it with saebench.save_model(model, FOLDER) and name the folder"
                )
        else:
            found = load_model(spec.location, device, spec.dtype)
            if model_weights_hash(found) != spec.weights_hash:
                raise SaebenchError(
                    f"model {spec.location!r} has other weights than when the run was planned; "
                    "plan the run again"
                )
        self._models[(spec.location, spec.weights_hash, device)] = found
        return found

    def _add_synthetic(self, tier: str, device: str):
        """A synthetic tier's model (built once, cached on disk; its samples are generated on
        the CPU and the source moves each batch to ``device``)."""
        from saebench.synthetic import GENERATOR_VERSION, load_model

        model = load_model(tier)
        spec = ModelSpec(
            name=tier,
            revision=f"generator-{GENERATOR_VERSION}",
            dtype="float32",
            weights_hash=model.config.key(),
            location=SYNTHETIC + tier,
        )
        self._models[(spec.location, spec.weights_hash, device)] = model
        return spec, model

    def _add_embedding(self, name: str, device: str):
        """A sentence-embedding model (weights from its package; its hash is the file's)."""
        from saebench.models.embedding import load_embedding_model

        model = load_embedding_model(name, device)
        spec = ModelSpec(
            name=name,
            revision=model.info.package,
            dtype="float32",
            weights_hash=model.weights_hash,
            location=EMBEDDING + name,
        )
        self._models[(spec.location, spec.weights_hash, device)] = model
        return spec, model

    # -- SAEs ---------------------------------------------------------------------------------
    def add_sae(self, given: Any, device: str, dtype=None):
        """Load (or take) an SAE; return its spec and the object."""
        from saebench.adapters.resolve import load_sae
        from saebench.sae import Sae

        inline = isinstance(given, Sae)
        if inline:
            sae = _converted(given, device, dtype)
            uri = _source_uri(sae)
        else:
            uri = canonical_uri(str(given))
            sae = load_sae(str(given), device=device, dtype=dtype)
        weights = sae_weights_hash(sae)
        name = short_name(uri) if uri != "inline" else f"sae-{weights[:8]}"
        spec = SaeSpec(uri=uri, name=name, weights_hash=weights, inline=inline)
        if inline:
            _INLINE[("sae", weights)] = sae
        self._saes[(spec.uri, weights, device)] = sae
        return spec, sae

    def sae(self, spec: SaeSpec, device: str, dtype=None):
        """The SAE a spec names, loaded once; its weights must still match the spec."""
        from saebench.adapters.resolve import load_sae

        found = self._saes.get((spec.uri, spec.weights_hash, device))
        if found is None and spec.inline:
            found = _INLINE.get(("sae", spec.weights_hash))
        if found is None:
            if spec.uri == "inline":
                raise SaebenchError(
                    f"SAE {spec.name} was passed as an object and is not in this process; save "
                    "it with saebench.adapters.saelens.save_saelens(sae, FOLDER) and pass FOLDER"
                )
            found = load_sae(spec.uri, device=device, dtype=dtype)
            if sae_weights_hash(found) != spec.weights_hash:
                raise SaebenchError(
                    f"{spec.uri}: the SAE's weights changed since the run was planned; "
                    "plan the run again"
                )
        self._saes[(spec.uri, spec.weights_hash, device)] = found
        return found


def _model_location(given: Any) -> str:
    text = str(given)
    path = Path(text).expanduser()
    return str(path.resolve()) if path.is_dir() else text


def _converted(sae, device, dtype):
    """The SAE on ``device`` in ``dtype`` (default: its compute dtype, float32 for a
    half-precision SAE), without changing the caller's object."""
    from saebench.adapters.resolve import compute_dtype

    dtype = compute_dtype(sae.dtype, dtype)
    if sae.dtype == dtype and str(sae.device) == str(device):
        return sae
    return copy.deepcopy(sae).to(device=device, dtype=dtype)


def _source_uri(sae) -> str:
    """The canonical URI an SAE object was loaded from, or ``inline``."""
    source = sae.meta.source
    if not source:
        return "inline"
    try:
        return canonical_uri(source)
    except SaebenchError:  # the source moved or was never a URI
        return "inline"
