"""`cairn eval view A [B]`: one self-contained HTML page (no scripts, no external files) with
every case's outputs side by side, failing cases first, so a reviewer can read what changed."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

from workflow.evaluation.records import Record
from workflow.evaluation.rundir import RunSummary, read_run
from workflow.fileio import atomic_write_text

__all__ = ["render_view", "write_view"]

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #d0d0d7; padding: .4rem .5rem; vertical-align: top; text-align: left; }
th { background: #f4f4f7; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0 0 .3rem; font-size: 12px; }
.fail { background: #fff1f0; } .pass { background: #f3fbf3; }
.changed td:first-child { border-left: 4px solid #c77700; }
.tag { font-size: 11px; padding: 0 .3rem; border-radius: 3px; background: #e8e8ee; margin-right: .3rem; }
.bad { color: #b42318; } .good { color: #1a7f37; } .small { color: #6e6e73; font-size: 12px; }
"""


def _by_case(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.repeat):
        out[r.case_id].append(r)
    return out


def _passes(records: list[Record]) -> bool:
    return sum(r.passed for r in records) * 2 >= len(records)


def _cell(records: list[Record] | None) -> str:
    if not records:
        return '<td class="small">not in this run</td>'
    parts = []
    for r in records:
        shown = r.output if isinstance(r.output, str) else json.dumps(r.output, ensure_ascii=False, indent=1)
        status = '<span class="good">pass</span>' if r.passed else '<span class="bad">fail</span>'
        failed = "; ".join(f"{c.type}: {c.detail}" for c in r.checks if not c.passed and c.detail)
        extra = f' <span class="small">{html.escape(r.error or failed)}</span>' if (r.error or failed) else ""
        parts.append(f'<span class="tag">#{r.repeat}</span>{status} <span class="small">{r.latency_ms:.0f} ms'
                     f'</span>{extra}<pre>{html.escape(str(shown if shown is not None else ""))}</pre>')
    return f'<td class="{"pass" if _passes(records) else "fail"}">{"".join(parts)}</td>'


def _header(label: str, path: Path, summary: RunSummary) -> str:
    rate = summary.metrics.get("pass_rate")
    figure = f"pass_rate {rate.mean:.3f} [{rate.ci_low:.3f}, {rate.ci_high:.3f}]" if rate else ""
    return (f"<th>{label}: {html.escape(str(path))}<br><span class='small'>{html.escape(summary.target)}; "
            f"{summary.n_cases} cases x {summary.repeat}; {figure}</span></th>")


def render_view(run_a: Path, run_b: Path | None = None) -> str:
    """The HTML page for one run, or two runs side by side (B's changes against A marked).
    Raises DataError when a folder is not a readable run."""
    summary_a, records_a = read_run(run_a)
    cases_a = _by_case(records_a)
    summary_b, cases_b = None, {}
    if run_b is not None:
        summary_b, records_b = read_run(run_b)
        cases_b = _by_case(records_b)
    ids = list(dict.fromkeys([*cases_a, *cases_b]))

    def order(case: str) -> tuple[int, int]:
        a_ok = _passes(cases_a[case]) if case in cases_a else True
        b_ok = _passes(cases_b[case]) if case in cases_b else True
        return (0 if not (a_ok and b_ok) else 1, ids.index(case))

    rows = []
    for case in sorted(ids, key=order):
        changed = run_b is not None and case in cases_a and case in cases_b and \
            _passes(cases_a[case]) != _passes(cases_b[case])
        row = f"<td><b>{html.escape(case)}</b></td>{_cell(cases_a.get(case))}"
        if run_b is not None:
            row += _cell(cases_b.get(case))
        rows.append(f'<tr class="{"changed" if changed else ""}">{row}</tr>')
    head = "<th style='width:12%'>case</th>" + _header("A", run_a, summary_a)
    if run_b is not None and summary_b is not None:
        head += _header("B", run_b, summary_b)
    title = f"eval view: {run_a}" + (f" vs {run_b}" if run_b else "")
    failing = sum(1 for c in ids if order(c)[0] == 0)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='small'>{len(ids)} cases, {failing} failing in at least one run (listed first); "
            "a marked row changed between pass and fail.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n")


def write_view(run_a: Path, run_b: Path | None, out: Path | None) -> Path:
    """Write the page (default: RUN_A/view.html) and return its path."""
    target = out or run_a / "view.html"
    atomic_write_text(target, render_view(run_a, run_b))
    return target
