"""A byte-based progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n_bytes)`; a no-op when stderr is not a TTY (pipes, CI, tests).

    The bar (and rich's refresh thread) starts on the first `advance`, so a command can fork its
    worker processes before any thread exists.
    """
    if not sys.stderr.isatty() or total <= 0:
        yield lambda n: None
        return
    state: dict[str, Any] = {}

    def advance(n: int) -> None:
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        state["bar"].advance(state["task"], n)

    try:
        yield advance
    finally:
        if "bar" in state:
            state["bar"].stop()
