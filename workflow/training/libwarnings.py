"""Warnings from TRL, transformers, PEFT and accelerate, caught during a stage so the report can
show them instead of hiding them (they can say that examples were dropped, a setting was
ignored, or the loss masking changed). Deprecation notices are left out: they never change what
trains."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LIBRARIES", "caught_library_warnings"]

LIBRARIES = ("trl", "transformers", "peft", "accelerate", "datasets")
_SKIP = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
KEEP = 20


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"{record.name.split('.')[0]}: {record.getMessage()}")


@contextmanager
def caught_library_warnings() -> Iterator[list[str]]:
    """Collect the libraries' warnings (logging and `warnings`) into the yielded list, once each,
    in order; their own printing to stderr is held back meanwhile."""
    from transformers.utils import logging as hf_logging

    found: list[str] = []
    handler = _Collect(found)
    loggers = [logging.getLogger(name) for name in LIBRARIES]
    levels = [lg.level for lg in loggers]
    propagate = [lg.propagate for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.WARNING)
        lg.propagate = False
    hf_logging.disable_default_handler()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            yield found
        finally:
            for lg, level, prop in zip(loggers, levels, propagate, strict=True):
                lg.removeHandler(handler)
                lg.setLevel(level)
                lg.propagate = prop
            hf_logging.enable_default_handler()
            for record in records:
                module = (record.filename or "").replace("\\", "/")
                library = next((name for name in (*LIBRARIES, "torch") if f"/{name}/" in module), "warning")
                if not issubclass(record.category, _SKIP):
                    found.append(f"{library}: {record.message}")
            unique = list(dict.fromkeys(" ".join(w.split()) for w in found))
            found[:] = unique[:KEEP] + ([f"... and {len(unique) - KEEP} more"] if len(unique) > KEEP else [])
