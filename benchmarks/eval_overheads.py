"""What the evaluation's honesty costs: hashing the target's whole project tree for the cache
key, and the exact / permutation p-values of `cairn eval compare`.

- fingerprint: compute_fingerprint over a project tree (default: this repository, skipping
  .venv, .git, caches and run folders) against the baseline of reading the same files'
  bytes in the same run (the least any content hash must do).
- compare: compare_records on N cases x 3 repetitions (pass/fail, latency, tokens), against
  the baseline of the percentile bootstrap alone, 10,000 resamples per metric (what the
  comparison computed before the exact sign-flip and repetition-level tests).

    python benchmarks/eval_overheads.py [--tree PATH] [--cases 20 200 2000]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from workflow.evaluation import fingerprint as fp
from workflow.evaluation.comparison import compare_records
from workflow.evaluation.records import CheckRecord, Record, per_case_metrics


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _records(seed: int, n: int) -> list[Record]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        for r in range(3):
            ok = rng.random() < 0.7
            out.append(Record(case_id=f"c{i}", repeat=r, output="x", latency_ms=rng.gauss(200, 30),
                              usage={"input_tokens": 50 + i % 7, "output_tokens": rng.randint(5, 15)},
                              checks=[CheckRecord(type="contains", passed=ok)], passed=ok))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--cases", type=int, nargs="+", default=[20, 200, 2000])
    opts = parser.parse_args()

    files = list(fp._walk(opts.tree.resolve(), set()))
    size = sum(p.stat().st_size for p in files)
    hashed = _best(lambda: fp.compute_fingerprint("t", [opts.tree], extra_paths=[], env_names=[]))
    read = _best(lambda: [p.read_bytes() for p in files])
    print(f"fingerprint of {opts.tree} ({len(files)} files, {size / 1e6:.1f} MB): {hashed * 1000:.0f} ms; "
          f"reading the same files {read * 1000:.0f} ms; ratio {hashed / read:.2f}x")

    for n in opts.cases:
        a, b = _records(1, n), _records(2, n)
        full = _best(lambda a=a, b=b: compare_records(a, b), repeats=1)
        ma, mb = per_case_metrics(a), per_case_metrics(b)

        def bootstrap_only(ma=ma, mb=mb) -> None:
            import numpy as np

            rng = np.random.default_rng(0)
            for name in ma:
                cases = sorted(ma[name])
                diffs = np.array([mb[name][c] - ma[name][c] for c in cases])
                chunk = max(1, 2_000_000 // len(diffs))
                for start in range(0, 10_000, chunk):
                    idx = rng.integers(0, len(diffs), size=(min(10_000, start + chunk) - start, len(diffs)))
                    np.quantile(diffs[idx].mean(axis=1), [0.025, 0.975])

        base = _best(bootstrap_only, repeats=1)
        print(f"compare {n} cases x 3: {full * 1000:.0f} ms; bootstrap alone {base * 1000:.0f} ms; "
              f"ratio {full / base:.2f}x")


if __name__ == "__main__":
    main()
