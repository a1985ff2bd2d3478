"""The one table of architectures: each encoder class registers itself here.

An encoder class declares what it is (``encoder_kind``, the ``architectures`` labels that
encode with it, its ``tensor_specs`` and ``from_tensors``) and is decorated with
:func:`register_encoder`; ``build_sae`` reads the table and knows nothing of any class.
The built-in classes register when :mod:`saebench.sae.build` imports them.

Example:
    >>> @register_encoder
    ... class MySae(Sae):
    ...     encoder_kind = "mine"
    ...     def activate(self, pre): return pre.relu()
    >>> build_sae(SaeMetadata(architecture="mine", ...), tensors, where="f")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from saebench.errors import SaebenchError

if TYPE_CHECKING:  # pragma: no cover
    from saebench.sae.base import Sae

SaeClass = TypeVar("SaeClass", bound="type[Sae]")

# Encoder classes by the way they compute codes (``Sae.encoder_kind``).
ENCODERS: dict[str, type[Sae]] = {}
# Each architecture label (shown on leaderboards) and the encoder it uses at inference.
ARCHITECTURES: dict[str, str] = {}


def register_encoder(cls: SaeClass) -> SaeClass:
    """Class decorator: make ``cls`` the encoder of its kind and of each of its labels.

    A label already claimed by another class is an error; registering the same class again
    (a module imported twice) is not.
    """
    kind = cls.encoder_kind
    labels = (kind, *cls.architectures)
    for name, owner in [(kind, ENCODERS.get(kind))] + [(lb, _owner(lb)) for lb in labels]:
        if owner is not None and not _same(owner, cls):
            raise SaebenchError(
                f"{cls.__qualname__}: {name!r} is already declared by {owner.__qualname__} "
                f"({owner.__module__}); give the new class another encoder_kind and labels"
            )
    ENCODERS[kind] = cls
    ARCHITECTURES.update(dict.fromkeys(labels, kind))
    return cls


def _owner(label: str) -> type[Sae] | None:
    kind = ARCHITECTURES.get(label)
    return ENCODERS.get(kind) if kind is not None else None


def _same(a: type, b: type) -> bool:
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def encoder_for(architecture: str, where: str) -> str:
    """The encoder kind of an architecture label, or one error listing the known labels."""
    kind = ARCHITECTURES.get(architecture)
    if kind is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise SaebenchError(
            f"{where}: unknown architecture {architecture!r}; known: {known}. "
            "Register custom code with a python:module:factory URI"
        )
    return kind


def encoder_class(kind: str, where: str) -> type[Sae]:
    """The class registered for an encoder kind, or one error listing the kinds."""
    cls = ENCODERS.get(kind)
    if cls is None:
        raise SaebenchError(
            f"{where}: unknown encoder {kind!r}; encoders: {', '.join(sorted(ENCODERS))}"
        )
    return cls
