"""The terminal front end: renders the engine's prompts with rich and reads replies
(prompt_toolkit on a TTY, plain lines otherwise, or an AnswerPlan in facilitator mode)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from workflow.answers import NO_ANSWER, AnswerPlan
from workflow.errors import NeedsAnswer
from workflow.i18n import t, use_language
from workflow.session import Session


class LineReader(Protocol):
    def read(self, prompt: str) -> str | None:
        """One line of input without its newline; None at end of input."""
        ...


class StreamReader:
    """Plain line-by-line reading, so a piped script works."""

    def __init__(self, stream: TextIO, console: Console) -> None:
        self.stream = stream
        self.console = console

    def read(self, prompt: str) -> str | None:
        self.console.print(prompt, end="", markup=False, highlight=False)
        line = self.stream.readline()
        if not line:
            self.console.print()
            return None
        if not self.stream.isatty():
            self.console.print(line.rstrip("\n"), markup=False, highlight=False)
        return line.rstrip("\n")


class ToolkitReader:
    """prompt_toolkit line editing and history on a TTY."""

    def __init__(self) -> None:
        from prompt_toolkit import PromptSession

        self._session: Any = PromptSession()

    def read(self, prompt: str) -> str | None:
        try:
            return str(self._session.prompt(prompt))
        except EOFError:
            return None


def make_reader(console: Console) -> LineReader:
    return ToolkitReader() if sys.stdin.isatty() and sys.stdout.isatty() else StreamReader(sys.stdin, console)


def run_chat(session: Session, console: Console, reader: LineReader, plan: AnswerPlan | None = None) -> int:
    """Drive the session until it is done or input ends. Returns the exit code.
    Raises NeedsAnswer (exit 3) in facilitator mode when nothing answers a prompt and
    no one can be asked."""
    plan = plan or AnswerPlan()
    # wrappers of a Session (the LLM terminal's) may not carry the config: English then
    use_language(getattr(getattr(session, "config", None), "communication_language", None))
    run_file = session.folder / ".cairn" / "answers-run.json"
    if not plan.active:
        return _converse(session, console, reader, plan, None)
    plan.resume(run_file)
    try:
        code = _converse(session, console, reader, plan, run_file)
    except NeedsAnswer:
        run_file.unlink(missing_ok=True)
        raise
    run_file.unlink(missing_ok=True)  # the run ended: the next one starts its lists afresh
    return code


def _converse(session: Session, console: Console, reader: LineReader, plan: AnswerPlan,
              run_file: Path | None) -> int:
    interactive = not plan.yes
    prompt = session.current()
    while True:
        render_messages(console, prompt.get("messages") or [])
        if prompt["kind"] == "done":
            console.print(t("workflow_complete", folder=session.folder))
            return 0
        if prompt["kind"] == "question":
            render_question(console, prompt)
            reply: Any = plan.answer(prompt)
            label = "> "
        else:
            render_menu(console, prompt)
            reply = plan.menu(prompt)
            label = t("choose_prompt")
        if reply is NO_ANSWER:
            if not interactive:
                what = t("no_answer_field", field=prompt["field"]) if prompt["kind"] == "question" \
                    else t("no_answer_menu")
                raise NeedsAnswer(t("no_answer", id=prompt["step"]["id"], title=prompt["step"]["title"], what=what))
            line = reader.read(label)
            if line is None:
                console.print(t("input_ended", name=session.name))
                return 0
            reply = _command(line, prompt)
        elif plan.active:
            shown = reply.get("value", reply.get("command")) if isinstance(reply, dict) else reply
            console.print(f"{label}{shown if shown != '' else '(default)'}", markup=False, highlight=False)
        prompt = session.send(reply)
        if run_file is not None:
            # After the send: a run killed in between replays that reply rather than skipping it.
            plan.save(run_file)


def _command(line: str, prompt: dict[str, Any]) -> Any:
    if prompt["kind"] == "question" and line.strip() == "/skip":
        return {"command": "skip"}
    return line


def render_messages(console: Console, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        kind = message.get("kind")
        if kind == "header":
            step = message["step"]
            title = t("step_title", id=step["id"], title=step["title"])
            who = f"{step.get('icon') or ''} {step['persona']} — {step['role']}".strip()
            body = f"[bold]{who}[/]\n{message.get('description') or ''}"
            if message.get("style"):
                body += f"\n[dim]{message['style']}[/]"
            console.print(Panel(body, title=title, title_align="left", border_style="cyan"))
        elif kind == "guidance":
            if message.get("heading"):
                console.print(f"[bold cyan]{message['heading']}[/]")
            console.print(Markdown(message["text"]))
        elif kind == "context":
            for doc in message["documents"]:
                state = escape(doc["summary"]) if doc["exists"] else f"[yellow]{t('not_written')}[/]"
                console.print(f"[dim]{t('context')}[/] {doc['path']}: {state}")
        elif kind == "knowledge":
            console.print(f"[bold]{t('knowledge_heading')}[/]")
            for result in message["results"]:
                source = (result.get("source") or {}).get("title", "")
                console.print(f"  • [{result.get('type')}] {result.get('title')} [dim]({result['id']}; {source})[/]",
                              highlight=False)
        elif kind == "drafts":
            _render_drafts(console, message)
        elif kind == "progress":
            _render_progress(console, message["rows"])
        elif kind == "refusal":
            console.print(f"[bold red]{message['text']}[/] {t('missing')}")
            for item in message["missing"]:
                console.print(f"  - {item}", markup=False)
        elif kind == "warning":
            console.print(f"[yellow]{t('warning')}[/] {escape(message['text'])}", highlight=False)
        elif kind == "error":
            console.print(f"[red]{escape(message['text'])}[/]", highlight=False)
        elif kind == "done_step":
            console.print(f"[green]✔ {message['text']}[/]", highlight=False)
        else:
            console.print(str(message.get("text", "")), markup=False, highlight=False)


def render_question(console: Console, prompt: dict[str, Any]) -> None:
    if prompt.get("error"):
        console.print(f"[red]{escape(prompt['error'])}[/]", highlight=False)
    line = f"[bold]{prompt['ask']}[/]"
    if prompt.get("choices"):
        line += " " + " / ".join(f"{i}) {c}" for i, c in enumerate(prompt["choices"], 1))
    default = prompt.get("default")
    if default not in (None, "", []):
        shown = ", ".join(map(str, default)) if isinstance(default, list) else default
        line += f" [dim]\\[{t('default', value=shown)}][/]"
    elif not prompt.get("required"):
        line += f" [dim]{t('optional')}[/]"
    console.print(line, highlight=False)
    if prompt.get("help"):
        console.print(f"[dim]{prompt['help']}[/]", highlight=False)


def render_menu(console: Console, prompt: dict[str, Any]) -> None:
    bar = "  ".join(f"[bold]\\[{item['key']}][/] {item['label']}" for item in prompt["menu"])
    console.rule(style="dim")
    console.print(bar, highlight=False)
    if prompt.get("missing"):
        console.print(f"[dim]{t('before_continue', items='; '.join(prompt['missing']))}[/]", highlight=False)


def _render_drafts(console: Console, message: dict[str, Any]) -> None:
    for path in message["documents"]:
        console.print(f"[dim]{t('drafted')}[/] {path}", highlight=False)
    for decision in message["decisions"]:
        console.print(f"[dim]{t('decision')}[/] {escape(decision)}", highlight=False)
    for story in message["stories"]:
        console.print(f"[dim]{t('story')}[/] {escape(story)}", highlight=False)
    for error in message["errors"]:
        console.print(f"[red]{t('problem')}[/] {escape(error)}", highlight=False)


def _render_progress(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(*t("progress_columns").split("|"), title=t("progress"))
    for row in rows:
        marker = " ◀" if row.get("current") else ""
        table.add_row(row["id"], row["title"], row["status"] + marker)
    console.print(table)
