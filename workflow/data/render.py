"""Plain-text output of the data commands (the `--json` shapes are the dicts themselves)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from workflow.data.problem import Problem

SHOWN_PER_CODE = 20


class ProblemPrinter:
    """Prints problems as `FILE:LINE: severity code: message`, at most 20 per code, so a file
    where every line has the same problem does not flood the terminal."""

    def __init__(self, file: str, echo: Any) -> None:
        self.file, self.echo = file, echo
        self.shown: Counter[str] = Counter()
        self.hidden: Counter[str] = Counter()

    def __call__(self, problem: Problem) -> None:
        if self.shown[problem.code] >= SHOWN_PER_CODE:
            self.hidden[problem.code] += 1
            return
        self.shown[problem.code] += 1
        where = f"{self.file}:{problem.line}" if problem.line else self.file
        self.echo(f"{where}: {problem.severity} {problem.code}: {problem.message}")

    def finish(self) -> None:
        for code, count in sorted(self.hidden.items()):
            self.echo(f"... and {count:,} more {code} (use --json for all)")


def _dist(d: dict[str, Any]) -> str:
    return f"min {d['min']:,}  p50 {d['p50']:,}  p90 {d['p90']:,}  p95 {d['p95']:,}  p99 {d['p99']:,}  max {d['max']:,}"


def validation_text(summary: dict[str, Any]) -> list[str]:
    tokens = summary["tokens"]
    verdict = "OK" if summary["errors"] == 0 else "FAILED"
    lines = [
        f"{verdict}: {summary['file']} ({summary['format']}): {summary['examples']:,} examples, "
        f"{summary['valid_examples']:,} valid, {summary['errors']:,} errors, {summary['warnings']:,} warnings",
    ]
    if summary["by_code"]:
        lines.append("  by code: " + ", ".join(f"{c} {n:,}" for c, n in summary["by_code"].items()))
    lines += [
        f"  tokens ({tokens['method']}):",
        f"    per example  {_dist(tokens['total'])}",
        f"    prompt       {_dist(tokens['prompt'])}",
        f"    response     {_dist(tokens['response'])}",
        f"    limit {tokens['limit']:,} ({'error' if tokens['limit_is_error'] else 'warning'} above it)",
    ]
    return lines


def analysis_text(a: dict[str, Any]) -> list[str]:
    problems = a["problems"]
    lines = [
        f"{a['file']}: format {a['format']}, {a['size_bytes'] / 1e6:,.1f} MB, {a['lines']:,} lines, "
        f"{a['examples']:,} examples ({a['valid_examples']:,} valid)",
        f"  problems: {problems['errors']:,} errors, {problems['warnings']:,} warnings"
        + (" (" + ", ".join(f"{c} {n:,}" for c, n in problems["by_code"].items()) + ")" if problems["by_code"]
           else ""),
        f"  turns per example: {_dist(a['turns'])}",
        f"  tokens ({a['tokens']['method']}):",
        f"    per example  {_dist(a['tokens']['total'])}",
        f"    response     {_dist(a['tokens']['response'])}",
        f"    total {a['tokens']['sum']:,}",
        f"  exact duplicates: {a['duplicates']['exact']:,} ({a['duplicates']['rate']:.2%})",
        f"  empty responses: {a['responses']['empty']:,} ({a['responses']['empty_rate']:.2%}); "
        f"short (< {a['responses']['short_below_tokens']} tokens): {a['responses']['short']:,} "
        f"({a['responses']['short_rate']:.2%})",
    ]
    labels = a.get("labels")
    if labels:
        lines.append(f"  labels ({labels['field']}): {labels['classes']} classes, largest/smallest "
                     f"{labels['ratio']}")
        for name, count in list(labels["counts"].items())[:20]:
            lines.append(f"    {name}: {count:,}")
    pii = a["pii"]
    found = ", ".join(f"{kind} {n:,}" for kind, n in pii["counts"].items() if n) or "none"
    engine = f" (scan: {pii['engine']})" if pii.get("engine", "cairn") != "cairn" else ""
    lines.append(f"  PII-like strings: {found} in {pii['examples_with_pii']:,} examples{engine}")
    for sample in pii["samples"][:5]:
        lines.append(f"    line {sample['line']}: {sample['kind']} {sample['masked']}")
    return lines


def review_text(file: str, verdict: dict[str, Any]) -> list[str]:
    lines = [f"review of {file}: {'PASSED' if verdict['passed'] else 'FAILED'}"]
    for rule in verdict["rules"]:
        mark = {True: "pass", False: "FAIL", None: " n/a"}[rule["passed"]]
        value = rule["value"]
        shown = f"{value:.2%}" if isinstance(value, float) and rule["name"] in ("duplicates", "empty_responses") \
            else str(value)
        lines.append(f"  [{mark}] {rule['description']}: {shown} (threshold {rule['threshold']})")
    return lines


def boilerplate_lines(r: dict[str, Any]) -> list[str]:
    b = r.get("boilerplate")
    if not b:
        return []
    return [f"templated boilerplate: {b['shingles']:,} word 3-grams in at least {b['min_share']:.0%} (and "
            f"{b['min_examples']}) of the examples ({b['examples']:,} examples have some) were left out of the "
            f"comparison, e.g. \"{b['sample']}\" (--include-boilerplate compares them)"]


def dedup_text(r: dict[str, Any]) -> list[str]:
    return [f"kept {r['kept']:,} of {r['examples']:,} examples; removed {r['removed']['exact']:,} exact and "
            f"{r['removed']['near']:,} near duplicates (Jaccard >= {r['threshold']}, system prompts "
            f"{r['system_prompts']}) -> {r['output']}", *boilerplate_lines(r),
            f"clusters: {r['report']}"]


def split_text(r: dict[str, Any]) -> list[str]:
    counts = ", ".join(f"{name} {n:,}" for name, n in r["counts"].items() if name in r["files"])
    return [f"split {r['examples']:,} examples (seed {r['seed']}): {counts} -> {r['output_dir']}",
            f"{r['duplicate_groups']:,} duplicate groups ({r['examples_in_duplicate_groups']:,} examples) "
            f"kept within one split (system prompts {r['system_prompts']})", *boilerplate_lines(r)]


def contamination_text(r: dict[str, Any]) -> list[str]:
    verdict = "OK" if r["passed"] else "CONTAMINATED"
    lines = [f"{verdict}: {r['contaminated']:,} of {r['checked']:,} eval items share {r['ngram']}-grams with "
             f"{r['train']} (ratio {r['ratio']:.2%}, max {r['max_ratio']:.2%})"]
    for item in r["items"][:50]:
        lines.append(f"  {r['eval']}:{item['line']}: overlap {item['overlap']:.0%}, train lines "
                     + ", ".join(str(n) for n in item["train_lines"]))
    if len(r["items"]) > 50:
        lines.append(f"  ... and {len(r['items']) - 50:,} more (use --json for all)")
    if r["too_short"]:
        lines.append(f"  {len(r['too_short']):,} eval items too short to check (< 5 words)")
    return lines
