"""`cairn eval ...` commands: inspect, run, compare. Only typer and the standard library
at module level; everything else is imported inside the commands so `cairn --help` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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
    watch: Annotated[list[str] | None, typer.Option(
        "--watch", help="Glob of files the target reads outside its project tree; they key the cache (repeatable).")
    ] = None,
    timeout_s: Annotated[float, typer.Option(
        "--timeout-s", min=0.001, help="Per-call limit for every target kind; a timed-out call is a failed case.")
    ] = 300.0,
    context_json: Annotated[str | None, typer.Option(
        "--context", help='Runtime context for a graph target, as JSON, e.g. \'{"model": "openai/gpt-4o-mini"}\'.')
    ] = None,
    config_json: Annotated[str | None, typer.Option(
        "--config", help='RunnableConfig for a graph target, as JSON, e.g. \'{"configurable": {"user_id": "u1"}}\'.')
    ] = None,
    isolate: Annotated[bool, typer.Option(
        "--isolate", help="Run a Python target in worker processes, so a call past --timeout-s is stopped, "
                          "not left running.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print summary.json instead of the table.")] = False,
) -> None:
    """Run every case N times against TARGET and report mean, std and 95% CI (over cases) per metric."""
    from workflow.evaluation.execution import execute_run
    from workflow.evaluation.report import print_summary

    summary, run_dir = execute_run(
        target=target, cases_path=cases, repeat=repeat, concurrency=concurrency, run_dir=out,
        output_key=output_key, use_cache=not no_cache, cache_dir=cache_dir, prompt_files=prompt_files or [],
        cache_env=cache_env or [], watch=watch or [], timeout_s=timeout_s,
        context=_json_object(context_json, "--context"), config=_json_object(config_json, "--config"),
        isolate=isolate,
    )
    if json_out:
        print(summary.model_dump_json(indent=2))
    else:
        print_summary(summary, run_dir)


@app.command("view")
def view_cmd(
    run_a: Annotated[Path, typer.Argument(help="A run folder.")],
    run_b: Annotated[Path | None, typer.Argument(help="A second run to show beside it.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file (default: RUN_A/view.html).")] = None,
) -> None:
    """Write a self-contained HTML page with every case's outputs side by side, failing cases first."""
    from workflow.evaluation.view import write_view

    print(f"wrote {write_view(run_a, run_b, out)}")


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """Parse a JSON object option. Raises ConfigError naming the option and the fix."""
    from workflow.errors import ConfigError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{option}: not valid JSON ({exc.msg} at column {exc.colno}); quote it for the shell") \
            from None
    if not isinstance(value, dict):
        raise ConfigError(f"{option}: expected a JSON object such as '{{\"key\": \"value\"}}'")
    return value


@app.command("compare")
def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The run to compare against it.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    fail_on_regression: Annotated[bool, typer.Option(
        "--fail-on-regression", help=(
            "Exit 1 when a gated metric regressed (pass rates, error rate and McNemar pass/fail; add others with "
            "--gate) or when the runs were made under different conditions (see --allow-mismatch)."))] = False,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level (CI level is 1 - alpha).")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap and permutation seed.")] = 0,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")] = 10_000,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="Compare (and gate on) only this metric, e.g. pass_rate (repeatable).")] = None,
    gate: Annotated[list[str] | None, typer.Option(
        "--gate", help="Also gate on this metric, e.g. latency_ms or cost_usd (repeatable).")] = None,
    min_effect: Annotated[list[str] | None, typer.Option(
        "--min-effect", help=("Smallest difference that counts: METRIC=VALUE (absolute) or METRIC=VALUE% "
                              "(relative to A), repeatable. Default latency_ms=10% and latency_ms=1."))] = None,
    allow_mismatch: Annotated[bool, typer.Option(
        "--allow-mismatch", help="Gate even when the runs differ in cases, --repeat, --concurrency, target.")] = False,
) -> None:
    """Paired comparison of RUN_B against RUN_A over their shared cases, with a verdict per metric."""
    from workflow.errors import CairnError
    from workflow.evaluation.comparison import compare_runs, parse_min_effects
    from workflow.evaluation.report import print_comparison

    result = compare_runs(run_a, run_b, alpha=alpha, n_resamples=resamples, seed=seed, only=metric, gate=gate,
                          min_effects=parse_min_effects(min_effect or []))
    for mismatch in result.mismatches:
        print(f"warning: {mismatch}", file=sys.stderr)
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_comparison(result)
    if fail_on_regression and result.mismatches and not allow_mismatch:
        raise CairnError(f"{run_b} and {run_a} were not made under the same conditions ({result.mismatches[0]}); "
                         "pass --allow-mismatch to gate anyway")
    if fail_on_regression and result.regressed:
        raise CairnError(f"{run_b} regressed against {run_a} on: {', '.join(result.regressed_metrics)}")
