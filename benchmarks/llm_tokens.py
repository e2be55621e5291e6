"""Prompt size in LLM mode: Cairn's prompt assembly against the naive approach, measured on
the same conversation in the same run.

One scripted conversation walks the shipped pack end to end (examples/answers-hybrid.yaml, so
every step runs): at each step the user says three things, the fake model answers each with
about 60 words, proposes the step's values from the answers file, and drafts every document.
For every model call the script counts (about four characters per token, the same counter
on both sides):
- Cairn: the messages the facilitator actually sent (persona, rules, current guidance section,
  open fields, the project brief from the sidecar, knowledge results, context documents whole
  (a headings summary when one does not fit), bounded step history, trimmed to
  llm.prompt_budget_tokens);
- naive: the whole step file + the whole persona file + every context document in full + the
  whole conversation of the session so far + the same task.
Prints prompt tokens per completed step and the ratio (goal: Cairn <= 1/3 of naive), then the
fact coverage per step: of the earlier steps' confirmed answers, how many reach at least one of
the step's prompts as `field ...: value`, and which of five key facts (budget, privacy constraint,
vector store, latency target, architecture) each step's prompts carry.

Run from the repository root: .venv/bin/python benchmarks/llm_tokens.py
"""

from __future__ import annotations

import io
import os
import re
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


KEY_FACTS = {"budget": "monthly_budget_usd", "privacy": "privacy_constraints", "vector store": "vector_store",
             "latency": "latency_target_ms", "architecture": "architecture"}


def _carried(field: str, value: Any, text: str) -> bool:
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    shown = " ".join(shown.split())[:60]
    return re.search(rf"\b{re.escape(field)}\b[^\n]*?: {re.escape(shown)}", text) is not None


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
        self.facts: dict[str, dict[str, bool]] = {}  # step -> "step.field" -> carried by some prompt

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
        text = "\n".join(message for _, message in prompt.messages)
        seen = self.facts.setdefault(step.id, {})
        for sid, answers in (self._sidecar().get("answers") or {}).items():
            for field, value in answers.items():
                if sid != step.id and value not in (None, "", []):
                    key = f"{sid}.{field}"
                    seen[key] = seen.get(key, False) or _carried(field, value, text)
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
        if "y approves it" in label:
            return "y"
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
          f"ratio {ratio:.3f} (goal <= 0.33): {'PASS' if ratio <= 1 / 3 else 'FAIL'}")
    print()
    print("fact coverage: earlier steps' confirmed answers that reach the step's prompts")
    print(f"{'step':>5} {'answers carried':>16} " + " ".join(f"{name:>12}" for name in KEY_FACTS))
    carried_all = available_all = 0
    for step_id in done:
        seen = facilitator.facts.get(step_id)
        if seen is None:
            continue
        carried = sum(seen.values())
        carried_all, available_all = carried_all + carried, available_all + len(seen)
        marks = []
        for field in KEY_FACTS.values():
            keys = [k for k in seen if k.split(".", 1)[1] == field]
            marks.append("-" if not keys else ("yes" if any(seen[k] for k in keys) else "NO"))
        share = f"{carried}/{len(seen)}"
        print(f"{step_id:>5} {share:>16} " + " ".join(f"{m:>12}" for m in marks))
    if available_all:
        print(f"{'all':>5} {f'{carried_all}/{available_all}':>16}  ({carried_all / available_all:.0%}; "
              "'-': not yet answered at that step)")
    return 0 if ratio <= 1 / 3 and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
