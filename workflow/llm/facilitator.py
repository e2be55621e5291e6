"""The LLM facilitator (issue 4, item 2): one chat model plays the current step's persona. It
talks (streamed), proposes form values through structured output built from the step's form,
and drafts documents from the engine's template drafts. It never sends anything to the engine:
the terminal loop sends only what the user confirmed, so navigation stays with the engine."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model

from workflow.errors import CairnError
from workflow.fileio import atomic_write_text
from workflow.llm.failures import ModelFailure, failure
from workflow.llm.prompting import DOC_TOKENS, Prompt, Role, build_prompt, count_tokens
from workflow.llm.proposal import Proposal, check_proposal, field_spec, python_type, raw_payload
from workflow.llm.usage import Usage, from_message
from workflow.pack_model import FormField, Pack, Persona, Step
from workflow.store import read_sidecar

OPEN_TASK = ("Open this step in character: greet the user in one sentence, say what this step settles, "
             "and ask your first question about the open fields.")
PROPOSE_TASK = ("Fill in the open fields from what the user said in this conversation. Use null for any "
                "field the user has not answered; never guess a value they did not give. Reply with one JSON "
                "object whose keys are these field names:\n{fields}")
PARTY_TASK = ("Party Mode: another expert joins this step. Speak now as {name}, {title}{style}, not as yourself. "
              "In at most four sentences, say from that role what you would question or add to this step's answers "
              "so far, and one risk you see. Do not decide for the user, change no value, ask at most one question.")
DRAFT_TASK = ("Write the document {path} for this step. Start from the engine's draft below: keep its "
              "headings, tables, ids and every fact in it; improve the wording with what the user said in "
              "this conversation; add no number or decision the user did not give. Reply with the markdown "
              "document only.\n\n{request}--- engine draft ---\n{draft}")
# Earlier documents per call: a conversation turn gets each one's leading sections, a draft more;
# a proposal draws on the conversation and the brief only.
CONVERSE_DOC_TOKENS = 250
# Failures worth another try; a rejected key is not.
RETRIED = frozenset({"timeout", "rate_limit", "connection", "other"})


def form_schema(step: Step, fields: Sequence[str]) -> type[BaseModel]:
    """A pydantic model of `fields` (all optional, so the model can say "not answered"); choices
    become Literal types so a proposal can only name a valid option."""
    definitions: dict[str, Any] = {}
    for name in fields:
        spec = step.meta.form[name]
        definitions[name] = (python_type(spec) | None, Field(default=None, description=_describe(name, spec)))
    model_name = "Step" + "".join(ch for ch in step.id if ch.isalnum()) + "Answers"
    return create_model(model_name, __doc__=f"Answers for step {step.id}: {step.title}", **definitions)


def _describe(name: str, spec: FormField) -> str:
    text = spec.ask or name
    if spec.help:
        text += f" ({spec.help})"
    if spec.min is not None or spec.max is not None:
        text += f" [min {spec.min}, max {spec.max}]"
    return text


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks (Anthropic and others)
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "")


class LlmFacilitator:
    """Keeps the current step's conversation and the token usage not yet sent to the engine.
    Every model call is retried `llm.max_retries` times on a transient failure (each retry
    announced through `notify`), then raises ModelFailure (one clear line)."""

    def __init__(self, *, model: Any, pack: Pack, project_dir: Path, budget_tokens: int, llm: Any = None,
                 notify: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.model = model
        self.pack = pack
        self.project_dir = project_dir
        self.budget = budget_tokens
        self.llm = llm
        self.notify = notify or (lambda _line: None)
        self.sleep = sleep
        self.retries = int(getattr(llm, "max_retries", 0) or 0)
        self.usage = Usage.resumed(project_dir / ".cairn" / "usage-pending.json")
        self.step_id: str | None = None
        self.visit = 0
        self.history: list[tuple[Role, str]] = []
        self.prompts: list[Prompt] = []

    def start_step(self, step_id: str, visit: int = 1) -> None:
        """A new step starts a new conversation (earlier steps reach the model through the project
        brief and their documents), unless this visit's conversation was saved by a session that
        stopped before finishing it."""
        if (step_id, visit) != (self.step_id, self.visit):
            self.step_id, self.visit = step_id, visit
            self.history = self._saved_history(step_id, visit)

    @property
    def _conversation_file(self) -> Path:
        return self.project_dir / ".cairn" / "conversation.json"

    def _saved_history(self, step_id: str, visit: int) -> list[tuple[Role, str]]:
        try:
            saved = json.loads(self._conversation_file.read_text(encoding="utf-8"))
            if saved["step"] != step_id or saved["visit"] != visit:
                return []
            return [(role, str(text)) for role, text in saved["history"] if role in ("human", "ai")]
        except (OSError, ValueError, KeyError, TypeError):
            return []  # none saved, or unreadable: the conversation starts afresh

    def _save_history(self) -> None:
        """Checkpoint this visit's conversation after each turn (the engine checkpoints only
        confirmed answers), so a stopped session resumes mid-conversation."""
        data = {"step": self.step_id, "visit": self.visit, "history": [list(turn) for turn in self.history]}
        atomic_write_text(self._conversation_file, json.dumps(data, ensure_ascii=False))

    def _prompt(self, visit: dict[str, Any], *, open_fields: Sequence[str], section: str | None,
                history: Sequence[tuple[Role, str]], task: str | None, detail_fields: bool = True,
                doc_tokens: int = DOC_TOKENS) -> Prompt:
        step = self.pack.step(visit["step"])
        knowledge = [r for entry in visit.get("knowledge") or [] for r in entry.get("results") or []]
        prompt = build_prompt(pack=self.pack, step=step, project_dir=self.project_dir,
                              answers=visit.get("answers") or {}, open_fields=open_fields, section=section,
                              knowledge=knowledge, history=history, task=task, budget=self.budget,
                              detail_fields=detail_fields, sidecar=self._sidecar(), doc_tokens=doc_tokens)
        self.prompts.append(prompt)
        return prompt

    def _sidecar(self) -> dict[str, Any]:
        """The project as last committed (read each turn: completing a step changes it)."""
        try:
            return read_sidecar(self.project_dir)
        except CairnError:
            return {}  # no brief rather than no conversation; the engine reports a broken sidecar

    def _attempts(self, call: Callable[[], Any]) -> Any:
        """`call` with the configured retries; ModelFailure once they are spent."""
        tries = 1 + self.retries
        for attempt in range(1, tries + 1):
            try:
                return call()
            except ModelFailure as exc:
                if attempt == tries or exc.kind not in RETRIED:
                    raise
                self.notify(f"{exc.message}; retrying ({attempt + 1}/{tries})…")
                self.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    def _stream(self, prompt: Prompt, write: Callable[[str], None]) -> str:
        return str(self._attempts(lambda: self._stream_once(prompt, write)))

    def _stream_once(self, prompt: Prompt, write: Callable[[str], None]) -> str:
        full: Any = None
        try:
            for chunk in self.model.stream(prompt.messages):
                piece = _text(chunk.content)
                if piece:
                    write(piece)
                full = chunk if full is None else full + chunk
        except Exception as exc:  # the provider boundary: any SDK error becomes one line
            if full is not None:  # part of a reply arrived: its tokens were spent
                self._count(full, prompt, _text(full.content))
            raise failure(exc, self.llm) from exc
        text = _text(full.content if full is not None else "")
        self._count(full, prompt, text)
        return text

    def _count(self, message: Any, prompt: Prompt, text: str) -> None:
        reported = from_message(message)
        # Providers that report nothing (some local servers) are estimated, never left at zero.
        self.usage.add(*(reported or (prompt.tokens, count_tokens(text))))

    def reply(self, visit: dict[str, Any], *, open_fields: Sequence[str], section: str | None,
              user_text: str | None, write: Callable[[str], None]) -> str:
        """One persona turn, streamed through `write`. `user_text` None opens the step. The
        conversation keeps the turn only when the call succeeded, so a retry sends it again; a
        reply with no text (a tool call only) is not kept as an empty message."""
        history = list(self.history) + ([("human", user_text)] if user_text is not None else [])
        prompt = self._prompt(visit, open_fields=open_fields, section=section, history=history,
                              task=OPEN_TASK if user_text is None else None, doc_tokens=CONVERSE_DOC_TOKENS)
        text = self._stream(prompt, write)
        self.history = history + ([("ai", text)] if text.strip() else [])
        self._save_history()
        return text

    def propose(self, visit: dict[str, Any], *, open_fields: Sequence[str]) -> Proposal:
        """Values for `open_fields` drawn from the conversation, each checked on its own (see
        `proposal.check_proposal`). Nothing here is recorded: the user confirms each value first."""
        if not open_fields:
            return Proposal()
        step = self.pack.step(visit["step"])
        # A JSON schema, not the pydantic class: a provider's own parser would reject the whole
        # object for one bad value; the raw reply is checked field by field below instead.
        schema = form_schema(step, open_fields).model_json_schema()
        fields = "\n".join(field_spec(name, step.meta.form[name]) for name in open_fields)
        prompt = self._prompt(visit, open_fields=open_fields, section=None, history=self.history,
                              task=PROPOSE_TASK.format(fields=fields), detail_fields=False, doc_tokens=0)

        def call() -> Any:
            try:
                method = getattr(self.llm, "structured_output", None)
                options = {"method": method} if method else {}
                return self.model.with_structured_output(schema, include_raw=True, **options).invoke(prompt.messages)
            except Exception as exc:  # the provider boundary
                raise failure(exc, self.llm) from exc

        out = self._attempts(call)
        raw = out.get("raw") if isinstance(out, dict) else out
        self._count(raw, prompt, _text(getattr(raw, "content", "")))
        payload, malformed = raw_payload(raw)
        parsed = out.get("parsed") if isinstance(out, dict) else None
        if not payload and isinstance(parsed, (dict, BaseModel)):  # a provider that parsed it for us
            payload = parsed.model_dump() if isinstance(parsed, BaseModel) else dict(parsed)
            malformed = None
        return check_proposal(step, open_fields, payload, malformed)

    def party(self, visit: dict[str, Any], guest: Persona, *, write: Callable[[str], None]) -> str:
        """One Party Mode turn: `guest`, another persona of the pack, gives its view of the step
        so far, streamed. The conversation keeps it under the guest's name, so the step's own
        persona (and the proposal) see what was said."""
        traits = ([f"style: {guest.style}"] if guest.style else []) + (
            [f"principles: {'; '.join(guest.principles)}"] if guest.principles else [])
        style = f" ({'; '.join(traits)})" if traits else ""
        task = PARTY_TASK.format(name=guest.name, title=guest.title, style=style)
        prompt = self._prompt(visit, open_fields=[], section=None, history=self.history, task=task,
                              doc_tokens=CONVERSE_DOC_TOKENS)
        text = self._stream(prompt, write)
        if text.strip():
            self.history = [*self.history, ("ai", f"{guest.name} ({guest.title}): {text.strip()}")]
            self._save_history()
        return text

    def draft(self, visit: dict[str, Any], *, path: str, engine_draft: str, request: str | None,
              write: Callable[[str], None]) -> str:
        """The document at `path`, written from the engine's draft and the conversation; with
        `request`, the previous draft revised as asked."""
        ask = f"The user asked for these changes: {request}\n\n" if request else ""
        task = DRAFT_TASK.format(path=path, request=ask, draft=engine_draft)
        prompt = self._prompt(visit, open_fields=[], section=None, history=self.history, task=task)
        text = self._stream(prompt, write).strip()
        if text.startswith("```"):  # models like to fence markdown; the document is the inside
            text = text.split("\n", 1)[1] if "\n" in text else ""
            text = text.rsplit("```", 1)[0].strip()
        return text + "\n"


__all__ = ["LlmFacilitator", "ModelFailure", "Proposal", "form_schema"]
