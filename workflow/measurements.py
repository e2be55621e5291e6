"""Measurements a prompt-tuning step shows in its documents and decisions: a run's summary,
a paired comparison of two runs, the goals file and an `eval inspect --json` listing.

Each function turns a CairnError into text for the document (so a draft still renders) and
reports it as a problem too, so the step cannot be completed on a run that cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workflow.errors import CairnError, DataError

# Metrics a report leads with; the rest follow in the order the comparison lists them.
_HEADLINE = ("pass_rate", "error_rate", "latency_ms", "cost_usd", "input_tokens", "output_tokens")
# The method measures every run 3 to 5 times: fewer hides the spread, more rarely changes a decision.
REPEATS = (3, 5)


def run_folder(value: Any) -> Path:
    """A run folder from a form answer: the folder itself or its summary.json/results.jsonl."""
    path = Path(str(value))
    return path.parent if path.is_file() else path


def _number(value: float) -> str:
    return f"{value:+.4g}"


def run_summary(value: Any) -> tuple[dict[str, Any], str | None]:
    """`{"markdown", "metrics": {name: {mean, ci_low, ci_high, n}}, "repeat", "n_cases", "path",
    "cases_sha256"}` for a run folder, or an empty summary and the problem. A run with fewer
    than 3 or more than 5 repetitions is a problem too (the method's REPEATS). Never raises."""
    from workflow.evaluation.rundir import read_run

    try:
        summary, _ = read_run(run_folder(value))
    except CairnError as exc:
        return {"markdown": f"_Run summary unavailable: {exc}_", "metrics": {}, "repeat": 0, "n_cases": 0}, \
            str(exc)
    problem = None
    if not REPEATS[0] <= summary.repeat <= REPEATS[1]:
        problem = (f"{run_folder(value)} has {summary.repeat} repetitions per case; the method runs every case "
                   f"{REPEATS[0]} to {REPEATS[1]} times: re-run with cairn eval run --repeat {REPEATS[0]}")
    metrics = {name: {"mean": m.mean, "std": m.std, "ci_low": m.ci_low, "ci_high": m.ci_high, "n": m.n}
               for name, m in summary.metrics.items()}
    rows = ["| metric | mean | std (cases) | 95% CI (over cases) | cases |", "| --- | ---: | ---: | --- | ---: |"]
    rows += [f"| {name} | {m['mean']:.4g} | {m['std']:.3g} | [{m['ci_low']:.4g}, {m['ci_high']:.4g}] | {m['n']} |"
             for name, m in metrics.items()]
    return {"markdown": "\n".join(rows), "metrics": metrics, "repeat": summary.repeat, "n_cases": summary.n_cases,
            "path": str(run_folder(value)), "cases_sha256": summary.cases_sha256}, problem


def comparison(reference: Any, candidate: Any) -> tuple[dict[str, Any], str | None]:
    """The paired comparison of candidate against reference as
    `{"metrics": [{metric, mean_diff, ci_low, ci_high, verdict, ...}], "effect", "markdown", ...}`
    (differences are candidate - reference), or an empty one and the problem. Runs measured
    under other conditions (cases, repetitions, concurrency, output key) or of unchanged
    application files are a problem: the method compares one change at a time. Never raises."""
    from workflow.evaluation.comparison import compare_runs

    try:
        result = compare_runs(run_folder(reference), run_folder(candidate))
    except CairnError as exc:
        text = f"comparison unavailable: {exc}"
        return {"metrics": [], "effect": text, "markdown": f"_{text}_", "mcnemar_verdict": "", "n_cases": 0}, \
            str(exc)
    metrics: list[dict[str, Any]] = [
        {"metric": m.metric, "a_mean": m.a_mean, "b_mean": m.b_mean, "mean_diff": m.mean_diff,
         "ci_low": m.ci_low, "ci_high": m.ci_high, "p_value": m.p_value, "verdict": m.verdict, "gated": m.gated}
        for m in result.metrics]
    ordered = [m for name in _HEADLINE for m in metrics if m["metric"] == name]
    ordered += [m for m in metrics if m["metric"] not in _HEADLINE]
    effect = "; ".join(f"{m['metric']} {_number(m['mean_diff'])} [{m['ci_low']:.4g}, {m['ci_high']:.4g}] "
                       f"p={m['p_value']:.2g} {m['verdict']}{'' if m['gated'] else ' (not gated)'}"
                       for m in ordered[:4])
    rows = ["| metric | reference | candidate | difference | 95% CI | p | verdict |",
            "| --- | ---: | ---: | ---: | --- | ---: | --- |"]
    rows += [f"| {m['metric']} | {m['a_mean']:.4g} | {m['b_mean']:.4g} | {_number(m['mean_diff'])} | "
             f"[{m['ci_low']:.4g}, {m['ci_high']:.4g}] | {m['p_value']:.3g} | "
             f"{m['verdict']}{'' if m['gated'] else ' (not gated)'} |" for m in ordered]
    same_run = run_folder(reference).resolve() == run_folder(candidate).resolve()
    problems = [*result.mismatches, *(n for n in result.notes if "no change was applied" in n and not same_run)]
    return {"metrics": ordered, "effect": effect, "markdown": "\n".join(rows), "n_cases": result.n_cases,
            "mcnemar_verdict": result.mcnemar_verdict, "mcnemar_p": result.mcnemar.p_value,
            "mismatches": problems, "reference": str(run_folder(reference)), "candidate": str(run_folder(candidate)),
            "by_metric": {m["metric"]: m for m in ordered}}, "; ".join(problems) or None


def goals_text(value: Any) -> tuple[str, str | None]:
    """The text of an existing goals file (fine-tune.md), or '' and the problem."""
    path = Path(str(value))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return "", f"{path}: cannot read the goals file ({exc})"
    if not text.strip():
        return "", f"{path}: the goals file is empty; write goals, criteria and thresholds in it or leave it out"
    return text, None


def inspection(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The model-calling nodes of a saved `cairn eval inspect --json` listing, each
    `{node, file, line, model, prompts}`, or [] and the problem."""
    path = Path(str(value))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise DataError(f"{path}: expected the JSON list printed by `cairn eval inspect APP --json`")
        nodes = []
        for entry in data:
            calls = entry.get("model_calls") or []
            if not calls:
                continue
            nodes.append({
                "node": entry.get("node", "?"), "file": entry.get("file", "?"), "line": entry.get("line", 0),
                "model": ", ".join(str((c.get("model") or {}).get("model") or "?") for c in calls),
                "prompts": ", ".join(str(p.get("text", "")) for c in calls for p in c.get("prompts") or []
                                     if p.get("kind") == "file") or "inline",
            })
        return nodes, None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, CairnError) as exc:
        return [], f"{path}: not an `eval inspect --json` listing ({exc})"
