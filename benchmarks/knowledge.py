"""Knowledge server: retrieval quality, stdio round-trip latency, and index build time.

1. Quality: each question of the two labelled sets goes to `search_knowledge`, once with
   BM25 alone and once with hybrid retrieval (BM25 + the dense extra's all-MiniLM-L6-v2,
   fused by reciprocal rank; skipped when the extra is not installed). Prints hit@3 (a
   labelled entry in the top three; goal >= 0.92), MRR@10, how many questions outside the
   base got the honest empty answer, and the p50 time of one search in process.
   - benchmarks/knowledge_questions.yaml: the original 68 questions (used while tuning);
   - benchmarks/knowledge_heldout.yaml: 141 answerable + 6 unanswerable questions over all
     12 steps, written before the issue-17 changes and not used to tune weights;
   - benchmarks/knowledge_fresh.yaml: 32 + 2 more, written after those changes were
     committed (the alias table was grown after the held-out set was written).
   BM25 runs through the real stdio server; hybrid in process (the same tool code).
2. Latency: on the same server and session, p50 round trip of `search_knowledge`
   (limit 10, full entries) as a ratio to the no-op `ping` tool, the baseline measured
   in the same run (goal <= 3x). Calls alternate so both see the same machine load.
3. Build: time to build the index from the shipped base alone (the baseline), then from
   the base plus 10,000 ingested chunks of generated notes, and the time to reopen that
   index from its disk cache.

    python benchmarks/knowledge.py [--calls 300] [--chunks 10000] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import yaml

from workflow.knowledge import dense
from workflow.knowledge.client import InProcessKnowledgeClient, McpKnowledgeClient, server_command
from workflow.knowledge.index import build_index, open_index
from workflow.knowledge.ingest import CHUNK_CHARS, ingest_folder
from workflow.knowledge.tools import KnowledgeTools
from workflow.resources import knowledge_dir

QUESTIONS = Path(__file__).with_name("knowledge_questions.yaml")
HELDOUT = Path(__file__).with_name("knowledge_heldout.yaml")
FRESH = Path(__file__).with_name("knowledge_fresh.yaml")


class _Searcher(Protocol):
    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]: ...


def quality(client: _Searcher, known: set[str], path: Path, label: str) -> dict[str, float]:
    questions = yaml.safe_load(path.read_text(encoding="utf-8"))
    hits, reciprocal, misses, answerable, honest, outside = 0, 0.0, [], 0, 0, 0
    times: list[float] = []
    for item in questions:
        unknown = set(item["answers"]) - known
        if unknown:
            raise SystemExit(f"{path}: '{item['question']}' lists unknown ids {sorted(unknown)}")
        start = time.perf_counter()
        ranked = [r["id"] for r in client.call("search_knowledge", {"query": item["question"], "limit": 10})["results"]]
        times.append((time.perf_counter() - start) * 1000)
        if not item["answers"]:
            outside += 1
            honest += not ranked
            if ranked:
                misses.append(f"  answered an outside question with {ranked[:3]}: {item['question']}")
            continue
        answerable += 1
        rank = next((n for n, doc_id in enumerate(ranked, start=1) if doc_id in item["answers"]), None)
        hits += rank is not None and rank <= 3
        reciprocal += 1 / rank if rank else 0.0
        if rank is None or rank > 3:
            misses.append(f"  rank {rank or '>10'}: {item['question']}")
    figures = {"questions": answerable, "hit_at_3": hits / answerable, "mrr": reciprocal / answerable,
               "no_answer_honest": honest, "outside": outside, "p50_ms": statistics.median(times)}
    print(f"quality [{label}] {path.name}: {answerable} questions, hit@3 {figures['hit_at_3']:.3f} (goal >= 0.92), "
          f"MRR@10 {figures['mrr']:.3f}, no-answer {honest}/{outside}, p50 {figures['p50_ms']:.1f} ms a search")
    if misses:
        print("\n".join(misses))
    return figures


def latency(client: McpKnowledgeClient, calls: int) -> dict[str, float]:
    queries = [item["question"] for item in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))]
    search_ms: list[float] = []
    ping_ms: list[float] = []
    for n in range(calls + 20):  # the first 20 of each warm caches and are not counted
        start = time.perf_counter()
        client.call("ping", {})
        middle = time.perf_counter()
        client.call("search_knowledge", {"query": queries[n % len(queries)], "limit": 10})
        end = time.perf_counter()
        if n >= 20:
            ping_ms.append((middle - start) * 1000)
            search_ms.append((end - middle) * 1000)
    ping_p50, search_p50 = statistics.median(ping_ms), statistics.median(search_ms)
    print(f"latency: stdio p50 search_knowledge {search_p50:.2f} ms, ping {ping_p50:.2f} ms, "
          f"ratio {search_p50 / ping_p50:.2f}x (goal <= 3x; {calls} calls each)")
    return {"search_p50_ms": search_p50, "ping_p50_ms": ping_p50, "ratio": search_p50 / ping_p50}


def write_notes(folder: Path, chunks: int) -> None:
    """Markdown files of generated prose, one section per intended chunk (seeded, so reproducible)."""
    rng = random.Random(7)
    vocabulary = [f"term{n}" for n in range(3000)] + "the a model data retrieval latency gpu team".split()
    per_file = 10
    for file_number in range(chunks // per_file):
        sections = []
        for section in range(per_file):
            words = " ".join(rng.choice(vocabulary) for _ in range(140))
            sections.append(f"## Section {section}\n\n{words[: CHUNK_CHARS - 50]}\n")
        path = folder / f"area{file_number % 20}" / f"note{file_number}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Note {file_number}\n\n" + "\n".join(sections), encoding="utf-8")


def build(work: Path, chunks: int) -> dict[str, float]:
    start = time.perf_counter()
    base = build_index(knowledge_dir())
    base_s = time.perf_counter() - start
    notes, store = work / "notes", work / "ingested"
    write_notes(notes, chunks)
    start = time.perf_counter()
    report = ingest_folder(notes, store)
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    full = open_index(knowledge_dir(), store, work / "cache")  # cold: builds and writes the cache
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    open_index(knowledge_dir(), store, work / "cache")
    cached_s = time.perf_counter() - start
    print(f"build: shipped base ({len(base.docs)} entries) {base_s:.2f} s; base + {report.chunks} ingested chunks "
          f"{full_s:.2f} s ({full_s / base_s:.1f}x the base, {len(full.docs)} documents, cache written); "
          f"chunking the notes {ingest_s:.2f} s; reopening from the cache {cached_s:.2f} s")
    return {"base_entries": len(base.docs), "base_build_s": base_s, "chunks": report.chunks,
            "ingest_s": ingest_s, "full_build_s": full_s, "cached_open_s": cached_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="timed calls of each tool")
    parser.add_argument("--chunks", type=int, default=10_000, help="ingested chunks for the build test")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, CAIRN_CACHE_DIR=str(work / "server-cache"), CAIRN_OUTPUT=str(work / "output"),
                   CAIRN_KNOWLEDGE_RETRIEVAL="bm25")
        known = {doc.id for doc in build_index(knowledge_dir()).docs}
        print(f"python {sys.version.split()[0]}, shipped base {knowledge_dir()}")
        results: dict[str, Any] = {}
        with McpKnowledgeClient(command=server_command(), env=env, timeout_s=30) as client:
            for path in (QUESTIONS, HELDOUT, FRESH):
                results[f"bm25 {path.stem}"] = quality(client, known, path, "bm25")
            results["latency"] = latency(client, opts.calls)
        if dense.installed():
            os.environ["CAIRN_KNOWLEDGE_RETRIEVAL"] = "hybrid"
            start = time.perf_counter()
            hybrid = InProcessKnowledgeClient(KnowledgeTools(open_index(knowledge_dir(), None, work / "dense-cache")))
            print(f"hybrid: model loaded and {len(known)} entries encoded in {time.perf_counter() - start:.1f} s "
                  "(cached for the next start)")
            for path in (QUESTIONS, HELDOUT, FRESH):
                results[f"hybrid {path.stem}"] = quality(hybrid, known, path, "hybrid")
            os.environ["CAIRN_KNOWLEDGE_RETRIEVAL"] = "bm25"
        else:
            print(f"hybrid: skipped, the dense extra is not installed ({dense.INSTALL_HINT})")
        results["build"] = build(work, opts.chunks)
    if opts.json:
        opts.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
