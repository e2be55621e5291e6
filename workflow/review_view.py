"""How the terminal shows the review before Continue, the checks, and a persona's pushback.
Every value shown here comes from answers, packs or model text, so it is escaped or printed
without markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from workflow.i18n import t

_SEVERITY = {"block": "[bold red]⛔ block[/]", "confirm": "[bold yellow]⚠ confirm[/]", "note": "[cyan]ℹ note[/]"}


def render_review(console: Console, message: dict[str, Any], *, compact: bool = False) -> None:
    """Each drafted document (its text as markdown, paged when taller than the terminal, unless
    `compact` or the drafts were shown already), the decisions with their rationale, the stories,
    problems and the checks that tripped."""
    full = bool(message.get("full")) and not compact
    console.rule(f"[bold]{escape(t('review_heading'))}[/]", style="blue")
    for doc in message.get("documents") or []:
        console.print(f"[dim]{t('drafted')}[/] {escape(doc['path'])} [dim]({t('lines', n=doc['lines'])})[/]",
                      highlight=False)
        if full and doc.get("content") is not None:
            _show_document(console, doc)
    for decision in message.get("decisions") or []:
        console.print(f"[dim]{t('decision')}[/] {escape(str(decision['id']))}: {escape(str(decision['choice']))}",
                      highlight=False)
        if full and decision.get("rationale"):
            console.print(f"    {escape(str(decision['rationale']))}", style="dim", highlight=False)
    for story in message.get("stories") or []:
        console.print(f"[dim]{t('story')}[/] {escape(str(story['id']))}: {escape(str(story['title']))}",
                      highlight=False)
    for error in message.get("errors") or []:
        console.print(f"[red]{t('problem')}[/] {escape(str(error))}", highlight=False)
    render_checks(console, message.get("checks") or [])
    if not full and message.get("documents"):
        console.print(f"[dim]{t('view_again')}[/]")


def _show_document(console: Console, doc: dict[str, Any]) -> None:
    panel = Panel(Markdown(doc["content"]), title=escape(doc["path"]), title_align="left", border_style="blue")
    if console.is_terminal and doc["lines"] > max(console.size.height - 6, 10):
        with console.pager(styles=True):
            console.print(panel)
    else:
        console.print(panel)


def render_checks(console: Console, verdicts: list[dict[str, Any]]) -> None:
    if not verdicts:
        console.print(f"[green]✔ {t('no_checks_tripped')}[/]")
        return
    console.print(f"[bold]{t('checks_heading')}[/]")
    for verdict in verdicts:
        console.print(check_line(verdict), highlight=False)


def check_line(verdict: dict[str, Any]) -> str:
    """One check as a line of markup (its texts escaped)."""
    head = _SEVERITY.get(verdict["severity"], escape(verdict["severity"]))
    if verdict.get("error") and not verdict.get("tripped"):
        return f"  [dim]? {escape(verdict['id'])}: could not run ({escape(str(verdict['error']))})[/]"
    line = f"  {head} {escape(verdict['id'])}: {escape(str(verdict['message']))}"
    if verdict.get("fix"):
        line += f" [dim]Fix: {escape(str(verdict['fix']))}[/]"
    if verdict.get("acknowledged"):
        line += f" [green]({escape(t('acknowledged', reason=verdict['acknowledged']))})[/]"
    entry = verdict.get("entry")
    if entry:
        line += f"\n      [dim]{escape(t('backed_by', title=entry.get('title'), id=entry.get('id')))}[/]"
    return line


def render_pushback(console: Console, message: dict[str, Any]) -> None:
    """A persona's objection to the answer just given, with the knowledge entry behind it."""
    value = message.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    title = t("pushback_intro", persona=message.get("persona"), field=message.get("field"), value=shown)
    body = "\n".join(check_line(v) for v in message.get("checks") or [])
    console.print(Panel(body, title=escape(title), title_align="left", border_style="yellow"))


def render_confirm(console: Console, verdict: dict[str, Any] | None) -> None:
    console.print(f"[bold yellow]{t('confirm_heading')}[/]")
    if verdict:
        console.print(check_line(verdict), highlight=False)
