"""`cairn eval compare --fail-on-regression` as a CI gate: repeated runs of one unchanged
target never fail it (latency noise is not gated by default and needs a practical size
when it is), while a real regression still does."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from tests.cli_runner import run_cairn

GRAPH = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    question: str
    answer: str


def respond(state: State) -> dict:
    text = state["question"]
    return {"answer": "[ok] " + text if len(text) % 3 else text}


builder = StateGraph(State)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()
"""


def _cairn(app: Path, args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    return run_cairn(["--output", str(app / "output"), *args], capsys, monkeypatch, stdin="")


def test_five_runs_of_one_deterministic_graph_never_fail_the_gate(app_dir: Path, capsys, monkeypatch) -> None:
    (app_dir / "gate_app.py").write_text(GRAPH, encoding="utf-8")
    rows = [{"id": i, "input": {"question": "q" * (i + 1)}, "assertions": [{"type": "contains", "value": "[ok]"}]}
            for i in range(9)]
    (app_dir / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runs = []
    for n in range(5):
        run = app_dir / f"run-{n}"
        code, _, err = _cairn(app_dir, ["eval", "run", "-t", "gate_app:graph", "-c", "cases.jsonl", "-n", "3",
                                        "--output-key", "answer", "--no-cache", "-o", str(run)], capsys, monkeypatch)
        assert code == 0, err
        runs.append(run)
    summary = json.loads((runs[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["pass_rate"]["mean"] == 6 / 9  # 3 of 9 cases fail on every run
    failures = []
    for a, b in itertools.combinations(runs, 2):
        # Gating latency too: a loaded machine slows a whole run, so latency must differ between the
        # repetitions as well as the cases (with 3 against 3 repetitions p is at least 0.1), by 10% and 1 ms.
        code, out, err = _cairn(app_dir, ["eval", "compare", str(a), str(b), "--fail-on-regression",
                                          "--gate", "latency_ms", "--json"], capsys, monkeypatch)
        if code != 0:
            failures.append((a.name, b.name, err))
        assert json.loads(out)["mcnemar"]["p_value"] == 1.0
    assert failures == []


def test_a_latency_gate_still_fails_on_a_real_slowdown(app_dir: Path, capsys, monkeypatch) -> None:
    (app_dir / "slow_app.py").write_text(
        "import os, time\n\ndef reply(x):\n    time.sleep(float(os.environ.get('SLOW_APP_S', '0')))\n    return x\n",
        encoding="utf-8")
    (app_dir / "cases.jsonl").write_text("".join(f'{{"id": {i}, "input": "x"}}\n' for i in range(8)),
                                         encoding="utf-8")
    for name, delay in (("fast", "0"), ("slow", "0.03")):
        monkeypatch.setenv("SLOW_APP_S", delay)
        code, _, err = _cairn(app_dir, ["eval", "run", "-t", "slow_app:reply", "-c", "cases.jsonl", "-n", "4",
                                        "--no-cache", "-o", str(app_dir / name)], capsys, monkeypatch)
        assert code == 0, err
    args = ["eval", "compare", str(app_dir / "fast"), str(app_dir / "slow"), "--fail-on-regression"]
    assert _cairn(app_dir, args, capsys, monkeypatch)[0] == 0  # reported, not gated by default
    code, _, err = _cairn(app_dir, [*args, "--gate", "latency_ms"], capsys, monkeypatch)
    assert code == 1 and "regressed" in err and "latency_ms" in err  # 4 vs 4 repetitions: exact p = 2/70
    code, _, err = _cairn(app_dir, [*args, "--gate", "latency_ms", "--min-effect", "latency_ms=50"], capsys,
                          monkeypatch)
    assert code == 0, err  # +30 ms is below an absolute minimum of 50 ms
