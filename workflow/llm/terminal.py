"""The terminal loop in LLM mode. The engine's prompts are rendered exactly as in scripted mode;
between them the persona converses. What reaches the engine: values the user confirmed one
field at a time, documents the user approved, and menu keys the user typed. Model text never
does: "let's move on to step 6" is just text."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from workflow.chat import LineReader, render_menu, render_messages, render_question, run_chat
from workflow.llm.display import reveal, shown_value, visible
from workflow.llm.draft_checks import diff, draft_warnings
from workflow.llm.facilitator import LlmFacilitator
from workflow.llm.failures import ModelFailure
from workflow.llm.proposal import Proposal
from workflow.session import Session

HELP = ("Talk with {who}. Enter on an empty line (or /propose) fills the form from the conversation; "
        "/form answers the questions directly; /scripted stops using the model.")
PARTY_ALONE = "Party Mode: this pack has no other persona to bring in."
PARTY_DONE = "Party Mode is over: type a point you want to keep (it is noted on this step), or a menu key."
MENU_HELP = "Type a menu key; /ask TEXT asks {who}; any other text is kept as a note for this step."
PAGE_LINES = 60  # a draft longer than this many lines is shown a page at a time


class _Stop(Exception):
    """Input ended: progress is saved by the engine."""


class _Scripted(Exception):
    """The user chose to continue without the model."""


class UsageSession:
    """The session as the loop sees it: every reply carries the tokens spent since the last one,
    so the engine keeps them with the step and writes them when the step completes."""

    def __init__(self, session: Session, facilitator: LlmFacilitator) -> None:
        self._session = session
        self._facilitator = facilitator
        self.folder = session.folder
        self.name = session.name
        self.config = session.config  # the terminal's own strings follow communication_language

    def current(self) -> dict[str, Any]:
        return self._session.current()

    def send(self, reply: Any) -> dict[str, Any]:
        usage = self._facilitator.usage.take()
        if usage is not None:
            reply = {**reply, "usage": usage} if isinstance(reply, dict) else {"value": reply, "usage": usage}
        return self._session.send(reply)

    def visit(self) -> dict[str, Any]:
        return self._session.visit_state()


def run_llm_chat(session: Session, console: Console, reader: LineReader, facilitator: LlmFacilitator) -> int:
    """Drive `session` with the persona conversation until done or input ends; returns the exit
    code. A model failure offers retry or the scripted facilitator; confirmed answers are kept."""
    wrapped = UsageSession(session, facilitator)
    loop = _Loop(wrapped, console, reader, facilitator)
    try:
        return loop.run()
    except _Stop:
        console.print(f"Input ended; progress saved. Resume with `cairn chat {session.name}`.")
        return 0
    except _Scripted:
        console.print("[yellow]Continuing in scripted mode; every confirmed answer is kept.[/]")
        return run_chat(wrapped, console, reader)  # type: ignore[arg-type]


class _Loop:
    def __init__(self, session: UsageSession, console: Console, reader: LineReader, fac: LlmFacilitator) -> None:
        self.session = session
        self.console = console
        self.reader = reader
        self.fac = fac
        self.proposal: dict[str, Any] = {}
        self.talked = False  # the conversation of this round of questions has happened
        self.reviewed: set[str] = set()  # documents approved at this menu visit
        fac.notify = lambda line: console.print(f"\n[yellow]{visible(line)}[/]", highlight=False, soft_wrap=True)

    def read(self, label: str) -> str:
        line = self.reader.read(label)
        if line is None:
            raise _Stop
        return line

    def guarded(self, call: Any) -> Any:
        """Run a model call; on failure say why in one line and offer retry or scripted mode."""
        while True:
            try:
                return call()
            except ModelFailure as exc:
                self.console.print()
                self.console.print(f"[red]model error:[/] {visible(exc.message)}", highlight=False)
                while True:
                    choice = self.read("r to retry, s to continue scripted> ").strip().lower()
                    if choice == "s":
                        raise _Scripted from None
                    if choice == "r":
                        break

    def write(self, text: str) -> None:
        self.console.print(reveal(text), end="", markup=False, emoji=False, highlight=False, soft_wrap=True)

    def run(self) -> int:
        prompt = self.session.current()
        last_kind: str | None = None
        last_step: str | None = None
        while True:
            render_messages(self.console, prompt.get("messages") or [])
            if prompt["kind"] == "done":
                self.console.print(f"[bold green]Workflow complete.[/] Files are in {self.session.folder}")
                return 0
            if prompt["step"]["id"] != last_step:
                last_step, last_kind, self.reviewed = prompt["step"]["id"], None, set()
            self.fac.start_step(prompt["step"]["id"], int(prompt.get("visit") or 1))
            if prompt["kind"] == "question":
                if last_kind != "question":
                    self.talked, self.proposal, self.reviewed = False, {}, set()
                last_kind = "question"
                prompt = self.question(prompt)
            else:
                last_kind = "menu"
                prompt = self.menu(prompt)

    # ---- questions: converse, propose, confirm field by field ----------------------------------
    def open_fields(self) -> tuple[dict[str, Any], list[str]]:
        visit = self.session.visit()
        step = self.fac.pack.step(visit["step"])
        answers = visit.get("answers") or {}
        return visit, [name for name in step.meta.form if name not in answers]

    def question(self, prompt: dict[str, Any]) -> dict[str, Any]:
        if not self.talked:
            self.talked = True
            reply = self.converse(prompt)
            if reply is not None:
                return self.session.send(reply)
        render_question(self.console, prompt)
        field = prompt["field"]
        if field in self.proposal:
            value = self.proposal.pop(field)  # offered once: after an error the user types it
            self.console.print(f"[cyan]proposed:[/] {visible(shown_value(value))}  "
                               "[dim](Enter accepts; or type another value)[/]", highlight=False, soft_wrap=True,
                               emoji=False)
            line = self.read("> ")
            return self.session.send(value if not line.strip() else line)
        line = self.read("> ")
        return self.session.send({"command": "skip"} if line.strip() == "/skip" else line)

    def converse(self, prompt: dict[str, Any]) -> Any:
        """The persona conversation before the form. Returns a reply for the engine when the user
        typed a navigation command (/skip), else None once the proposal is ready."""
        step = prompt["step"]
        self.console.print(f"[dim]{HELP.format(who=step['persona'])}[/]", highlight=False)
        visit, fields = self.open_fields()
        section = self.fac.pack.step(step["id"]).meta.form[prompt["field"]].section
        earlier = [text for role, text in self.fac.history if role == "ai"]
        if earlier:  # a session stopped mid-conversation: pick it up where it was
            self.console.print(f"[dim](conversation resumed: {len(self.fac.history)} earlier turns)[/]")
            self.console.print(f"[bold]{escape(step['persona'])}:[/] {visible(earlier[-1])}", highlight=False,
                               emoji=False)
        else:
            self.say(lambda: self.fac.reply(visit, open_fields=fields, section=section, user_text=None,
                                            write=self.write), step)
        while True:
            line = self.read("you> ")
            command = line.strip()
            if command == "/scripted":
                raise _Scripted
            if command == "/skip":
                return {"command": "skip"}
            if command == "/form":
                return None
            if command in ("", "/propose"):
                break
            self.say(lambda said=line: self.fac.reply(visit, open_fields=fields, section=section, user_text=said,
                                                      write=self.write), step)
        proposal: Proposal = self.guarded(lambda: self.fac.propose(visit, open_fields=fields))
        self.proposal = dict(proposal.values)
        self.show_proposal(proposal)
        return None

    def say(self, call: Any, step: dict[str, Any]) -> str:
        def turn() -> str:
            self.console.print(f"[bold]{escape(step['persona'])}:[/] ", end="")
            text = call()
            self.console.print()
            return str(text)

        return str(self.guarded(turn))

    def show_proposal(self, proposal: Proposal) -> None:
        """The valid values in a table (escaped, hidden characters shown), then each refused value
        with its reason: those fields are asked below like any unanswered question."""
        if proposal.malformed:
            self.console.print(f"[yellow]The model's proposal was not valid JSON: {visible(proposal.malformed)}; "
                               "keeping the values that could be read.[/]", highlight=False)
        if proposal.values:
            table = Table("field", "proposed value", title="Proposal (confirm or edit each field)")
            for name, value in proposal.values.items():
                table.add_row(Text(name), Text(shown_value(value)))  # Text: no markup, no :emoji: codes
            self.console.print(table)
        for name, problem in proposal.problems.items():
            self.console.print(f"[yellow]proposed {escape(name)} refused:[/] {visible(problem)}; "
                               "it is asked below", highlight=False, soft_wrap=True, emoji=False)
        if not proposal.values and not proposal.problems:
            self.console.print("[yellow]No values to propose yet; answer the questions below.[/]")

    # ---- menu: review documents, then only the user's key moves the session ----------------------
    def menu(self, prompt: dict[str, Any]) -> dict[str, Any]:
        result = prompt.get("result") or {}
        if result.get("error"):
            self.console.print(f"[red]{escape(str(result['error']))}[/]", highlight=False)
        pending = self.documents_to_review()
        if pending:
            path, content = pending[0]
            approved = self.review(prompt, path, content)
            self.reviewed.add(path)
            if approved is not None:
                return self.session.send({"command": "document", "path": path, "content": approved})
            return self.session.current()
        render_menu(self.console, prompt)
        self.console.print(f"[dim]{escape(MENU_HELP.format(who=prompt['step']['persona']))}[/]", highlight=False)
        line = self.read("Choose> ")
        command = line.strip()
        if command == "/ask" or command.startswith("/ask "):
            question = command[4:].strip()
            if question:
                visit = self.session.visit()
                self.say(lambda: self.fac.reply(visit, open_fields=[], section=None, user_text=question,
                                                write=self.write), prompt["step"])
            return self.session.current()
        party = next((m for m in prompt["menu"] if m["action"] == "party"
                      and m["key"].upper() == command.upper().lstrip("[").rstrip("]")), None)
        if party is not None:
            self.party(prompt)
            return self.session.current()
        # Keys go to the engine, and so does any other text: the engine keeps it as a note (DESIGN 4).
        return self.session.send(line)

    def party(self, prompt: dict[str, Any]) -> None:
        """Party Mode: each other persona of the pack gives its view in turn. Nothing is recorded;
        a point the user wants to keep is typed at the menu as a note."""
        step = self.fac.pack.step(prompt["step"]["id"])
        guests = self.fac.pack.guests(step)
        if not guests:
            self.console.print(f"[dim]{escape(PARTY_ALONE)}[/]", highlight=False)
            return
        visit = self.session.visit()
        for guest in guests:
            self.say(lambda g=guest: self.fac.party(visit, g, write=self.write),
                     {**prompt["step"], "persona": f"{guest.icon} {guest.name}".strip()})
        self.console.print(f"[dim]{escape(PARTY_DONE)}[/]", highlight=False)

    def documents_to_review(self) -> list[tuple[str, str]]:
        visit = self.session.visit()
        step = self.fac.pack.step(visit["step"])
        documents = (visit.get("draft") or {}).get("documents") or {}
        templated = {o.path for o in step.meta.outputs if o.template}
        return [(path, text) for path, text in sorted(documents.items())
                if path in templated and path not in self.reviewed]

    def review(self, prompt: dict[str, Any], path: str, engine_draft: str) -> str | None:
        """Draft `path` with the model until the user approves it with `y`. The draft is shown
        rendered (a page at a time when long) with its sanity warnings above the question; a bare
        Enter approves nothing. Returns the approved text, or None when the user keeps the
        engine's template draft (/template)."""
        visit = self.session.visit()
        request: str | None = None
        current = engine_draft
        while True:
            self.console.print(f"[bold]Drafting {escape(path)}[/]")
            text = str(self.guarded(lambda base=current, ask=request: self.fac.draft(
                visit, path=path, engine_draft=base, request=ask, write=lambda _: None)))
            self.show_draft(text)
            warnings = draft_warnings(engine_draft, text)
            for warning in warnings:
                self.console.print(f"[bold yellow]warning:[/] {visible(warning)}", highlight=False)
            approve = "y approves it despite the warnings" if warnings else "y approves it"
            while True:
                line = self.read(f"{path}: {approve}; /diff compares with the template draft; /template keeps "
                                 "the template draft; or say what to change> ")
                answer = line.strip()
                if answer.lower() in ("y", "yes"):
                    return text
                if answer == "/template":
                    return None
                if answer == "/diff":
                    self.console.print(reveal(diff(engine_draft, text, path)), markup=False, highlight=False)
                    continue
                if not answer:
                    self.console.print("[dim]Nothing approved: type y to approve this draft.[/]")
                    continue
                request, current = line, text
                break

    def show_draft(self, text: str) -> None:
        """The draft as rendered markdown, hidden characters shown; long drafts a page at a time."""
        lines = reveal(text).splitlines()
        pages = [lines[i:i + PAGE_LINES] for i in range(0, len(lines), PAGE_LINES)] or [[]]
        for number, page in enumerate(pages, 1):
            self.console.print(Markdown("\n".join(page)))
            if number < len(pages):
                more = self.read(f"-- page {number}/{len(pages)}: Enter shows the next page, q stops paging> ")
                if more.strip().lower() == "q":
                    self.console.print(f"[dim]({len(lines) - number * PAGE_LINES:,} more lines not shown)[/]")
                    return


def model_for_session(config: Any, override: str | None, *, answers_file: bool) -> tuple[Any, Any] | None:
    """(chat model, LlmConfig) when this session talks through a model, else None (scripted).
    An answers file drives the engine directly, so it always runs scripted.
    Raises MissingExtra and ConfigError (see `models.build_chat_model`)."""
    from workflow.llm.models import build_chat_model, resolve_llm

    llm = resolve_llm(config, override)
    if llm is None or answers_file:
        return None
    return build_chat_model(llm), llm


def run_model_chat(session: Session, console: Console, reader: LineReader, chosen: tuple[Any, Any]) -> int:
    """`run_llm_chat` with a facilitator built for `session`'s pack and project."""
    model, llm = chosen
    facilitator = LlmFacilitator(model=model, pack=session.pack, project_dir=session.folder,
                                 budget_tokens=llm.prompt_budget_tokens, llm=llm)
    return run_llm_chat(session, console, reader, facilitator)
