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
from workflow.errors import AnswersRefused, NeedsAnswer
from workflow.i18n import t, use_language
from workflow.review_view import render_confirm, render_pushback, render_review
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
    except (NeedsAnswer, AnswersRefused):
        run_file.unlink(missing_ok=True)
        raise
    run_file.unlink(missing_ok=True)  # the run ended: the next one starts its lists afresh
    return code


def _converse(session: Session, console: Console, reader: LineReader, plan: AnswerPlan,
              run_file: Path | None) -> int:
    interactive = not plan.yes
    compact = plan.yes  # an unattended run lists the drafts; their text is in the files afterwards
    prompt = session.current()
    while True:
        render_messages(console, prompt.get("messages") or [], compact=compact)
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
            label = t("confirm_prompt") if prompt.get("confirm") else t("choose_prompt")
        from_plan = reply is not NO_ANSWER
        if reply is NO_ANSWER:
            if not interactive:
                step = prompt["step"]
                if prompt.get("confirm"):
                    raise AnswersRefused(t("continue_refused", id=step["id"], title=step["title"],
                                           items=_bullets(prompt.get("missing") or [])))
                what = t("no_answer_field", field=prompt["field"]) if prompt["kind"] == "question" \
                    else t("no_answer_menu")
                raise NeedsAnswer(t("no_answer", id=step["id"], title=step["title"], what=what))
            if prompt["kind"] == "question" and prompt.get("type") in ("list", "multi"):
                line = _read_lines(reader, label)
            else:
                line = reader.read(label)
            if line is None:
                console.print(t("input_ended", name=session.name))
                return 0
            reply = _command(line, prompt)
        elif plan.active:
            shown = reply.get("value", reply.get("command")) if isinstance(reply, dict) else reply
            console.print(f"{label}{shown if shown != '' else '(default)'}", markup=False, highlight=False)
        answered = prompt
        prompt = session.send(reply)
        if from_plan:
            _refuse_repeats(answered, prompt, reply, stop_on_refusal=plan.yes)
        if run_file is not None:
            # After the send: a run killed in between replays that reply rather than skipping it.
            plan.save(run_file)


def _refuse_repeats(answered: dict[str, Any], prompt: dict[str, Any], reply: Any, *, stop_on_refusal: bool) -> None:
    """An answers file gives the same reply every time it is asked: when the step refused it,
    stop now (naming the step, the field or the refusal) instead of asking again forever."""
    step = answered["step"]
    if answered["kind"] == "question":
        same = prompt.get("kind") == "question" and prompt.get("field") == answered["field"] \
            and prompt["step"]["id"] == step["id"]
        if same and prompt.get("error"):
            raise AnswersRefused(t("answer_rejected", id=step["id"], title=step["title"],
                                   field=answered["field"], error=prompt["error"]))
        return
    messages = prompt.get("messages") or []
    refusal = next((m for m in messages if m.get("kind") == "refusal"), None)
    if refusal is not None and stop_on_refusal:
        raise AnswersRefused(t("continue_refused", id=step["id"], title=step["title"],
                               items=_bullets(refusal.get("missing") or [])))
    error = next((m for m in messages if m.get("kind") == "error"), None)
    if error is not None and prompt.get("kind") == "menu":
        key = reply.get("value") if isinstance(reply, dict) else reply
        raise AnswersRefused(t("menu_rejected", id=step["id"], title=step["title"], pressed=key, error=error["text"]))


def _bullets(items: list[str]) -> str:
    return "\n".join(f"  - {item}" for item in items)


def _read_lines(reader: LineReader, label: str) -> str | None:
    """A list answer: one item per line until an empty line (an empty first line keeps the
    default); a first line in YAML list form (`[a, b]`) or a command is the whole answer."""
    first = reader.read(label)
    if first is None or not first.strip() or first.strip().startswith(("[", "/")):
        return first
    lines = [first]
    while True:
        more = reader.read("… ")
        if more is None or not more.strip():
            return "\n".join(lines)
        lines.append(more)


def _command(line: str, prompt: dict[str, Any]) -> Any:
    if prompt["kind"] == "question" and line.strip() == "/skip":
        return {"command": "skip"}
    return line


def render_messages(console: Console, messages: list[dict[str, Any]], *, compact: bool = False) -> None:
    for message in messages:
        kind = message.get("kind")
        if kind == "header":
            step = message["step"]
            title = t("step_title", id=step["id"], title=step["title"])
            who = f"{step.get('icon') or ''} {step['persona']} — {step['role']}".strip()
            body = f"[bold]{escape(who)}[/]\n{escape(message.get('description') or '')}"
            if message.get("style"):
                body += f"\n[dim]{escape(message['style'])}[/]"
            console.print(Panel(body, title=escape(title), title_align="left", border_style="cyan"))
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
                console.print(f"  • {escape('[' + str(result.get('type')) + ']')} {escape(str(result.get('title')))} "
                              f"[dim]({escape(str(result['id']))}; {escape(str(source))})[/]", highlight=False)
        elif kind == "review":
            render_review(console, message, compact=compact)
        elif kind == "pushback":
            render_pushback(console, message)
        elif kind == "revision":
            console.print(Panel(escape(message["text"]), border_style="yellow"))
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
            console.print(f"[green]✔ {escape(message['text'])}[/]", highlight=False)
        else:
            console.print(str(message.get("text", "")), markup=False, highlight=False)


def render_question(console: Console, prompt: dict[str, Any]) -> None:
    if prompt.get("error"):
        console.print(f"[red]{escape(prompt['error'])}[/]", highlight=False)
    line = f"[bold]{escape(prompt['ask'])}[/]"
    if prompt.get("choices"):
        line += " " + " / ".join(f"{i}) {escape(c)}" for i, c in enumerate(prompt["choices"], 1))
    default = prompt.get("default")
    if default not in (None, "", []):
        shown = ", ".join(map(str, default)) if isinstance(default, list) else default
        line += f" [dim]\\[{escape(t('default', value=shown))}][/]"
    elif not prompt.get("required"):
        line += f" [dim]{t('optional')}[/]"
    if prompt.get("type") in ("list", "multi"):
        line += f" [dim]{t('list_hint')}[/]"
    console.print(line, highlight=False)
    if prompt.get("help"):
        console.print(f"[dim]{escape(prompt['help'])}[/]", highlight=False)


def render_menu(console: Console, prompt: dict[str, Any]) -> None:
    if prompt.get("confirm"):
        render_confirm(console, prompt["confirm"])
        return
    bar = "  ".join(f"[bold]\\[{escape(item['key'])}][/] {escape(item['label'])}" for item in prompt["menu"])
    console.rule(style="dim")
    console.print(bar, highlight=False)
    if prompt.get("missing"):
        # checks are spelled out in the review above: name them only
        items = [m.split(":")[0] if m.startswith(("check ", "confirm ")) else m for m in prompt["missing"]]
        console.print(f"[dim]{escape(t('before_continue', items='; '.join(items)))}[/]", highlight=False)


def _render_progress(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(*t("progress_columns").split("|"), title=t("progress"))
    for row in rows:
        marker = " ◀" if row.get("current") else ""
        table.add_row(row["id"], row["title"], row["status"] + marker)
    console.print(table)
