"""PNG histograms for `cairn data analyze --plots DIR` (matplotlib, no global backend change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow.data.atomic import atomic_files
from workflow.data.scan import ScanResult

# The longest example this many times the median: a linear axis would squeeze most examples into one bar.
HEAVY_TAIL_RATIO = 20
NAME_CHARS = 40


def heavy_tailed(data: Any) -> bool:
    """Whether a distribution of positive counts is heavy-tailed enough for a log-scaled x axis."""
    import numpy as np

    if data.size < 2 or data.min() < 1:
        return False
    return bool(data.max() >= HEAVY_TAIL_RATIO * max(1.0, float(np.median(data))))


def _title(title: str, name: str, n: int) -> str:
    """Two lines, the file name shortened in the middle, so a long name is never cut off."""
    if len(name) > NAME_CHARS:
        name = name[: NAME_CHARS // 2 - 1] + "…" + name[-(NAME_CHARS // 2):]
    return f"{title}\n{name}, n={n:,}"


def write_plots(result: ScanResult, out_dir: Path) -> list[Path]:
    """Write tokens.png, response_tokens.png and turns.png; return their paths.

    Raises:
        DataError: the folder cannot be written.
    """
    import numpy as np
    from matplotlib.figure import Figure

    prompt = np.frombuffer(result.prompt_tokens, np.uint32).astype(np.int64)
    response = np.frombuffer(result.response_tokens, np.uint32).astype(np.int64)
    turns = np.frombuffer(result.turns, np.uint32)
    unit = "tokens" if result.options.tokenizer else "approximate tokens (chars / 4)"
    charts = [
        ("tokens.png", prompt + response, "Tokens per example", unit),
        ("response_tokens.png", response, "Response tokens per example", unit),
        ("turns.png", turns, "Turns per example", "turns"),
    ]
    figures: dict[Path, Any] = {}
    for name, data, title, xlabel in charts:
        figure = Figure(figsize=(6, 4), dpi=100)
        axes = figure.subplots()
        log = heavy_tailed(data)
        if data.size:
            if log:  # log-spaced bins on a log axis, so the bulk and the tail both show
                bins: Any = np.geomspace(float(data.min()), float(data.max()) + 1, 50)
                axes.set_xscale("log")
            else:
                bins = min(50, max(1, int(data.max() - data.min()) + 1))
            counts = np.asarray(axes.hist(data, bins=bins, color="#4C72B0")[0])
            if counts.max() >= 100 * max(1.0, float(counts[counts > 0].min())):
                axes.set_yscale("log")
        axes.set_title(_title(title, result.path.name, int(data.size)), fontsize=10)
        axes.set_xlabel(xlabel + (" (log scale)" if log else ""))
        axes.set_ylabel("examples")
        figure.tight_layout()
        figures[Path(out_dir) / name] = figure
    # All charts are renamed into place together: a failure or Ctrl-C leaves none of the new ones.
    with atomic_files(list(figures)) as handles:
        for figure, handle in zip(figures.values(), handles, strict=True):
            figure.savefig(handle, format="png")
    return list(figures)
