"""`cairn eval run` from start to finish: load the cases, resolve the target, run with the
cache and a progress bar, write the run folder."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workflow.context import current_settings
from workflow.errors import CairnError, ConfigError
from workflow.evaluation.cache import OutcomeCache
from workflow.evaluation.cases import canonical_json, load_cases
from workflow.evaluation.records import Record
from workflow.evaluation.rundir import RESULTS, RunSummary, summarize_records, write_run
from workflow.evaluation.runner import RunOptions, run_cases
from workflow.evaluation.targets import CommandTarget, fingerprint, resolve_target

__all__ = ["execute_run"]


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Record], None]]:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda _record: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("eval run"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("calls", total=total)
        yield lambda _record: bar.advance(task)


def _default_run_dir() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return current_settings().output_dir / "eval-runs" / stamp


def execute_run(
    *,
    target: str,
    cases_path: Path,
    repeat: int = 3,
    concurrency: int = 1,
    run_dir: Path | None = None,
    output_key: str | None = None,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    prompt_files: list[Path] | None = None,
    cache_env: list[str] | None = None,
    watch: list[str] | None = None,
    timeout_s: float = 300.0,
    context: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    isolate: bool = False,
) -> tuple[RunSummary, Path]:
    """Run the cases and write RUN_DIR/results.jsonl, summary.json and metrics.png.

    The cache key covers the target's whole project tree, `prompt_files`, the files matched
    by the `watch` globs and the `cache_env` variables; a tree too large to hash completely
    runs without the cache (with a warning on stderr) rather than risk stale outputs.
    `isolate` runs a Python target in worker processes that a timeout can stop.
    Raises DataError for a bad cases file, ConfigError for a bad target, option or missing
    judge model, and CairnError when every call failed (the run folder is still written).
    """
    cases = load_cases(cases_path)
    run_dir = run_dir or _default_run_dir()
    if (run_dir / RESULTS).exists():
        raise ConfigError(f"{run_dir} already holds a run; pass another --out folder or remove it")
    for path in prompt_files or []:
        if not path.exists():
            raise ConfigError(f"--prompt-file {path}: no such file or folder")
    watched: list[Path] = []
    for pattern in watch or []:
        matched = sorted(Path().glob(pattern)) if not Path(pattern).is_absolute() else [Path(pattern)]
        matched = [m for m in matched if m.exists()]
        if not matched:
            raise ConfigError(f"--watch {pattern}: matches no file (globs are relative to the current folder)")
        watched.extend(matched)
    settings = current_settings()
    judge = None
    if any(c.uses_judge for c in cases):
        from workflow.evaluation.judge import build_judge

        judge = build_judge(settings.config.llm)
    resolved: Any = resolve_target(target, timeout_s=timeout_s, context=context, config=config)
    if isolate:
        if isinstance(resolved, CommandTarget):
            raise ConfigError("--isolate: shell command targets already run in their own process; leave it out")
        from workflow.evaluation.worker import IsolatedTarget

        resolved = IsolatedTarget(resolved, timeout_s=timeout_s, context=context, config=config)
    cache_dir = cache_dir or settings.output_dir / ".eval-cache"
    if judge is not None and use_cache and settings.config.llm is not None:
        from workflow.evaluation.judge import CachedJudge

        llm = settings.config.llm
        judge = CachedJudge(judge, cache_dir / "judge", f"{llm.model}\0{llm.base_url or ''}")
    key = fingerprint(resolved, extra_paths=[*(prompt_files or []), *watched], env_names=cache_env or [],
                      exclude=[cases_path, cache_dir, settings.output_dir, run_dir])
    cache = None
    if use_cache and not key.complete:
        print(f"warning: the target's project tree ({', '.join(key.roots)}) has more files than the cache key "
              "can cover; running without the cache (name what it reads with --prompt-file / --watch)",
              file=sys.stderr)
    elif use_cache:
        # The judge and its settings decide pass/fail but do not change the target's output,
        # so they stay out of this key; only outputs are cached.
        options_key = canonical_json({"context": context, "config": config})
        cache = OutcomeCache(cache_dir, hashlib.sha256(f"{key.digest}\0{options_key}".encode()).hexdigest())
    costs = settings.config.costs
    options = RunOptions(repeat=repeat, concurrency=concurrency, output_key=output_key,
                         usd_per_1k_input=costs.api_usd_per_1k_input_tokens,
                         usd_per_1k_output=costs.api_usd_per_1k_output_tokens)
    started = time.perf_counter()
    try:
        with _progress(len(cases) * repeat) as tick:
            records = run_cases(resolved, cases, options=options, cache=cache, judge=judge, on_done=tick)
    finally:
        if hasattr(resolved, "close"):
            resolved.close()
    summary = RunSummary(
        target=target, target_fingerprint=key.digest, fingerprint_files=key.files, cases_file=str(cases_path),
        cases_sha256=hashlib.sha256(cases_path.read_bytes()).hexdigest(), repeat=repeat, concurrency=concurrency,
        output_key=output_key, created=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3), n_cases=len(cases), n_records=len(records),
        errors=sum(r.error is not None for r in records), cached=sum(r.cached for r in records),
        metrics=summarize_records(records),
    )
    write_run(run_dir, records, summary)
    if summary.errors == len(records):
        first = next(r.error for r in records if r.error)
        raise CairnError(f"every call to the target failed (first: {first}); results are in {run_dir}")
    return summary, run_dir
