"""Engine speed, measured against baselines taken in the same run (machines are noisy).

1. Time per answered question: a Cairn session on the shipped pack (SQLite checkpointer,
   sidecar reads, gating) against a trivial LangGraph graph doing interrupt/resume with the
   same SQLite checkpointer. Goal: at most 3x.
2. `cairn --help` against a bare `python -c pass`, and which heavy modules it imports.
   Goal: neither langgraph nor torch imported.

Run: .venv/bin/python benchmarks/engine.py
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def trivial_graph_per_resume(folder: Path, rounds: int) -> float:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import START, StateGraph
    from langgraph.types import Command, interrupt

    class State(TypedDict, total=False):
        answers: list[Any]

    def ask(state: State) -> Command[Any]:
        value = interrupt({"question": len(state.get("answers") or [])})
        return Command(goto="ask", update={"answers": list(state.get("answers") or []) + [value]})

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    conn = sqlite3.connect(folder / "trivial.sqlite", check_same_thread=False)
    graph = builder.compile(checkpointer=SqliteSaver(conn))
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"answers": []}, config)
    start = time.perf_counter()
    for i in range(rounds):
        graph.invoke(Command(resume=str(i)), config)
        graph.get_state(config)
    return (time.perf_counter() - start) / rounds


def cairn_per_question(folder: Path) -> tuple[float, int]:
    from workflow.answers import AnswerPlan
    from workflow.config import Config, KnowledgeConfig
    from workflow.knowledge.protocol import NullKnowledgeClient
    from workflow.session import Session, create_project

    create_project(folder, "bench", user="bench")
    plan = AnswerPlan(yaml.safe_load((ROOT / "examples" / "answers-hybrid.yaml").read_text(encoding="utf-8")),
                      yes=True)
    config = Config(knowledge=KnowledgeConfig(enabled=False))
    questions = 0
    elapsed = 0.0
    cwd = os.getcwd()
    os.chdir(ROOT)  # answers files hold paths relative to the repository
    try:
        with Session(output_dir=folder, name="bench", config=config, knowledge=NullKnowledgeClient()) as session:
            prompt = session.current()
            while prompt["kind"] != "done":
                reply = plan.answer(prompt) if prompt["kind"] == "question" else plan.menu(prompt)
                start = time.perf_counter()
                prompt = session.send(reply)
                elapsed += time.perf_counter() - start
                questions += 1
    finally:
        os.chdir(cwd)
    return elapsed / questions, questions


def cli_help() -> tuple[float, float, list[str]]:
    def timed(cmd: list[str]) -> float:
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    bare = timed([sys.executable, "-c", "pass"])
    helped = timed([sys.executable, "-m", "workflow", "--help"])
    probe = ("import sys; sys.argv=['cairn','--help']\nfrom workflow.cli import main\ntry:\n    main()\n"
             "except SystemExit:\n    pass\nprint(','.join(m for m in ('langgraph','torch','transformers','trl','peft',"
             "'mcp','bm25s','numpy','matplotlib') if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    heavy = [m for m in result.stderr.strip().split(",") if m]
    return bare, helped, heavy


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        per_question, answered = cairn_per_question(folder / "out")
        trivial = trivial_graph_per_resume(folder, rounds=max(answered, 200))
    print(f"engine: {per_question * 1000:.2f} ms per answered prompt over {answered} prompts "
          f"(shipped pack, hybrid answers, step completions included)")
    print(f"baseline: {trivial * 1000:.2f} ms per interrupt/resume of a trivial graph, same SQLite checkpointer")
    print(f"ratio engine/baseline: {per_question / trivial:.2f}x (goal <= 3x)")
    bare, helped, heavy = cli_help()
    print(f"cairn --help: {helped * 1000:.0f} ms; python -c pass: {bare * 1000:.0f} ms; ratio {helped / bare:.1f}x")
    print(f"heavy modules imported by cairn --help: {heavy or 'none'} (goal: no langgraph, no torch)")


if __name__ == "__main__":
    main()
