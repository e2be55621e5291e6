"""Data tools: validate + analyze throughput and memory, near-dedup time and quality.

1. Throughput. A seeded chat JSONL of --mb megabytes is generated. The baseline is the
   standard library alone, `for line in f: json.loads(line)`, timed in the same run,
   interleaved with the measured pass, best of --repeat. The measured pass is `analyze`
   (`analyze_file`), which runs every `validate` check and the whole analysis (tokens, turns,
   duplicates, PII, empty responses) in one pass; `validate` alone is timed too. Ratio =
   measured / baseline; the goal is <= 1.0. Both use every core the process may run on
   (the baseline is single-threaded by nature).
2. Memory. Each streaming command (validate, analyze, convert, sample, contamination) runs in
   a fresh process; the peak RSS of that process and of its largest worker are reported (goal
   < 200 MB each, whatever the size). With --large-mb a second, larger file is generated for
   this check. With --memory-all, dedup and split (one shingle set per example, DESIGN 9)
   are measured on the --mb file too.
3. Near-dedup. --examples chat examples (5% exact copies, 5% near copies) go through
   `dedup_file`; goal < 60 s for 100,000. A sample of the near pairs it reports is checked
   against the exact Jaccard similarity of their shingle sets, and recall is measured on the
   planted near copies.

4. Real data. The `evals` package (OpenAI's eval registry, 663 JSONL files) is fetched with
   `pip download --no-deps` into a cache folder at run time (never committed), and --real-examples
   chat examples are built from its files (the `input` messages plus the `ideal` answer, at most
   --per-file from each file so many templates mix). On that file: the analyze / json.loads
   ratio (goal <= 1.2), and the wall time of `split` and `dedup` (goal < 120 s for 200,000),
   with their near-pair and boilerplate counts.

    python benchmarks/data_tools.py [--mb 200] [--repeat 3] [--large-mb 0] [--examples 100000] [--memory-all]
                                    [--real-examples 200000] [--per-file 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SYLLABLES = ["ka", "to", "ri", "me", "su", "no", "la", "vi", "de", "po", "an", "el", "or", "us", "im", "qu"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    common = ("the a of to and in is for on with that this it as be are by from at or an was can will not your "
              "order refund account shipping invoice policy please thanks help issue update delivery").split()
    rare = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return common * 20 + sorted(rare)


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def generate_chat(path: Path, megabytes: int, seed: int = 0) -> int:
    """A chat JSONL of about `megabytes` MB: a system prompt, 1-3 user/assistant turns of
    100-1,000 characters, a number in some turns, and an email and a phone in 1% of lines."""
    rng = random.Random(seed)
    words = _vocabulary(rng, 3000)
    target = megabytes * 1_000_000
    size = count = 0
    with open(path, "w", encoding="utf-8") as handle:
        while size < target:
            messages = [{"role": "system", "content": "You are a helpful support assistant for Acme."}]
            for _ in range(rng.choice((1, 1, 2, 3))):
                question = " ".join(_sentence(rng, words, rng.randint(6, 20)) for _ in range(rng.randint(1, 3)))
                if rng.random() < 0.15:
                    question += f" My order number is {rng.randint(10000, 99999)}."
                answer = " ".join(_sentence(rng, words, rng.randint(8, 25)) for _ in range(rng.randint(2, 6)))
                messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            if count % 100 == 7:
                messages[1]["content"] += f" Reach me at user{count}@example.com or +1 415 555 {count % 10000:04d}."
            line = json.dumps({"messages": messages}, ensure_ascii=False) + "\n"
            handle.write(line)
            size += len(line)
            count += 1
    return count


def generate_dedup(path: Path, examples: int, seed: int = 1) -> dict[int, int]:
    """Chat examples (~120 words) with 5% exact and 5% near copies (1-3 words changed).
    Returns {line of a near copy: line of its original} (1-based)."""
    rng = random.Random(seed)
    words = _vocabulary(rng, 20000)
    rows: list[str] = []
    originals: list[dict[str, Any]] = []
    near: dict[int, int] = {}
    for _ in range(examples):
        roll = rng.random()
        if originals and roll < 0.05:
            rows.append(rows[rng.randrange(len(rows))])
            continue
        if originals and roll < 0.10:
            index = rng.randrange(len(originals))
            copy = json.loads(json.dumps(originals[index]["row"]))
            answer = copy["messages"][2]["content"].split()
            for _ in range(rng.randint(1, 3)):
                answer[rng.randrange(len(answer))] = rng.choice(words)
            copy["messages"][2]["content"] = " ".join(answer)
            rows.append(json.dumps(copy))
            near[len(rows)] = originals[index]["line"]
            continue
        row = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                            {"role": "user", "content": _sentence(rng, words, rng.randint(10, 30))},
                            {"role": "assistant", "content": " ".join(_sentence(rng, words, rng.randint(8, 20))
                                                                      for _ in range(rng.randint(4, 8)))}]}
        rows.append(json.dumps(row))
        originals.append({"row": row, "line": len(rows)})
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return near


EVALS = "evals==3.0.1.post1"


def evals_wheel(cache: Path) -> Path:
    """The `evals` wheel, downloaded once into `cache` with pip (PyPI is the only network use)."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("evals-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), EVALS],
                       check=True)
        found = sorted(cache.glob("evals-*.whl"))
    return found[-1]


def _chat_of(row: Any) -> dict[str, Any] | None:
    """{"messages": input + ideal answer} for one eval sample, or None when it is not chat-shaped."""
    if not isinstance(row, dict) or not isinstance(row.get("input"), list):
        return None
    ideal = row.get("ideal")
    ideal = ideal[0] if isinstance(ideal, list) and ideal else ideal
    if not isinstance(ideal, str):
        return None
    messages = [{"role": m["role"], "content": m["content"]} for m in row["input"]
                if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                and isinstance(m.get("content"), str)]
    if not messages or messages[-1]["role"] == "assistant":
        return None
    return {"messages": [*messages, {"role": "assistant", "content": ideal}]}


def build_real(path: Path, wheel: Path, examples: int, per_file: int) -> dict[str, int]:
    """Write up to `examples` chat examples built from the eval files inside the wheel."""
    import zipfile

    written = files = 0
    with zipfile.ZipFile(wheel) as archive, open(path, "w", encoding="utf-8") as out:
        names = sorted(n for n in archive.namelist() if n.startswith("evals/registry/data/") and n.endswith(".jsonl"))
        for name in names:
            if written >= examples:
                break
            taken = 0
            with archive.open(name) as handle:
                for raw in handle:
                    if taken >= per_file or written >= examples:
                        break
                    try:
                        chat = _chat_of(json.loads(raw))
                    except ValueError:
                        continue
                    if chat is not None:
                        out.write(json.dumps(chat, ensure_ascii=False) + "\n")
                        taken += 1
                        written += 1
            files += taken > 0
    return {"examples": written, "files": files}


def real_data(work: Path, cache: Path, examples: int, per_file: int, repeat: int) -> dict[str, Any]:
    """Throughput ratio, split and dedup on examples built from the `evals` package."""
    from workflow.data.analyze import analyze_file
    from workflow.data.dedup import dedup_file
    from workflow.data.split import split_file

    path = work / "real.jsonl"
    built = build_real(path, evals_wheel(cache), examples, per_file)
    size_mb = path.stat().st_size / 1e6
    base: list[float] = []
    analyze: list[float] = []
    for _ in range(repeat):  # interleaved, so a burst of load hits both sides alike
        base.append(timed(lambda: baseline(path))[0])
        analyze.append(timed(lambda: analyze_file(path, "messages"))[0])
    pii = analyze_file(path, "messages")[0]["pii"]
    split_s, split = _once(lambda: split_file(path, work / "real-split", fmt="messages"))
    dedup_s, dedup = _once(lambda: dedup_file(path, work / "real-dedup.jsonl", fmt="messages"))
    return {
        **built, "file_mb": round(size_mb, 1), "baseline_s": round(min(base), 2), "analyze_s": round(min(analyze), 2),
        "ratio_analyze": round(min(analyze) / min(base), 2),
        "ratio_analyze_median": round(sorted(analyze)[len(analyze) // 2] / sorted(base)[len(base) // 2], 2),
        "pii_counts": pii["counts"], "split_s": round(split_s, 1),
        "split_near_pairs": split["near_pairs"], "split_groups": split["duplicate_groups"],
        "split_boilerplate_examples": (split["boilerplate"] or {}).get("examples", 0),
        "dedup_s": round(dedup_s, 1), "dedup_removed": dedup["removed"],
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def _once(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def baseline(path: Path) -> None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)


def _cpu() -> float:
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished workers)."""
    cpu, start = _cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - start, _cpu() - cpu


_MEMORY_PROBE = """
import json, resource, sys, tempfile
from pathlib import Path
command, path = sys.argv[1], Path(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp)
    if command == "validate":
        from workflow.data.validate import validate_file
        validate_file(path, "messages")
    elif command == "analyze":
        from workflow.data.analyze import analyze_file
        analyze_file(path, "messages")
    elif command == "convert":
        from workflow.data.convert import convert_file
        convert_file(path, out / "c.jsonl", "messages", "sharegpt")
    elif command == "sample":
        from workflow.data.sample import sample_file
        sample_file(path, out / "s.jsonl", n=1000, seed=1)
    elif command == "contamination":
        from workflow.data.contamination import contamination
        with open(path, encoding="utf-8") as handle:
            (out / "eval.jsonl").write_text("".join(next(handle) for _ in range(500)), encoding="utf-8")
        contamination(path, out / "eval.jsonl")
    elif command == "dedup":
        from workflow.data.dedup import dedup_file
        dedup_file(path, out / "d.jsonl", fmt="messages")
    elif command == "split":
        from workflow.data.split import split_file
        split_file(path, out / "split", fmt="messages")
print(json.dumps({"self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
# Streaming commands (bounded memory whatever the size) and the two that keep one shingle
# set per example (DESIGN 9), measured on the --mb file.
STREAMING = ("validate", "analyze", "convert", "sample", "contamination")
SIGNATURES = ("dedup", "split")


def peak_memory(command: str, path: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, command, str(path)], capture_output=True,
                          text=True, check=True)
    return {k: round(v, 1) for k, v in json.loads(proc.stdout).items()}


def dedup_quality(path: Path, out: Path, near: dict[int, int], threshold: float, sample: int) -> dict[str, Any]:
    from workflow.data.dedup import dedup_file
    from workflow.data.formats import DatasetFormat
    from workflow.data.shingles import WordHasher, example_text, shingles

    start = time.perf_counter()
    result = dedup_file(path, out, threshold=threshold, fmt="messages")
    seconds = time.perf_counter() - start
    removed = {m["line"]: (c["kept_line"], m["kind"]) for c in result["clusters"] for m in c["removed"]}
    pairs = [(line, kept) for line, (kept, kind) in removed.items() if kind == "near"]
    rng = random.Random(0)
    checked = rng.sample(pairs, min(sample, len(pairs)))
    wanted = {n for pair in [*checked, *near.items()] for n in pair}
    texts: dict[int, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                texts[number] = example_text(json.loads(line), DatasetFormat.MESSAGES)
    hasher = WordHasher()

    def jaccard(a: int, b: int) -> float:
        sa, sb = set(shingles(hasher(texts[a])).tolist()), set(shingles(hasher(texts[b])).tolist())
        return len(sa & sb) / len(sa | sb)

    exact = [jaccard(a, b) for a, b in checked]
    # Recall counts the planted copies that really are near duplicates at this threshold.
    similar = [line for line, original in near.items() if jaccard(line, original) >= threshold]
    found = sum(1 for line in similar if line in removed)
    return {
        "examples": result["examples"], "seconds": round(seconds, 1), "removed": result["removed"],
        "pairs_checked": len(checked),
        "exact_jaccard_min": round(min(exact), 3) if exact else None,
        "exact_jaccard_mean": round(sum(exact) / len(exact), 3) if exact else None,
        "precision_at_threshold_minus_0.05": round(sum(j >= threshold - 0.05 for j in exact) / len(exact), 3)
        if exact else None,
        "planted_near_copies": len(near), "planted_at_or_above_threshold": len(similar),
        "recall_on_planted": round(found / len(similar), 3) if similar else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="size of the generated chat file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-mb", type=int, default=0, help="also check memory on a file this large (MB)")
    parser.add_argument("--examples", type=int, default=100_000, help="examples for the near-dedup run (0: skip)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--memory-all", action="store_true",
                        help="also measure dedup and split (one signature per example) on the --mb file")
    parser.add_argument("--real-examples", type=int, default=200_000,
                        help="chat examples built from the evals package (0: skip the real-data part)")
    parser.add_argument("--per-file", type=int, default=2000, help="at most this many examples per eval file")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cairn" / "benchmarks",
                        help="where the downloaded evals wheel is kept")
    parser.add_argument("--dir", type=Path, default=None, help="where to put generated files (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    opts = parser.parse_args()

    from workflow.data.analyze import analyze_file
    from workflow.data.scan import default_jobs
    from workflow.data.validate import validate_file

    results: dict[str, Any] = {"cores": default_jobs()}
    with tempfile.TemporaryDirectory(dir=opts.dir) as tmp:
        work = Path(tmp)
        chat = work / "chat.jsonl"
        start = time.perf_counter()
        lines = generate_chat(chat, opts.mb)
        size_mb = chat.stat().st_size / 1e6
        print(f"generated {chat.name}: {size_mb:.0f} MB, {lines:,} lines in {time.perf_counter() - start:.0f}s",
              file=sys.stderr)
        runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "analyze": [], "validate": []}
        for _ in range(opts.repeat):
            runs["baseline"].append(timed(lambda: baseline(chat)))
            runs["analyze"].append(timed(lambda: analyze_file(chat, "messages")))
            runs["validate"].append(timed(lambda: validate_file(chat, "messages")))
        wall = {name: min(w for w, _ in r) for name, r in runs.items()}
        cpu = {name: min(c for _, c in r) for name, r in runs.items()}
        median = {name: sorted(w for w, _ in r)[len(r) // 2] for name, r in runs.items()}
        results["throughput"] = {
            "file_mb": round(size_mb), "lines": lines,
            "baseline_s": round(wall["baseline"], 2), "analyze_s": round(wall["analyze"], 2),
            "validate_s": round(wall["validate"], 2),
            "ratio_analyze": round(wall["analyze"] / wall["baseline"], 2),
            "ratio_validate": round(wall["validate"] / wall["baseline"], 2),
            "ratio_analyze_median": round(median["analyze"] / median["baseline"], 2),
            "cpu_ratio_analyze": round(cpu["analyze"] / cpu["baseline"], 2),
            "cpu_ratio_validate": round(cpu["validate"] / cpu["baseline"], 2),
            "baseline_mb_per_s": round(size_mb / wall["baseline"]),
            "analyze_mb_per_s": round(size_mb / wall["analyze"]),
            "load_average": [round(x, 1) for x in os.getloadavg()],
        }
        memory = {f"{command} {size_mb:.0f} MB": peak_memory(command, chat)
                  for command in (*STREAMING, *(SIGNATURES if opts.memory_all else ()))}
        chat.unlink()
        if opts.large_mb:
            large = work / "large.jsonl"
            generate_chat(large, opts.large_mb, seed=1)
            large_mb = large.stat().st_size / 1e6
            for command in STREAMING:
                memory[f"{command} {large_mb:.0f} MB"] = peak_memory(command, large)
            large.unlink()
        results["peak_memory_mb"] = memory
        if opts.examples:
            corpus = work / "dedup.jsonl"
            near = generate_dedup(corpus, opts.examples)
            results["near_dedup"] = dedup_quality(corpus, work / "dedup-out.jsonl", near, opts.threshold, 300)
        if opts.real_examples:
            results["real_data"] = real_data(work, opts.cache, opts.real_examples, opts.per_file, opts.repeat)
    if opts.json:
        print(json.dumps(results, indent=2))
        return
    t = results["throughput"]
    print(f"cores: {results['cores']}")
    print(f"validate + analyze (one pass) on {t['file_mb']} MB / {t['lines']:,} lines: {t['analyze_s']}s "
          f"vs json.loads loop {t['baseline_s']}s -> ratio {t['ratio_analyze']} (median {t['ratio_analyze_median']}; "
          f"goal <= 1.0)")
    print(f"validate alone: {t['validate_s']}s -> ratio {t['ratio_validate']}")
    print(f"CPU seconds (all processes) / baseline CPU seconds: analyze {t['cpu_ratio_analyze']}, validate "
          f"{t['cpu_ratio_validate']}; load average during the run {t['load_average']}")
    for name, m in results["peak_memory_mb"].items():
        goal = "one signature per example" if name.split()[0] in SIGNATURES else "goal < 200"
        print(f"peak RSS {name}: process {m['self_mb']} MB, largest worker {m['worker_mb']} MB ({goal})")
    if "near_dedup" in results:
        d = results["near_dedup"]
        print(f"near-dedup {d['examples']:,} examples: {d['seconds']}s (goal < 60); removed {d['removed']}; "
              f"exact Jaccard of {d['pairs_checked']} sampled pairs: min {d['exact_jaccard_min']}, mean "
              f"{d['exact_jaccard_mean']}; recall on planted near copies {d['recall_on_planted']}")
    if "real_data" in results:
        r = results["real_data"]
        print(f"real data ({EVALS}): {r['examples']:,} examples from {r['files']} files, {r['file_mb']} MB")
        print(f"  validate + analyze {r['analyze_s']}s vs json.loads loop {r['baseline_s']}s -> ratio "
              f"{r['ratio_analyze']} (median {r['ratio_analyze_median']}; goal <= 1.2); generated-data ratio above: "
              f"{t['ratio_analyze']}")
        print(f"  PII found: {r['pii_counts']}")
        print(f"  split {r['split_s']}s ({r['split_near_pairs']:,} near pairs, {r['split_groups']:,} groups, "
              f"{r['split_boilerplate_examples']:,} examples with boilerplate); dedup {r['dedup_s']}s, removed "
              f"{r['dedup_removed']} (goal < 120 s each); load average {r['load_average']}")


if __name__ == "__main__":
    main()
