"""Throughput of `cairn eval run --concurrency K` against a target that sleeps a fixed time.

The ideal duration is cases x repeats x sleep / K; the script prints measured / ideal
(goal: <= 1.2x) for a Python callable target and for a shell command target, plus the
serial (--concurrency 1) run of the callable as the baseline measured in the same run.
The duration is the run phase recorded in summary.json (`duration_s`); process start-up
and writing the plot are reported separately as wall time.

    python benchmarks/eval_run.py [--cases 40] [--repeat 3] [--sleep 0.1] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cairn(args: list[str], cwd: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "workflow", "--output", str(cwd / "output"), *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8")
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"cairn {' '.join(args)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.1, help="seconds each call sleeps")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-serial", action="store_true", help="do not measure the --concurrency 1 baseline")
    opts = parser.parse_args()

    calls = opts.cases * opts.repeat
    ideal = calls * opts.sleep / opts.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "sleeper.py").write_text(
            f"import time\n\ndef call(x):\n    time.sleep({opts.sleep!r})\n    return x\n", encoding="utf-8")
        (work / "cases.jsonl").write_text(
            "".join(json.dumps({"id": f"c{i}", "input": i, "expected": i}) + "\n" for i in range(opts.cases)),
            encoding="utf-8")
        common = ["eval", "run", "--cases", "cases.jsonl", "--repeat", str(opts.repeat), "--no-cache", "--json"]
        targets = {
            "callable sleeper:call": "sleeper:call",
            f"command 'sleep {opts.sleep:g}'": f"sleep {opts.sleep:g} && echo 1",
        }
        print(f"{opts.cases} cases x {opts.repeat} repeats, target sleeps {opts.sleep:g}s, "
              f"concurrency {opts.concurrency}: ideal {ideal:.2f}s")
        for n, (label, target) in enumerate(targets.items()):
            summary, wall = _cairn([*common, "--target", target, "--concurrency", str(opts.concurrency),
                                    "-o", f"run-{n}"], work)
            run = summary["duration_s"]
            print(f"  {label:<28} run {run:6.2f}s  ratio to ideal {run / ideal:5.2f}x  "
                  f"(wall incl. start-up and plot {wall:5.2f}s, {calls / run:6.1f} calls/s)")
        if not opts.skip_serial:
            summary, _ = _cairn([*common, "--target", "sleeper:call", "--concurrency", "1", "-o", "run-serial"],
                                work)
            serial = summary["duration_s"]
            print(f"  baseline --concurrency 1      run {serial:6.2f}s  ratio to ideal {serial / ideal:5.2f}x  "
                  f"(serial ideal {calls * opts.sleep:.2f}s)")


if __name__ == "__main__":
    main()
