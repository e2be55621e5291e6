"""Load and token figures for the workflow MCP server, used by benchmarks/mcp_server.py.

Load: `cairn mcp serve --http` as a subprocess with a bearer token; OWN clients each drive their
own project (shipped pack, examples/answers-hybrid.yaml) step after step, while SHARED clients
race on one shared project, each sending the answers and a Continue for the step it last saw
(`step`/`visit`, so a stale Continue is refused instead of completing the next step). Reports
throughput, p50/p99 per tool, and checks afterwards that nothing is corrupt (every sidecar reads,
no decision logged twice for one visit, each completed step once in stepsCompleted, no temp file
left) and no lock is stuck (each project's lock can be taken at once).

Tokens: one client drives two projects through the whole shipped pack the same way, calling
`current_step` before and after each step's answers; one project always asks for the full view,
the other for the full view on entering a step and `detail="brief"` afterwards. Tokens are
counted as the engine counts prompt tokens (about 4 characters a token)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "answers-hybrid.yaml"
TOKEN = "bench-token"


def step_answers() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return {str(k): {f: v for f, v in (v or {}).items() if f not in ("menu", "notes", "stories", "skip")}
            for k, v in raw.items() if isinstance(v, dict)}


class Recorder:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.refused: dict[str, int] = defaultdict(int)

    async def call(self, client: Any, tool: str, arguments: dict[str, Any], *,
                   may_refuse: bool = False) -> dict[str, Any] | None:
        start = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        self.ms[tool].append((time.perf_counter() - start) * 1000)
        if result.is_error:
            text = " ".join(getattr(b, "text", "") for b in result.content)
            if may_refuse:
                self.refused[tool] += 1
                return None
            raise SystemExit(f"{tool} {arguments.get('project')}: {text}")
        return result.structured_content or {}


async def drive_step(rec: Recorder, client: Any, project: str, answers: dict[str, dict[str, Any]], *,
                     brief: bool = False, may_refuse: bool = False) -> tuple[str | None, int]:
    """One step as an assistant drives it: view, answer, view, Continue. Returns (the step now in
    progress, tokens of the current_step results)."""
    from workflow.llm.prompting import count_tokens

    tokens = 0
    view = await rec.call(client, "current_step", {"project": project}, may_refuse=may_refuse)
    if view is None or view["kind"] == "done":
        return None, 0
    tokens += count_tokens(_text(view))
    step, visit = view["step"]["id"], view["visit"]
    fields = view["form"]["schema"]
    values = {k: v for k, v in (answers.get(step) or {}).items() if k in fields}
    await rec.call(client, "submit_answers", {"project": project, "answers": values, "step": step, "visit": visit},
                   may_refuse=may_refuse)
    again = await rec.call(client, "current_step", {"project": project, "detail": "brief" if brief else "full"},
                           may_refuse=may_refuse)
    if again is not None:
        tokens += count_tokens(_text(again))
    chosen = await rec.call(client, "choose", {"project": project, "option": "C", "step": step, "visit": visit},
                            may_refuse=may_refuse)
    if chosen is None:
        return step, tokens
    confirms = [m.split()[1].rstrip(":") for m in chosen["missing"] if m.startswith("confirm ")]
    if not chosen["advanced"] and confirms and len(confirms) == len(chosen["missing"]):
        # Checks the user may acknowledge with a reason (the example data is a small sample).
        chosen = await rec.call(client, "choose", {"project": project, "option": "C", "step": step, "visit": visit,
                                                   "acknowledge": {c: "benchmark run on the example sample"
                                                                   for c in confirms}}, may_refuse=may_refuse)
        if chosen is None:
            return step, tokens
    if not chosen["advanced"] and not may_refuse:
        raise SystemExit(f"{project} step {step} did not complete: {chosen['missing']}")
    return chosen["step"], tokens


def _text(view: dict[str, Any]) -> str:
    import json

    return json.dumps(view, ensure_ascii=False, separators=(",", ":"))


async def _connect(url: str) -> Any:
    import httpx2
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300)
    return http, Client(streamable_http_client(url, http_client=http))


async def load(url: str, output: Path, own: int, shared: int, steps: int) -> dict[str, Any]:
    answers = step_answers()
    rec = Recorder()
    http, admin = await _connect(url)
    async with http, admin as client:
        for n in range(own):
            await rec.call(client, "create_project", {"name": f"own{n}", "user_name": "bench"})
        await rec.call(client, "create_project", {"name": "shared", "user_name": "bench"})
    completed = {"own": 0, "shared": 0}

    async def own_client(n: int) -> None:
        http, connected = await _connect(url)
        async with http, connected as client:
            for _ in range(steps):
                await rec.call(client, "ping", {})  # the baseline, under the same load
                now, _ = await drive_step(rec, client, f"own{n}", answers, brief=True)
                completed["own"] += 1
                await rec.call(client, "progress", {"project": f"own{n}"})
                if now is None:
                    break

    async def shared_client() -> None:
        http, connected = await _connect(url)
        async with http, connected as client:
            for _ in range(steps):
                await rec.call(client, "ping", {})
                await drive_step(rec, client, "shared", answers, brief=True, may_refuse=True)
                await rec.call(client, "progress", {"project": "shared"})

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for n in range(own):
            group.start_soon(own_client, n)
        for _ in range(shared):
            group.start_soon(shared_client)
    wall = time.perf_counter() - started
    from workflow.store import read_sidecar

    completed["shared"] = len(read_sidecar(output / "shared").get("stepsCompleted") or [])
    calls = sum(len(v) for v in rec.ms.values())
    return {"wall_s": wall, "calls": calls, "throughput_calls_per_s": calls / wall,
            "per_tool": {tool: {"calls": len(ms), "p50_ms": statistics.median(ms), "p99_ms": _quantile(ms, 0.99),
                                "p50_ratio_to_ping": statistics.median(ms) / statistics.median(rec.ms["ping"])}
                         for tool, ms in sorted(rec.ms.items())},
            "refused_stale": dict(rec.refused), "steps_completed": completed,
            "integrity": integrity(output)}


def integrity(output: Path) -> dict[str, Any]:
    """Problems found in the projects after the run (all counts should be 0)."""
    from workflow.errors import LockedError
    from workflow.store import DECISION_LOG, logged_decisions, project_lock, read_sidecar

    found: dict[str, list[str]] = {"unreadable": [], "duplicate_log_entries": [], "duplicate_steps": [],
                                   "temp_files": [], "stuck_locks": []}
    for folder in sorted(p for p in output.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            sidecar = read_sidecar(folder)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure
            found["unreadable"].append(f"{folder.name}: {exc}")
            continue
        text = (folder / DECISION_LOG).read_text(encoding="utf-8")
        markers = [line for line in text.splitlines() if line.startswith("<!-- cairn:decision ")]
        if len(markers) != len(logged_decisions(text)):
            found["duplicate_log_entries"].append(folder.name)
        done = sidecar.get("stepsCompleted") or []
        if len(done) != len(set(done)):
            found["duplicate_steps"].append(folder.name)
        found["temp_files"] += [str(p) for p in folder.rglob("*.tmp")]
        try:
            with project_lock(folder, purpose="benchmark check"):
                pass
        except LockedError:
            found["stuck_locks"].append(folder.name)
    return {key: len(value) for key, value in found.items()} | {"details": {k: v for k, v in found.items() if v}}


async def tokens(url: str) -> dict[str, Any]:
    answers = step_answers()
    rec = Recorder()
    out: dict[str, Any] = {}
    http, connected = await _connect(url)
    async with http, connected as client:
        for mode in ("full", "compact"):
            project = f"tokens-{mode}"
            await rec.call(client, "create_project", {"name": project, "user_name": "bench"})
            total, steps = 0, 0
            while True:
                now, spent = await drive_step(rec, client, project, answers, brief=mode == "compact")
                total += spent
                steps += 1
                if now is None:
                    break
            out[mode] = {"tokens": total, "steps": steps}
    out["ratio_compact_to_full"] = out["compact"]["tokens"] / out["full"]["tokens"]
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_http(work: Path, port: int) -> subprocess.Popen[str]:
    config = work / "config.yaml"
    config.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    env = dict(os.environ, CAIRN_OUTPUT=str(work / "output"), CAIRN_MCP_TOKEN=TOKEN)
    process = subprocess.Popen([sys.executable, "-m", "workflow", "--config", str(config), "mcp", "serve",
                                "--http", f"127.0.0.1:{port}"], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8")
    assert process.stderr is not None
    for line in process.stderr:
        if "Uvicorn running on" in line:
            return process
    raise SystemExit("the HTTP server exited before listening")
