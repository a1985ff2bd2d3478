"""SAE URIs -> adapters: ``scheme:LOCATION``, or a bare path whose format is detected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from saebench.errors import SaebenchError
from saebench.registry import adapters

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae

_SCHEME = re.compile(r"^([A-Za-z][\w-]*):(?!//)(.*)$")


def read_uri(uri: str) -> tuple[str, str]:
    """``(adapter name, location)`` for a URI, detecting the format of a bare path.

    Example:
        >>> read_uri("zoo:resid-topk-16")
        ('zoo', 'resid-topk-16')
    """
    match = _SCHEME.match(uri)
    if match and match.group(1) in adapters:
        return match.group(1), match.group(2)
    path = Path(uri).expanduser()
    if not path.exists():
        if match:
            # "foo:bar" with an unknown scheme: the registry's did-you-mean message helps most.
            adapters.get(match.group(1))
        raise SaebenchError(f"{uri}: no such file or directory")
    return detect_format(path), str(path)


def detect_format(path: Path) -> str:
    found = [name for name in adapters.names() if adapters.get(name).detect(path)]
    if not found:
        listing = sorted(p.name for p in path.iterdir())[:8] if path.is_dir() else [path.name]
        raise SaebenchError(
            f"{path}: unknown checkpoint format (found {', '.join(listing) or 'no files'}); "
            "name the format as a scheme, e.g. saelens:PATH, or see `saebench adapters list`"
        )
    return found[0]


def load_sae(
    uri: str | Sae, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> Sae:
    """Load any registered SAE format.

    Example:
        >>> sae = load_sae("zoo:resid-topk-16")
        >>> sae = load_sae("path/to/saelens_folder", dtype=torch.float32)
    """
    from saebench.sae import Sae

    if isinstance(uri, Sae):
        return uri.to(device=device, dtype=dtype) if dtype else uri.to(device)
    name, location = read_uri(str(uri))
    sae = adapters.get(name).load(location, device=str(device), dtype=dtype)
    sae.meta.source = str(uri)
    return sae.eval().requires_grad_(False)
