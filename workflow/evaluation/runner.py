"""Running every case N times against a target, K at a time: threads for sync targets,
an event loop for async ones. Returns one Record per case x repetition."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

from workflow.errors import ConfigError
from workflow.evaluation.assertions import ChatModelLike, case_passed, check_outcome
from workflow.evaluation.cache import OutcomeCache
from workflow.evaluation.cases import Case
from workflow.evaluation.records import CheckRecord, Record
from workflow.evaluation.targets import Outcome, Target

__all__ = ["RunOptions", "rate_limited", "run_cases", "select_output"]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run: repetitions, parallel calls, where to take the output from, and the
    $/1k-token rates used to estimate cost when a target reports tokens but no cost."""

    repeat: int = 3
    concurrency: int = 1
    output_key: str | None = None
    usd_per_1k_input: float | None = None
    usd_per_1k_output: float | None = None
    # A call refused for a rate limit (HTTP 429, RateLimitError, "rate limit", "too many requests")
    # is retried this many times, waiting retry_delay_s, then twice that, and so on.
    retries: int = 3
    retry_delay_s: float = 2.0


_RATE_LIMITED = re.compile(r"rate.?limit|too many requests|\b429\b|resource.?exhausted|overloaded", re.I)


def rate_limited(outcome: Outcome) -> bool:
    """Whether a failed call looks like a provider's rate limit (worth waiting for and retrying)."""
    return outcome.error is not None and bool(_RATE_LIMITED.search(outcome.error))


def select_output(output: Any, key: str) -> Any:
    """Follow a dotted path ("answer", "messages.-1.content") into a dict/list output.

    Raises KeyError naming the missing part.
    """
    current = output
    for part in key.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(f"output has no '{part}' (from --output-key {key})")
    return current


def _finish(outcome: Outcome, options: RunOptions) -> tuple[Outcome, bool]:
    """Apply --output-key and the cost estimate; returns the outcome and whether cost is estimated."""
    if options.output_key and outcome.error is None:
        try:
            outcome = replace(outcome, output=select_output(outcome.output, options.output_key))
        except KeyError as exc:
            outcome = replace(outcome, output=None, error=str(exc.args[0]))
    estimated = False
    if outcome.cost_usd is None and outcome.usage and options.usd_per_1k_input is not None:
        cost = outcome.usage.get("input_tokens", 0) / 1000 * options.usd_per_1k_input
        cost += outcome.usage.get("output_tokens", 0) / 1000 * (options.usd_per_1k_output or 0.0)
        outcome, estimated = replace(outcome, cost_usd=cost), True
    return outcome, estimated


def _record(case: Case, repeat: int, raw: Outcome, cached: bool, options: RunOptions,
            judge: ChatModelLike | None) -> Record:
    outcome, estimated = _finish(raw, options)
    checks = check_outcome(outcome, case, judge)
    return Record(
        case_id=case.key, repeat=repeat, output=outcome.output, error=outcome.error,
        latency_ms=round(outcome.latency_ms, 3), usage=outcome.usage, cost_usd=outcome.cost_usd,
        cost_estimated=estimated, checks=[CheckRecord(type=c.type, passed=c.passed, detail=c.detail) for c in checks],
        passed=outcome.error is None and case_passed(checks, case.threshold), cached=cached,
    )


def run_cases(
    target: Target,
    cases: list[Case],
    *,
    options: RunOptions,
    cache: OutcomeCache | None = None,
    judge: ChatModelLike | None = None,
    on_done: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Call `target` once per case and repetition and check each output.

    Cached outcomes are reused without calling the target. Records come back ordered by
    case, then repetition. Raises ConfigError when a case needs an LLM judge and none is
    given, a similar assertion without the `dense` extra, or when repeat/concurrency are below 1;
    a failing call is a failing record.
    """
    if options.repeat < 1:
        raise ConfigError(f"--repeat must be at least 1, got {options.repeat}")
    if options.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {options.concurrency}")
    if judge is None:
        needing = [c for c in cases if c.uses_judge]
        if needing:
            raise ConfigError(
                f"case '{needing[0].key}' (line {needing[0].line}) has an llm-judge assertion but no chat model "
                "is configured: add an 'llm: {model: ...}' section to config.yaml or remove the assertion"
            )
    similar = [c for c in cases if c.uses_similarity]
    if similar:
        from workflow.knowledge.dense import INSTALL_HINT, installed

        if not installed():
            raise ConfigError(f"case '{similar[0].key}' (line {similar[0].line}) has a similar assertion, which "
                              f"embeds texts with all-MiniLM-L6-v2: {INSTALL_HINT}")
    done: dict[tuple[int, int], Record] = {}
    pending: list[tuple[int, int]] = []
    for repeat in range(options.repeat):
        for index, case in enumerate(cases):
            hit = cache.get(case.input, repeat) if cache else None
            if hit is None:
                pending.append((index, repeat))
                continue
            done[index, repeat] = _record(case, repeat, hit, True, options, judge)
            if on_done:
                on_done(done[index, repeat])

    def finish(index: int, repeat: int, outcome: Outcome) -> None:
        if cache:
            cache.put(cases[index].input, repeat, outcome)

    if target.is_async:
        async def one(sem: asyncio.Semaphore, index: int, repeat: int) -> None:
            async with sem:
                outcome = await target.acall(cases[index].key, cases[index].input)
                for attempt in range(options.retries):
                    if not rate_limited(outcome):
                        break
                    await asyncio.sleep(options.retry_delay_s * 2**attempt)
                    outcome = await target.acall(cases[index].key, cases[index].input)
            finish(index, repeat, outcome)
            # Judging may call a chat model synchronously: keep it off the event loop.
            record = await asyncio.to_thread(_record, cases[index], repeat, outcome, False, options, judge)
            done[index, repeat] = record
            if on_done:
                on_done(record)

        async def main() -> None:
            sem = asyncio.Semaphore(options.concurrency)
            await asyncio.gather(*(one(sem, i, r) for i, r in pending))

        asyncio.run(main())
    else:
        def work(index: int, repeat: int) -> Record:
            outcome = target.call(cases[index].key, cases[index].input)
            for attempt in range(options.retries):
                if not rate_limited(outcome):
                    break
                time.sleep(options.retry_delay_s * 2**attempt)  # the provider asked us to slow down
                outcome = target.call(cases[index].key, cases[index].input)
            finish(index, repeat, outcome)
            return _record(cases[index], repeat, outcome, False, options, judge)

        with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="cairn-eval") as pool:
            futures = {pool.submit(work, i, r): (i, r) for i, r in pending}
            for future in as_completed(futures):
                record = future.result()
                done[futures[future]] = record
                if on_done:
                    on_done(record)
    return [done[i, r] for i in range(len(cases)) for r in range(options.repeat)]
