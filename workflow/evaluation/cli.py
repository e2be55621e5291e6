"""`cairn eval ...` commands: inspect, run, compare. Only typer and the standard library
at module level; everything else is imported inside the commands so `cairn --help` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Measure LLM applications: inspect, run cases with repeats, compare runs.",
                  no_args_is_help=True)


@app.command("inspect")
def inspect_cmd(
    path: Annotated[Path, typer.Argument(help="The LangGraph application's folder or file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the nodes as a JSON list.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list nodes that call no model.")] = False,
) -> None:
    """List the graph nodes that call a chat model, with their prompt and model (reads the source only)."""
    from workflow.evaluation.inspection import inspect_app
    from workflow.evaluation.report import print_inspection

    reports, problems = inspect_app(path)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    shown = reports if show_all else [r for r in reports if r.calls_model]
    if json_out:
        print(json.dumps([r.to_json() for r in shown], indent=2, ensure_ascii=False))
        return
    print_inspection(shown, total=len(reports))


@app.command("run")
def run_cmd(
    target: Annotated[str, typer.Option("--target", "-t", help=(
        "What to call: a shell command reading the case JSON on stdin, module:function, or module:graph."))],
    cases: Annotated[Path, typer.Option("--cases", "-c", help="Cases file (JSON Lines: input, expected, assertions).")],
    repeat: Annotated[int, typer.Option("--repeat", "-n", min=1, help="Runs per case.")] = 3,
    concurrency: Annotated[int, typer.Option("--concurrency", "-k", min=1, help="Calls in flight at once.")] = 1,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run folder (default: OUTPUT/eval-runs/<time>).")] = None,
    output_key: Annotated[str | None, typer.Option(
        "--output-key", help="Dotted path to the output in a dict result, e.g. answer or messages.-1.content.")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Call the target even when a cached output exists.")] = False,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", help="Cache folder (default: OUTPUT/.eval-cache).")] = None,
    prompt_files: Annotated[list[Path] | None, typer.Option(
        "--prompt-file", help="Extra prompt file or folder whose contents key the cache (repeatable).")] = None,
    cache_env: Annotated[list[str] | None, typer.Option(
        "--cache-env", help="Environment variable whose value keys the cache, e.g. a model name (repeatable).")] = None,
    timeout_s: Annotated[float, typer.Option("--timeout-s", min=0.001, help="Per-call limit for commands.")] = 300.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print summary.json instead of the table.")] = False,
) -> None:
    """Run every case N times against TARGET and report mean, std and 95% CI per metric."""
    from workflow.evaluation.execution import execute_run
    from workflow.evaluation.report import print_summary

    summary, run_dir = execute_run(
        target=target, cases_path=cases, repeat=repeat, concurrency=concurrency, run_dir=out,
        output_key=output_key, use_cache=not no_cache, cache_dir=cache_dir, prompt_files=prompt_files or [],
        cache_env=cache_env or [], timeout_s=timeout_s,
    )
    if json_out:
        print(summary.model_dump_json(indent=2))
    else:
        print_summary(summary, run_dir)


@app.command("compare")
def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The run to compare against it.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    fail_on_regression: Annotated[bool, typer.Option(
        "--fail-on-regression", help="Exit 1 when any metric regressed significantly.")] = False,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (CI level is 1 - alpha).")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")] = 10_000,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="Compare (and gate on) only this metric, e.g. pass_rate (repeatable).")] = None,
) -> None:
    """Paired comparison of RUN_B against RUN_A over their shared cases, with a verdict per metric."""
    from workflow.errors import CairnError
    from workflow.evaluation.comparison import compare_runs
    from workflow.evaluation.report import print_comparison

    result = compare_runs(run_a, run_b, alpha=alpha, n_resamples=resamples, seed=seed, only=metric)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_comparison(result)
    if fail_on_regression and result.regressed:
        names = [m.metric for m in result.metrics if m.verdict == "regressed"]
        if result.mcnemar_verdict == "regressed":
            names.append("pass/fail (McNemar)")
        raise CairnError(f"{run_b} regressed against {run_a} on: {', '.join(names)}")
