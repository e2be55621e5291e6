"""Terminal output of the eval commands (rich tables on stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workflow.evaluation.comparison import Comparison
from workflow.evaluation.inspection import NodeReport
from workflow.evaluation.rundir import RunSummary

__all__ = ["print_comparison", "print_inspection", "print_summary"]

_VERDICT_STYLE = {"improved": "green", "regressed": "red", "no significant change": "dim"}


def _console() -> Console:
    # Piped output is read by people in logs and CI: do not squeeze tables to 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _num(value: float) -> str:
    return f"{value:.4g}"


def print_inspection(reports: list[NodeReport], *, total: int) -> None:
    """One block per node: where it is, the model it calls, the prompts it uses."""
    console = _console()
    calling = sum(r.calls_model for r in reports)
    for r in reports:
        console.print(f"[bold]{r.node}[/bold]  {r.file}:{r.line}  function {r.function}  (graph {r.graph})")
        if not r.model_calls:
            console.print("  calls no model")
        for call in r.model_calls:
            via = f" via {call.via}()" if call.via else ""
            name = call.model.model or "model not visible"
            console.print(f"  model   {call.model.cls} [cyan]{name}[/cyan]  {call.model.binding}"
                          f"  (.{call.method} at line {call.line}{via})", markup=True)
            for p in call.prompts or []:
                named = f"  (as {p.name})" if p.name else ""
                console.print(f"  prompt  {p.kind:<8} {p.text}{named}", markup=False)
            if not call.prompts:
                console.print("  prompt  not visible (built at run time)")
    console.print(f"{calling} of {total} graph nodes call a chat model.")


def print_summary(summary: RunSummary, run_dir: Path) -> None:
    """The per-metric statistics across repetitions, then where the files are."""
    console = _console()
    table = Table(title=f"{summary.n_cases} cases x {summary.repeat} repetitions", title_justify="left")
    for col in ("metric", "mean", "std (cases)", "std (repeats)", "95% CI (over cases)", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, m in summary.metrics.items():
        interval = escape(f"[{_num(m.ci_low)}, {_num(m.ci_high)}]")
        table.add_row(escape(name), _num(m.mean), _num(m.std), _num(m.repeat_std), interval, str(m.n))
    console.print(table)
    notes = []
    if summary.errors:
        notes.append(f"{summary.errors} calls failed (see 'error' in results.jsonl)")
    if summary.cached:
        notes.append(f"{summary.cached} of {summary.n_records} outputs from the cache (--no-cache to call again)")
    elif summary.target_fingerprint:
        notes.append(f"0 of {summary.n_records} outputs from the cache")
    if summary.fingerprint_files:
        notes.append(f"cache key covers {summary.fingerprint_files} files of the target's project")
    for note in notes:
        console.print(note)
    console.print(f"wrote {run_dir}/results.jsonl, summary.json, metrics.png", markup=False)


def print_comparison(result: Comparison) -> None:
    """Per-metric paired differences (B - A) with CI, p-value and verdict, then McNemar."""
    console = _console()
    level = f"{(1 - result.alpha) * 100:g}%"
    table = Table(title=f"{result.run_b} vs {result.run_a}: {result.n_cases} paired cases", title_justify="left")
    for col in ("metric", "n", "A", "B", "B - A", f"{level} CI", "p", "min effect", "verdict"):
        table.add_column(col, justify="left" if col in {"metric", "verdict"} else "right")
    for m in result.metrics:
        style = _VERDICT_STYLE.get(m.verdict, "")
        shown = m.verdict if m.gated else f"{m.verdict} (not gated)"
        p_text = f"{m.p_value:.3g}" + ("" if m.test == "exact" else "†" if m.test.startswith("between") else "*")
        table.add_row(escape(m.metric), str(m.n), _num(m.a_mean), _num(m.b_mean), f"{m.mean_diff:+.4g}",
                      escape(f"[{_num(m.ci_low)}, {_num(m.ci_high)}]"), p_text, escape(m.min_effect),
                      f"[{style}]{escape(shown)}[/{style}]" if style else escape(shown))
    console.print(table)
    console.print("p: exact sign-flip test over cases (* estimated from random sign flips; † the larger p of that "
                  "and a permutation test between repetition means); CI: paired bootstrap", markup=False)
    t = result.mcnemar
    console.print(f"pass/fail (McNemar): {t.b} cases passed only in A, {t.c} only in B, p = {t.p_value:.3g}: "
                  f"{result.mcnemar_verdict}", markup=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
