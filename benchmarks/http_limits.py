"""What the HTTP request limits cost, and what slow clients cost with them.

The knowledge MCP server (tests/knowledge/fixtures/base) is served over HTTP in this process three
ways: as before the limits (plain uvicorn), with `workflow.knowledge.limits` (413/408, header
deadline), and with the limits while SLOW sockets trickle their headers in and STALLED ones stop
mid-body. CLIENTS threads each send REQUESTS MCP `initialize` POSTs on a keep-alive connection;
reports throughput and p50/p99 latency, and each against the baseline measured in the same run.

    .venv/bin/python benchmarks/http_limits.py [--clients 4] [--requests 200] [--slow 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.net import free_port  # noqa: E402
from workflow.knowledge.index import open_index  # noqa: E402
from workflow.knowledge.limits import HttpLimits, http_server  # noqa: E402
from workflow.knowledge.server import build_server  # noqa: E402
from workflow.knowledge.tools import KnowledgeTools  # noqa: E402

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})


def serve(app: Any, limited: bool) -> tuple[Any, int]:
    import uvicorn

    port = free_port()
    if limited:
        server = http_server(app, "127.0.0.1", port, HttpLimits())
    else:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
    server.config.log_level = "warning"
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, port


def client(port: int, requests: int, latencies: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "Host": f"127.0.0.1:{port}"}
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("POST", "/mcp", BODY, headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        latencies.append(time.perf_counter() - started)
    connection.close()


def measure(port: int, clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    threads = [threading.Thread(target=client, args=(port, requests, latencies)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"rps": len(ordered) / wall, "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))]}


def slow_sockets(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for n in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        if n % 10:
            s.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # headers never finished
        else:
            s.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000\r\n\r\n{{".encode())
        sockets.append(s)
    return sockets


SETUPS = {"before": ("plain uvicorn (before)", False, False), "limits": ("with the limits", True, False),
          "slow": ("with the limits, slow sockets open", True, True)}


def one(setup: str, clients: int, requests: int, slow: int) -> dict[str, float]:
    """One setup measured in this (fresh) process."""
    _, limited, with_slow = SETUPS[setup]
    tools = KnowledgeTools(open_index(REPO / "tests" / "knowledge" / "fixtures" / "base", None,
                                      Path(tempfile.mkdtemp())))
    server, port = serve(build_server(tools).streamable_http_app(host="127.0.0.1"), limited)
    measure(port, 1, 10)  # warm-up
    held = slow_sockets(port, slow if with_slow else 0)
    row = measure(port, clients, requests)
    for s in held:
        s.close()
    server.should_exit = True
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", choices=list(SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.clients, args.requests, args.slow)))
        return
    # Each setup runs in a fresh process (a server left in this one would slow the next), the
    # setups interleaved over the rounds; the median round of each is shown.
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in SETUPS}
    for _ in range(args.rounds):
        for name in SETUPS:
            out = subprocess.run([sys.executable, __file__, "--one", name, "--clients", str(args.clients),
                                  "--requests", str(args.requests), "--slow", str(args.slow)],
                                 capture_output=True, text=True, encoding="utf-8", check=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    rows = {name: sorted(found, key=lambda row: row["rps"])[len(found) // 2] for name, found in runs.items()}
    base = rows["before"]
    print(f"{args.clients} clients x {args.requests} initialize POSTs each, median of {args.rounds} rounds; "
          f"{args.slow} slow sockets in the last row")
    print(f"{'setup':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs before':>10}")
    for name, row in rows.items():
        print(f"{SETUPS[name][0]:<40} {row['rps']:8.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
              f"{row['rps'] / base['rps']:9.2f}x")


if __name__ == "__main__":
    main()
