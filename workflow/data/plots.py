"""PNG histograms for `cairn data analyze --plots DIR` (matplotlib, no global backend change)."""

from __future__ import annotations

from pathlib import Path

from workflow.data.atomic import atomic_file
from workflow.data.scan import ScanResult


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
    written = []
    for name, data, title, xlabel in charts:
        figure = Figure(figsize=(6, 4), dpi=100)
        axes = figure.subplots()
        if data.size:
            bins = min(50, max(1, int(data.max() - data.min()) + 1))
            axes.hist(data, bins=bins, color="#4C72B0")
        axes.set_title(f"{title} ({result.path.name}, n={data.size:,})")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("examples")
        figure.tight_layout()
        path = Path(out_dir) / name
        with atomic_file(path) as handle:
            figure.savefig(handle, format="png")
        written.append(path)
    return written
