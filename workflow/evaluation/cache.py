"""Target outputs cached on disk by a hash of the target's fingerprint, the case input and
the repetition, so re-running an unchanged application costs nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workflow.evaluation.cases import canonical_json
from workflow.evaluation.targets import Outcome

__all__ = ["OutcomeCache", "write_atomic"]


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file in the same folder, so readers never see
    half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
        write_atomic(self._path(value, repeat), json.dumps(asdict(outcome), ensure_ascii=False))
