"""An on-disk cache of LLM replies: one small JSON file per request, keyed by a hash of the
whole request (never the API key), written atomically so concurrent threads and processes
never see half an entry.

Only successful replies are stored. A damaged or unreadable entry is a miss.

Example:
    >>> cache = ResponseCache("/tmp/llm-cache")
    >>> key = request_key({"model": "judge", "messages": [["user", "hi"]]})
    >>> cache.put(key, {"model": "judge"}, {"text": "hello"})
    >>> cache.get(key)
    {'text': 'hello'}
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1  # bump when the stored reply's shape changes: old entries then miss


def request_key(request: dict[str, Any]) -> str:
    """A hash of a JSON-able request description, independent of dict order."""
    text = json.dumps({"format": CACHE_FORMAT, **request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Replies by request key under ``root/<2 hex>/<key>.json``."""

    def __init__(self, root: Path | str):
        self.root = Path(root).expanduser()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored reply, or None when absent, unreadable or damaged."""
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        reply = entry.get("reply")
        return reply if isinstance(reply, dict) else None

    def put(self, key: str, request: dict[str, Any], reply: dict[str, Any]) -> None:
        """Store a reply; the request is kept beside it so an entry can be read by eye."""
        path = self.path(key)
        text = json.dumps({"key": key, "request": request, "reply": reply}, ensure_ascii=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temp name per writer: two threads or processes may store the same key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
