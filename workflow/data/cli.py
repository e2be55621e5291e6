"""`cairn data ...` commands. Only typer and the standard library are imported here: each command
imports its module when it runs, so `cairn --help` stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Prepare and check training data (JSONL): convert, validate, analyze, review, dedup, "
                       "split, contamination, sample.", no_args_is_help=True)

FORMATS = "messages, openai-chat, openai-preference, vertex, alpaca, sharegpt, prompt-completion, preference, text"
File = Annotated[Path, typer.Argument(help="A JSONL file (never modified).")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help=f"auto (detect) or one of: {FORMATS}.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
IncludeSystemOption = Annotated[bool, typer.Option(
    "--include-system", help="Also compare system prompts (by default they are left out: a prompt shared by the "
    "whole file makes distinct short examples look alike).")]
IncludeBoilerplateOption = Annotated[bool, typer.Option(
    "--include-boilerplate", help="Also compare word 3-grams found in at least 1% (and 20) of the examples (a "
    "template or fixed instruction; left out and reported by default).")]
LabelOption = Annotated[str | None, typer.Option("--label", help="Field holding a class label (dotted path).")]
PresidioOption = Annotated[str | None, typer.Option(
    "--presidio", metavar="SPACY_MODEL",
    help="Also scan for names, places and other PII with Microsoft Presidio (the 'pii' extra), using this "
         "installed spaCy model or model folder, e.g. en_core_web_lg. Slower: milliseconds per example.")]


def _emit(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


def _lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _size(path: Path) -> int:
    from workflow.data.jsonl import file_size

    return file_size(path)


@app.command()
def validate(
    file: File,
    fmt: FormatOption = "auto",
    as_json: JsonOption = False,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1,
                                                   help="Token limit; examples above it are errors.")] = None,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="Local tokenizer folder for exact token "
                                                  "counts (default: characters / 4 approximation).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
) -> None:
    """Check every line against a format; exit code 1 when there are errors.

    Errors per line with a stable code, warnings, token statistics. Streams in bounded memory.
    """
    from workflow.data.formats import resolve_format
    from workflow.data.progress import progress
    from workflow.data.render import ProblemPrinter, validation_text
    from workflow.data.validate import validate_file

    dataset_format = resolve_format(fmt, file)
    printer = ProblemPrinter(str(file), typer.echo)
    on_problem = (lambda p: _emit(p.to_dict())) if as_json else printer
    with progress(f"validating {file.name}", _size(file)) as advance:
        report = validate_file(file, dataset_format, max_tokens=max_tokens, tokenizer=tokenizer, strict=strict,
                               on_problem=on_problem, advance=advance)
    if as_json:
        _emit({"summary": report.summary})
    else:
        printer.finish()
        _lines(validation_text(report.summary))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def analyze(
    file: File,
    fmt: FormatOption = "auto",
    label: LabelOption = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Folder for PNG histograms.")] = None,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="Local tokenizer folder.")] = None,
    short: Annotated[int, typer.Option("--short", min=1, help="Responses under this many tokens are short.")] = 5,
    presidio: PresidioOption = None,
    as_json: JsonOption = False,
) -> None:
    """Counts, turns, tokens, label balance, duplicates, empty responses, PII.

    One streaming pass that also runs every validate check. PII values are shown masked.
    """
    from workflow.data.analyze import analyze_file
    from workflow.data.progress import progress
    from workflow.data.render import analysis_text

    with progress(f"analyzing {file.name}", _size(file)) as advance:
        analysis, result = analyze_file(file, fmt, label=label, tokenizer=tokenizer, short_tokens=short,
                                        presidio=presidio, advance=advance)
    if plots is not None:
        from workflow.data.plots import write_plots

        analysis["plots"] = [str(p) for p in write_plots(result, plots)]
    if as_json:
        _emit(analysis)
        return
    _lines(analysis_text(analysis))
    for path in analysis.get("plots", []):
        typer.echo(f"  plot: {path}")


@app.command()
def review(
    file: File,
    fmt: FormatOption = "auto",
    label: LabelOption = None,
    max_duplicates: Annotated[float, typer.Option("--max-duplicates", help="Fail at this duplicate rate.")] = 0.05,
    max_empty: Annotated[float, typer.Option("--max-empty", help="Fail at this empty-response rate.")] = 0.01,
    max_class_ratio: Annotated[float, typer.Option("--max-class-ratio",
                                                   help="Largest / smallest class allowed.")] = 3.0,
    presidio: PresidioOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rule-based pass/fail with stated thresholds; exit code 1 when a rule fails.

    No JSON or format errors, duplicates < 5%, empty responses < 1%, classes at most 3:1 when labelled.
    """
    from workflow.data.analyze import analyze_file
    from workflow.data.progress import progress
    from workflow.data.render import review_text
    from workflow.data.review import Thresholds
    from workflow.data.review import review as run_review

    with progress(f"reviewing {file.name}", _size(file)) as advance:
        analysis, _ = analyze_file(file, fmt, label=label, presidio=presidio, advance=advance)
    verdict = run_review(analysis, Thresholds(max_duplicate_rate=max_duplicates, max_empty_rate=max_empty,
                                              max_class_ratio=max_class_ratio))
    if as_json:
        _emit({"file": str(file), **verdict})
    else:
        _lines(review_text(str(file), verdict))
    if not verdict["passed"]:
        raise typer.Exit(1)


@app.command()
def convert(
    file: File,
    target: Annotated[str, typer.Option("--to", help=f"Output format: {FORMATS}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL (written whole or not at all).")],
    source: Annotated[str, typer.Option("--from", help="Input format, or auto to detect it.")] = "auto",
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first line that cannot be converted; "
                                         "write nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Convert between formats; lines that cannot be converted are reported and skipped.

    The output is written whole or not at all.
    """
    from workflow.data.convert import convert_file
    from workflow.data.progress import progress

    shown = 0

    def on_skip(number: int, reason: str) -> None:
        nonlocal shown
        shown += 1
        if shown <= 20 and not as_json:
            typer.echo(f"{file}:{number}: skipped: {reason}", err=True)

    with progress(f"converting {file.name}", _size(file)) as advance:
        report = convert_file(file, out, source, target, strict=strict, on_skip=on_skip, advance=advance)
    if as_json:
        _emit(report.to_dict())
        return
    if report.skipped_count > 20:
        typer.echo(f"... and {report.skipped_count - 20:,} more skipped lines", err=True)
    typer.echo(f"converted {report.converted:,} lines from {report.source} to {report.target} -> {out}"
               + (f" ({report.skipped_count:,} skipped)" if report.skipped_count else ""))


@app.command()
def dedup(
    file: File,
    out: Annotated[Path, typer.Option("--out", "-o", help="Deduplicated JSONL.")],
    threshold: Annotated[float, typer.Option("--threshold", help="Jaccard similarity (word 3-grams) at or "
                                             "above which two examples are near duplicates.")] = 0.8,
    report: Annotated[Path | None, typer.Option("--report", help="Cluster report (default: "
                                                "OUT_STEM.dedup-report.json).")] = None,
    include_system: IncludeSystemOption = False,
    include_boilerplate: IncludeBoilerplateOption = False,
    fmt: FormatOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Remove exact and near duplicates, keeping the first of each cluster.

    Exact: same normalised text. Near: Jaccard of word 3-grams >= threshold, computed exactly for
    every pair that can reach it (no pair above the threshold is missed). System prompts and
    templated boilerplate shared by many examples are left out of the comparison (and the
    boilerplate is reported). Keeps one shingle set per example in memory (4 bytes a word).
    """
    from workflow.data.dedup import dedup_file
    from workflow.data.progress import progress
    from workflow.data.render import dedup_text

    with progress(f"deduplicating {file.name}", _size(file)) as advance:
        result = dedup_file(file, out, threshold=threshold, fmt=fmt, report=report, include_system=include_system,
                            include_boilerplate=include_boilerplate, advance=advance)
    if as_json:
        _emit({k: v for k, v in result.items() if k != "clusters"} | {"clusters": len(result["clusters"])})
    else:
        _lines(dedup_text(result))


@app.command()
def split(
    file: File,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train/val/test.jsonl.")],
    train: Annotated[float, typer.Option("--train", help="Share for train (percent).")] = 80,
    val: Annotated[float, typer.Option("--val", help="Share for validation (percent).")] = 10,
    test: Annotated[float, typer.Option("--test", help="Share for test (percent).")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same split (a time split needs none).")] = 0,
    stratify: Annotated[str | None, typer.Option("--stratify", help="Keep this field's class shares "
                                                 "in every split (dotted path).")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", metavar="FIELD",
        help="Split by time on this timestamp field (dotted path, e.g. metadata.created_at) instead of by "
             "shares: examples before --before train, the rest test (or val until --val-before, then test). "
             "Values: ISO 8601 dates or datetimes (UTC unless they give an offset) or epoch seconds. A duplicate "
             "group goes with its earliest member, so a later copy of a training example stays in train.")] = None,
    before: Annotated[str | None, typer.Option(
        "--before", metavar="DATE", help="With --by: the cut, an ISO 8601 date or datetime (2026-09-01, "
        "2026-09-01T12:00:00Z); examples before it train.")] = None,
    val_before: Annotated[str | None, typer.Option(
        "--val-before", "--eval-before", metavar="DATE",
        help="With --by: a second, later cut; examples from --before up to it go to val.")] = None,
    missing: Annotated[str | None, typer.Option(
        "--missing", metavar="train|test|drop",
        help="With --by: where lines without a usable timestamp go (drop: in no split, listed in the report). "
             "Without it such lines are reported and the split refused. A line in a dated duplicate group "
             "goes with its group, unless drop.")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="Near-duplicate Jaccard threshold.")] = 0.8,
    include_system: IncludeSystemOption = False,
    include_boilerplate: IncludeBoilerplateOption = False,
    fmt: FormatOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Seeded train/val/test split, or a time split (--by FIELD --before DATE); duplicate groups never
    straddle splits.

    Every near-duplicate pair at or above the threshold is found exactly and joined into a group,
    so no such pair straddles two splits, for any seed. System prompts and templated boilerplate
    are left out of the comparison. Keeps one shingle set per example in memory (4 bytes a word).
    A time split puts each group in the split of its earliest member and prints the date range of
    each split.
    """
    from workflow.data.progress import progress
    from workflow.data.render import split_text
    from workflow.data.split import split_file
    from workflow.errors import ConfigError

    if by is None:
        given = [name for name, value in (("--before", before), ("--val-before", val_before),
                                          ("--missing", missing)) if value is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to a time split: add --by FIELD (the timestamp field)")
        with progress(f"splitting {file.name}", _size(file)) as advance:
            result = split_file(file, out, train=train, val=val, test=test, seed=seed, stratify=stratify,
                                threshold=threshold, fmt=fmt, include_system=include_system,
                                include_boilerplate=include_boilerplate, advance=advance)
        if as_json:
            _emit(result)
        else:
            _lines(split_text(result))
        return
    if before is None:
        raise ConfigError("--by needs --before DATE: the cut date (ISO 8601, e.g. 2026-09-01)")
    if stratify is not None:
        raise ConfigError("--stratify does not apply to a time split (--by): the dates decide the splits")
    if (train, val, test) != (80, 10, 10):
        raise ConfigError("--train, --val and --test do not apply to a time split (--by): the cut dates decide "
                          "the sizes (--before, --val-before)")
    _time_split(file, out, by=by, before=before, val_before=val_before, missing=missing, threshold=threshold,
                fmt=fmt, include_system=include_system, include_boilerplate=include_boilerplate, as_json=as_json)


def _time_split(file: Path, out: Path, *, as_json: bool, **options: Any) -> None:
    from workflow.data.progress import progress
    from workflow.data.timesplit import Undated, split_by_time, time_split_text

    shown = 0

    def on_undated(item: Undated) -> None:
        nonlocal shown
        shown += 1
        if shown <= 20:
            typer.echo(f"{file}:{item.line}: no usable {options['by']}: {item.text()}", err=True)

    try:
        with progress(f"splitting {file.name}", _size(file)) as advance:
            result = split_by_time(file, out, on_undated=on_undated, advance=advance, **options)
    finally:
        if shown > 20:
            typer.echo(f"... and {shown - 20:,} more lines without a usable {options['by']}", err=True)
    if as_json:
        _emit(result)
    else:
        _lines(time_split_text(result))


@app.command()
def contamination(
    train_file: Annotated[Path, typer.Argument(metavar="TRAIN", help="Training JSONL (streamed).")],
    eval_file: Annotated[Path, typer.Argument(metavar="EVAL", help="Evaluation JSONL (held in memory).")],
    ngram: Annotated[int, typer.Option("--ngram", help="Words per n-gram.")] = 13,
    max_ratio: Annotated[float, typer.Option("--max-ratio", help="Exit 1 when the share of contaminated "
                                             "eval items is above this.")] = 0.0,
    min_overlap: Annotated[float, typer.Option("--min-overlap", help="Share of an item's n-grams that must "
                                               "occur in train for it to count (default: any).")] = 0.0,
    fmt: FormatOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """N-gram overlap between training and eval files; exit code 1 above --max-ratio.

    Lists the contaminated eval items. The training file is streamed; the eval file is held in memory.
    """
    from workflow.data.contamination import contamination as run
    from workflow.data.progress import progress
    from workflow.data.render import contamination_text

    with progress(f"scanning {train_file.name}", _size(train_file)) as advance:
        result = run(train_file, eval_file, ngram=ngram, max_ratio=max_ratio, min_overlap=min_overlap, fmt=fmt,
                     advance=advance)
    if as_json:
        _emit(result)
    else:
        _lines(contamination_text(result))
    if not result["passed"]:
        raise typer.Exit(1)


@app.command()
def sample(
    file: File,
    n: Annotated[int, typer.Option("--n", help="How many lines.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same sample.")] = 0,
    stratify: Annotated[str | None, typer.Option("--stratify", help="Sample each class of this field in "
                                                 "proportion (dotted path).")] = None,
    as_json: JsonOption = False,
) -> None:
    """A seeded (optionally stratified) random sample for human review.

    Written in file order. Holds only the sampled lines in memory.
    """
    from workflow.data.progress import progress
    from workflow.data.sample import sample_file

    with progress(f"sampling {file.name}", _size(file)) as advance:
        result = sample_file(file, out, n=n, seed=seed, stratify=stratify, advance=advance)
    if as_json:
        _emit(result)
    else:
        typer.echo(f"sampled {result['sampled']:,} of {result['population']:,} lines (seed {seed}) -> {out}")
