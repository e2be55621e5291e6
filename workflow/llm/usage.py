"""Token usage of model calls, carried to the engine with the user's next reply so that
`completion.commit_step` writes it to the sidecar with the rest of the step (DESIGN 4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.fileio import atomic_write_text

KEYS = ("prompt_tokens", "completion_tokens")


@dataclass(kw_only=True)
class Usage:
    """Tokens spent since the last reply was sent to the engine. With `file`, the pending count
    is written after every call, so the tokens of calls made before a crash (kill -9) are still
    recorded by the next session (`Usage.resumed`)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    file: Path | None = None

    @classmethod
    def resumed(cls, file: Path) -> Usage:
        """The pending usage a stopped session left in `file` (zero when none or unreadable)."""
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
            return cls(prompt_tokens=max(0, int(saved["prompt_tokens"])),
                       completion_tokens=max(0, int(saved["completion_tokens"])), file=file)
        except (OSError, ValueError, KeyError, TypeError):
            return cls(file=file)

    def add(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens += max(0, int(prompt_tokens))
        self.completion_tokens += max(0, int(completion_tokens))
        self._save()

    def take(self) -> dict[str, int] | None:
        """The pending usage as a plain dict (None when nothing was spent), then reset."""
        if not self.prompt_tokens and not self.completion_tokens:
            return None
        out = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}
        self.prompt_tokens = self.completion_tokens = 0
        self._save()
        return out

    def _save(self) -> None:
        if self.file is not None:
            atomic_write_text(self.file, json.dumps({key: getattr(self, key) for key in KEYS}))


def from_message(message: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens a provider reported on an AIMessage, or None."""
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return None
    return int(meta.get("input_tokens") or 0), int(meta.get("output_tokens") or 0)


def added(total: Mapping[str, Any] | None, extra: Mapping[str, Any] | None) -> dict[str, int]:
    """`total` plus `extra`, both {prompt_tokens, completion_tokens}; missing keys count as 0."""
    base = {key: int((total or {}).get(key) or 0) for key in KEYS}
    for key in KEYS:
        base[key] += int((extra or {}).get(key) or 0)
    return base


def reply_usage(reply: Any) -> dict[str, int] | None:
    """The usage a front end attached to a reply (`{"value": ..., "usage": {...}}`), if any."""
    if isinstance(reply, Mapping) and isinstance(reply.get("usage"), Mapping):
        return {key: int(reply["usage"].get(key) or 0) for key in KEYS}
    return None


def with_usage(state: Mapping[str, Any], reply: Any, update: dict[str, Any]) -> dict[str, Any]:
    """A graph node's update plus the usage that came with `reply`, added to the visit's total."""
    extra = reply_usage(reply)
    if extra is None:
        return update
    return {**update, "usage": added(state.get("usage"), extra)}
