"""Workflow MCP server: tool latency over stdio, as ratios to a no-op tool on the same server.

Starts `cairn mcp serve` as a subprocess (shipped pack, knowledge server off so its latency does
not blur the engine's) and drives it with the MCP client over one stdio session:

1. `current_step` on a project waiting at step 1's first question: p50 round trip as a ratio to
   the no-op `ping` tool, calls alternating so both see the same machine load.
2. `submit_answers` (every step-1 answer of examples/answers-rag-only.yaml) then `choose C`, which
   completes step 1 (documents, decision log, sidecar) and enters step 2a: p50 of the pair, each
   pair on its own fresh project, as a ratio to the p50 of two pings (the same two round trips).

Every project is opened once before measuring (loading a pack and compiling the session graph
is a once-per-server cost, reported separately).

    python benchmarks/mcp_server.py [--calls 200] [--pairs 30] [--json results.json]

With --load (and --own/--shared/--steps) it also runs the HTTP load test of benchmarks/mcp_load.py:
concurrent clients on their own projects and on one shared project, throughput, p50/p99 per tool,
then an integrity check (no corruption, no stuck lock). With --tokens it measures the
`current_step` tokens of a whole shipped-pack project, full views against compact ones.
With --skip-stdio only those run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import yaml
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "answers-rag-only.yaml"


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    elapsed = (time.perf_counter() - start) * 1000
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content}")
    return elapsed, result.structured_content or {}


async def measure(work: Path, calls: int, pairs: int) -> dict[str, float]:
    config = work / "config.yaml"
    config.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    command = [sys.executable, "-m", "workflow", "--output", str(work / "output"), "--config", str(config),
               "mcp", "serve"]
    answers = {k: v for k, v in yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["1"].items() if k != "menu"}
    with (work / "server.err").open("w", encoding="utf-8") as errlog:
        params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ), cwd=work)
        async with Client(stdio_client(params, errlog=errlog)) as client:
            names = [f"p{n:03d}" for n in range(pairs + 1)]
            opened = []
            for name in names:
                await call(client, "create_project", {"name": name, "user_name": "bench"})
                opened.append((await call(client, "current_step", {"project": name}))[0])
            for _ in range(20):  # warm both paths
                await call(client, "ping", {})
                await call(client, "current_step", {"project": names[0]})

            ping_ms, view_ms = [], []
            for _ in range(calls):
                ping_ms.append((await call(client, "ping", {}))[0])
                view_ms.append((await call(client, "current_step", {"project": names[0]}))[0])

            pair_ms, two_pings_ms = [], []
            for name in names[1:]:
                two_pings_ms.append((await call(client, "ping", {}))[0] + (await call(client, "ping", {}))[0])
                submit, submitted = await call(client, "submit_answers", {"project": name, "answers": answers})
                choose, chosen = await call(client, "choose", {"project": name, "option": "C"})
                if submitted["errors"] or not chosen["advanced"]:
                    raise SystemExit(f"step 1 did not complete: {submitted['errors']} {chosen}")
                pair_ms.append(submit + choose)

    ping, view = statistics.median(ping_ms), statistics.median(view_ms)
    two_pings, pair = statistics.median(two_pings_ms), statistics.median(pair_ms)
    first_open = statistics.median(opened)
    print(f"stdio p50: ping {ping:.2f} ms, current_step {view:.2f} ms -> ratio {view / ping:.1f}x ({calls} calls each)")
    print(f"stdio p50: submit_answers+choose C (completes step 1) {pair:.1f} ms, two pings {two_pings:.2f} ms "
          f"-> ratio {pair / two_pings:.1f}x ({pairs} projects)")
    print(f"first current_step of a project (opens its session, enters step 1): p50 {first_open:.0f} ms")
    return {"ping_p50_ms": ping, "current_step_p50_ms": view, "current_step_ratio": view / ping,
            "two_pings_p50_ms": two_pings, "submit_choose_p50_ms": pair, "submit_choose_ratio": pair / two_pings,
            "first_open_p50_ms": first_open, "calls": calls, "pairs": pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    parser.add_argument("--load", action="store_true", help="Run the concurrent HTTP load test too.")
    parser.add_argument("--own", type=int, default=6, help="Load: clients each on their own project.")
    parser.add_argument("--shared", type=int, default=4, help="Load: clients racing on one shared project.")
    parser.add_argument("--steps", type=int, default=4, help="Load: steps each client drives.")
    parser.add_argument("--tokens", action="store_true", help="Measure current_step tokens, full vs compact.")
    parser.add_argument("--skip-stdio", action="store_true", help="Only the --load/--tokens figures.")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cairn-mcp-bench-") as tmp:
        if not args.skip_stdio:
            figures = anyio.run(measure, Path(tmp), args.calls, args.pairs)
        if args.load or args.tokens:
            figures.update(http_figures(Path(tmp), args))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def http_figures(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mcp_load import load, start_http, tokens  # noqa: E402 - beside this script

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    port = _free_port()
    (work / "http").mkdir()
    process = start_http(work / "http", port)
    url = f"http://127.0.0.1:{port}/mcp"
    figures: dict[str, Any] = {}
    try:
        if args.load:
            result = anyio.run(load, url, work / "http" / "output", args.own, args.shared, args.steps)
            figures["load"] = result
            print(f"HTTP load: {args.own} clients on their own projects + {args.shared} on one shared project, "
                  f"{result['calls']} calls in {result['wall_s']:.1f} s -> {result['throughput_calls_per_s']:.1f} "
                  "calls/s")
            for tool, row in result["per_tool"].items():
                print(f"  {tool:15} {row['calls']:5} calls  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
                      f"  p50/ping {row['p50_ratio_to_ping']:5.1f}x")
            print(f"  stale calls refused: {result['refused_stale']}; steps completed: {result['steps_completed']}")
            print(f"  integrity: {result['integrity']}")
        if args.tokens:
            result = anyio.run(tokens, url)
            figures["tokens"] = result
            print(f"current_step tokens per project ({result['full']['steps']} steps): full "
                  f"{result['full']['tokens']:,}, compact {result['compact']['tokens']:,} -> ratio "
                  f"{result['ratio_compact_to_full']:.2f}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    return figures


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
