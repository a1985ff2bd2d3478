"""One generic registry for plug-ins, filled by entry points and, at runtime, by decorators.

A plug-in is named once: the name of its entry point is its name, and the registry writes it
on the class (``cls.name``) when it loads it. Built-in adapters, evaluators and tasks are
declared as entry points in ``pyproject.toml`` exactly like third-party ones, so discovery is
exercised on every run. An entry point is kept as a lazy placeholder and imported only when
its name is asked for, which keeps ``import saebench`` and ``saebench --help`` light.
``register`` (and the decorators built on it) is for plug-ins that have no package: a
notebook, a test.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from saebench.errors import SaebenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> plug-in objects for one entry-point group.

    Example:
        >>> adapters = Registry("adapter", "saebench.adapters")
        >>> @adapters.decorator("myformat")
        ... class MyAdapter: ...
        >>> MyAdapter.name
        'myformat'
    """

    def __init__(self, kind: str, group: str, base: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self.base = base  # "module:Class" every plug-in of this kind must subclass
        self._entries: dict[str, T | EntryPoint] = {}
        self._points: dict[str, EntryPoint] = {}
        self._discovered = False

    def register(self, name: str, obj: T) -> T:
        """Add ``obj`` under ``name`` and set ``obj.name``, for a plug-in without an entry point.

        A second, different object under one name raises, and so does an object that
        declares another name of its own.
        """
        existing = self._entries.get(name)
        same = existing is None or existing is obj
        if not same and not (isinstance(existing, EntryPoint) and _points_to(existing, obj)):
            raise SaebenchError(
                f"two {self.kind}s are registered as {name!r} ({_describe(existing)} and "
                f"{_describe(obj)}); rename one of them"
            )
        self._entries[name] = self._named(obj, name, f"it is registered as {name!r}")
        return obj

    def decorator(self, name: str) -> Callable[[T], T]:
        """A class decorator that registers the class under ``name`` (see :meth:`register`)."""

        def wrap(obj: T) -> T:
            return self.register(name, obj)

        return wrap

    def get(self, name: str) -> T:
        """The plug-in called ``name``, importing it on first use."""
        self._discover()
        if name not in self._entries:
            raise SaebenchError(self._unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, EntryPoint):
            entry = self._entries[name] = self._load(entry)
        return entry

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def source(self, name: str) -> str:
        """Where a plug-in comes from: the distribution of its entry point, or 'runtime'."""
        self._discover()
        point = self._points.get(name)
        if point is not None:
            return point.dist.name if point.dist else point.value
        return getattr(self._entries[name], "__module__", "runtime")

    def refresh(self) -> None:
        """Forget what entry points brought in and look again (after a package install).

        Plug-ins registered at runtime, outside any entry point, are kept.
        """
        import importlib

        importlib.invalidate_caches()
        for name in self._points:
            self._entries.pop(name, None)
        self._points = {}
        self._discovered = False

    def _load(self, point: EntryPoint) -> T:
        try:
            loaded = point.load()
        except Exception as exc:  # a broken third-party package must name itself
            raise SaebenchError(
                f"the {self.kind} {point.name!r} could not be imported from {point.value!r}: {exc}"
            ) from exc
        return self._named(loaded, point.name, f"its entry point names it {point.name!r}")

    def _named(self, obj: T, name: str, how: str) -> T:
        """``obj`` with ``obj.name = name``, refused if ``obj`` declares another name itself.

        Only the object's own attribute counts: a subclass of a named plug-in inherits a
        name that is not its own.
        """
        self._check_kind(obj, name)
        declared = getattr(obj, "__dict__", {}).get("name")
        if declared and declared != name:
            raise SaebenchError(
                f"the {self.kind} {_describe(obj)} calls itself {declared!r} but {how}; give it "
                "one name: drop its name attribute and name-giving decorator, or match them"
            )
        obj.name = name  # type: ignore[attr-defined]
        return obj

    def _check_kind(self, obj: object, name: str) -> None:
        """Refuse a plug-in that is not of this registry's kind, before it fails later."""
        if self.base is None:
            return
        import importlib

        module, _, attr = self.base.partition(":")
        base = getattr(importlib.import_module(module), attr)
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise SaebenchError(
                f"{_describe(obj)} is registered as the {self.kind} {name!r} but is not a "
                f"subclass of {attr}; derive it from {module.rsplit('.', 1)[0]}.{attr}"
            )

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        seen: dict[str, EntryPoint] = {}
        for point in entry_points(group=self.group):
            other = seen.get(point.name)
            if other is not None and other.value != point.value:
                raise SaebenchError(
                    f"two installed packages declare the {self.kind} {point.name!r} "
                    f"({other.value} and {point.value}); uninstall one of them"
                )
            seen[point.name] = point
            self._points[point.name] = point
            self._entries.setdefault(point.name, point)

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(self._entries)) or "none"
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"


def _points_to(entry: EntryPoint, obj: object) -> bool:
    module, _, attr = entry.value.partition(":")
    return (
        getattr(obj, "__module__", None) == module
        and getattr(obj, "__qualname__", None) == attr.strip()
    )


def _describe(obj: object) -> str:
    if isinstance(obj, EntryPoint):
        return obj.value
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', obj)}"


adapters: Registry = Registry("adapter", "saebench.adapters", "saebench.adapters.base:Adapter")
evaluators: Registry = Registry(
    "evaluator", "saebench.evaluators", "saebench.evaluators.base:Evaluator"
)
tasks: Registry = Registry("task", "saebench.tasks", "saebench.tasks.base:Task")
sources: Registry = Registry(
    "activation source", "saebench.sources", "saebench.sources.base:ActivationSource"
)
