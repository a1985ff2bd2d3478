"""What an SAE says about itself, independent of the file format it came from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Normalization = Literal["none", "layer_norm", "constant_norm_rescale"]


class SaeMetadata(BaseModel):
    """Everything but the tensors: where the SAE reads and writes, and how it treats input.

    ``architecture`` is the label shown on leaderboards (``batchtopk``, ``matryoshka`` ...);
    the class that computes codes may differ (a BatchTopK SAE encodes as a JumpReLU).
    """

    model_config = ConfigDict(extra="forbid")

    architecture: str
    d_in: int
    d_sae: int
    d_out: int | None = None
    hook_name: str
    hook_name_out: str | None = Field(None, description="output hook of a transcoder")
    hook_head_index: int | None = None
    model_name: str | None = None
    dtype: str = "float32"
    apply_b_dec_to_input: bool = False
    normalize_activations: Normalization = "none"
    input_scale: float | None = Field(
        None, description="multiply inputs by this before encoding, divide outputs after"
    )
    reshape_activations: Literal["none", "hook_z"] = "none"
    k: int | None = Field(None, description="active latents per token (TopK encoders)")
    context_size: int | None = None
    prepend_bos: bool = True
    sequence_separator: Literal["bos", "eos", "sep", "none"] | int | None = Field(
        None,
        description="token put between packed documents in training ('none': nothing); "
        "None when the checkpoint does not say",
    )
    dataset_path: str | None = None
    source: str | None = Field(None, description="the URI or path it was loaded from")
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def width_out(self) -> int:
        return self.d_out if self.d_out is not None else self.d_in

    @property
    def is_transcoder(self) -> bool:
        return self.hook_name_out is not None and self.hook_name_out != self.hook_name

    @property
    def output_hook(self) -> str:
        return self.hook_name_out or self.hook_name
