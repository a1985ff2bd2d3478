"""All model access goes through here (TransformerLens HookedTransformer today): loading,
prompts and their batches, the runner that re-runs the layers after a hook, and the edits it
applies. A plug-in imports these names from ``saebench.models``; each loads its module (and
torch) on first use, so importing the package costs nothing.

Example:
    >>> from saebench.models import ModelRunner, make_batch, patch_latents
    >>> batch = make_batch(model, prompts)
    >>> ModelRunner(model).logits_at(batch, hook=hook, edits=[patch_latents(sae, where, codes)])
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "load_model": "saebench.models.load",
    "save_model": "saebench.models.folder",
    "model_identity": "saebench.models.load",
    "Prompt": "saebench.models.prompts",
    "PromptBatch": "saebench.models.prompts",
    "make_batch": "saebench.models.prompts",
    "token_id": "saebench.models.prompts",
    "ModelRunner": "saebench.models.interventions",
    "answer_logits": "saebench.models.interventions",
    "last_logits": "saebench.models.interventions",
    "Edit": "saebench.models.edits",
    "Where": "saebench.models.edits",
    "as_edit": "saebench.models.edits",
    "compose": "saebench.models.edits",
    "codes_at": "saebench.models.edits",
    "replace_at": "saebench.models.edits",
    "add_direction": "saebench.models.edits",
    "patch_latents": "saebench.models.edits",
    "zero_where": "saebench.models.edits",
    "edit_codes": "saebench.models.edits",
    "read_rows": "saebench.models.edits",
    "write_rows": "saebench.models.edits",
    "hook_layer": "saebench.models.hooks",
    "require_hook": "saebench.models.hooks",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.models.edits import (  # noqa: F401
        Edit,
        Where,
        add_direction,
        as_edit,
        codes_at,
        compose,
        edit_codes,
        patch_latents,
        read_rows,
        replace_at,
        write_rows,
        zero_where,
    )
    from saebench.models.folder import save_model  # noqa: F401
    from saebench.models.hooks import hook_layer, require_hook  # noqa: F401
    from saebench.models.interventions import (  # noqa: F401
        ModelRunner,
        answer_logits,
        last_logits,
    )
    from saebench.models.load import load_model, model_identity  # noqa: F401
    from saebench.models.prompts import Prompt, PromptBatch, make_batch, token_id  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
