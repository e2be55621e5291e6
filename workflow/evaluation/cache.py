"""Target outputs cached on disk by a hash of the target's fingerprint, the case input and
the repetition, so re-running an unchanged application costs nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workflow.evaluation.cases import canonical_json
from workflow.evaluation.targets import Outcome
from workflow.fileio import atomic_write_text

__all__ = ["OutcomeCache"]


class OutcomeCache:
    """One small JSON file per (fingerprint, input, repetition). Failed calls are not
    cached: they are usually transient and should be retried."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory, self.fingerprint = directory, fingerprint

    def _path(self, value: Any, repeat: int) -> Path:
        key = hashlib.sha256(f"{self.fingerprint}\0{canonical_json(value)}\0{repeat}".encode()).hexdigest()
        return self.directory / key[:2] / f"{key}.json"

    def get(self, value: Any, repeat: int) -> Outcome | None:
        path = self._path(value, repeat)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Outcome(**data)
        except (OSError, ValueError, TypeError):  # a missing or damaged entry is a miss
            return None

    def put(self, value: Any, repeat: int, outcome: Outcome) -> None:
        if outcome.error is not None:
            return
        atomic_write_text(self._path(value, repeat), json.dumps(asdict(outcome), ensure_ascii=False))
