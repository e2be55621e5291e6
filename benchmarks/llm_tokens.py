"""Prompt size in LLM mode: Cairn's prompt assembly against the naive approach, measured on
the same conversation in the same run.

One scripted conversation walks the shipped pack end to end (examples/answers-hybrid.yaml, so
every step runs): at each step the user says three things, the fake model answers each with
about 60 words, proposes the step's values from the answers file, and drafts every document.
For every model call the script counts (about four characters per token, the same counter
on both sides):
- Cairn: the messages the facilitator actually sent (persona, rules, current guidance section,
  open fields, knowledge results, context documents summarised, bounded step history, trimmed
  to llm.prompt_budget_tokens);
- naive: the whole step file + the whole persona file + every context document in full + the
  whole conversation of the session so far + the same task.
Prints prompt tokens per completed step and the ratio. Goal: Cairn <= 1/3 of naive.

Run from the repository root: .venv/bin/python benchmarks/llm_tokens.py
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from workflow.answers import AnswerPlan  # noqa: E402
from workflow.config import Config  # noqa: E402
from workflow.knowledge.client import InProcessKnowledgeClient  # noqa: E402
from workflow.llm.facilitator import LlmFacilitator  # noqa: E402
from workflow.llm.prompting import Prompt, count_tokens  # noqa: E402
from workflow.llm.terminal import run_llm_chat  # noqa: E402
from workflow.llm.testing import FakeChatModel  # noqa: E402
from workflow.session import Session, create_project  # noqa: E402

ANSWERS = ROOT / "examples" / "answers-hybrid.yaml"
USER_LINES = ["We want to get this part right; here is what we know so far about our situation.",
              "The team is small, five engineers, and we must ship within one quarter.",
              "Yes, that matches. Anything else you need before we fill this in?"]
REPLY = ("Thanks, that helps. Let me repeat what I heard so we agree on it, then one more question: "
         "what number would tell us this works, and who will check it? A rough estimate is fine; "
         "we will mark it as an estimate in the document and revisit it once real data exists.")


class BenchModel(FakeChatModel):
    """Answers text turns with REPLY, proposals from the answers file, drafts with the draft."""

    plan: Any = None

    def _next(self, messages: list[Any]) -> Any:
        last = str(messages[-1].content)
        if "--- engine draft ---" in last:
            self.queue(last.split("--- engine draft ---\n", 1)[1])
        elif last.startswith("Fill in the open fields"):
            self.queue(self.proposal)
        else:
            self.queue(REPLY)
        return super()._next(messages)

    proposal: dict[str, Any] = {}


class CountingFacilitator(LlmFacilitator):
    """Counts each call's naive prompt beside the real one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transcript: list[str] = []  # the whole session's conversation, as a naive chat keeps it
        self.rows: dict[str, dict[str, int]] = {}

    def _prompt(self, visit: dict[str, Any], **kwargs: Any) -> Prompt:
        prompt = super()._prompt(visit, **kwargs)
        step = self.pack.step(visit["step"])
        persona_file = self.pack.root / "agents" / f"{step.meta.agent}.md"
        parts = [step.file.read_text(encoding="utf-8"), persona_file.read_text(encoding="utf-8")]
        parts += [(self.project_dir / rel).read_text(encoding="utf-8") for rel in step.meta.context
                  if (self.project_dir / rel).is_file()]
        task = kwargs.get("task")
        naive = sum(count_tokens(p) for p in parts + self.transcript + ([task] if task else []))
        row = self.rows.setdefault(step.id, {"calls": 0, "cairn": 0, "naive": 0})
        row["calls"] += 1
        row["cairn"] += prompt.tokens
        row["naive"] += naive
        return prompt

    def reply(self, visit: dict[str, Any], **kwargs: Any) -> str:
        text = super().reply(visit, **kwargs)
        self.transcript.append(text)
        return text


class Reader:
    """The user: three lines of conversation per round, Enter to accept proposals and drafts,
    C at every menu."""

    def __init__(self, facilitator: CountingFacilitator, model: BenchModel, plan: AnswerPlan) -> None:
        self.fac, self.model, self.plan = facilitator, model, plan
        self.said = 0

    def read(self, label: str) -> str | None:
        if label == "you> ":
            step = self.fac.step_id or ""
            answers = {**self.plan.shared, **(self.plan.steps.get(step) or [{}])[0]}
            self.model.proposal = {k: v for k, v in answers.items() if k not in ("menu", "notes")}
            if self.said < len(USER_LINES):
                self.said += 1
                line = USER_LINES[self.said - 1]
                self.fac.transcript.append(line)
                return line
            self.said = 0
            return ""
        if label.startswith("Choose"):
            return "C"
        if label.startswith("r to retry"):
            return None
        return ""


def main() -> int:
    os.chdir(ROOT)  # the answers file's dataset paths are relative to the repository root
    plan = AnswerPlan.from_file(ANSWERS)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "output"
        create_project(out, "bench", user="bench")
        session = Session(output_dir=out, name="bench", config=Config(), knowledge=InProcessKnowledgeClient())
        session.open()
        try:
            model = BenchModel()
            facilitator = CountingFacilitator(model=model, pack=session.pack, project_dir=session.folder,
                                              budget_tokens=6000)
            console = Console(file=io.StringIO(), width=120)
            code = run_llm_chat(session, console, Reader(facilitator, model, plan), facilitator)
            status = session.progress()
        finally:
            session.close()
    done = [row["id"] for row in status if row["status"] == "complete"]
    print(f"conversation: {len(USER_LINES)} user lines per step, exit {code}, steps completed: {', '.join(done)}")
    print(f"{'step':>5} {'calls':>6} {'cairn tokens':>13} {'naive tokens':>13} {'ratio':>7}")
    total_c = total_n = 0
    for step_id in done:
        row = facilitator.rows.get(step_id)
        if not row:
            continue
        total_c += row["cairn"]
        total_n += row["naive"]
        ratio = row["cairn"] / row["naive"]
        print(f"{step_id:>5} {row['calls']:>6} {row['cairn']:>13} {row['naive']:>13} {ratio:>7.2f}")
    ratio = total_c / total_n
    print(f"{'all':>5} {'':>6} {total_c:>13} {total_n:>13} {ratio:>7.2f}")
    per_step_c, per_step_n = total_c / len(done), total_n / len(done)
    print(f"prompt tokens per completed step: cairn {per_step_c:.0f}, naive {per_step_n:.0f}; "
          f"ratio {ratio:.2f} (goal <= 0.33): {'PASS' if ratio <= 1 / 3 else 'FAIL'}")
    return 0 if ratio <= 1 / 3 and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
