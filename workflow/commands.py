"""The engine's commands: new, chat, status, projects, decisions, validate, export.
Each is a thin layer over the engine API; output for machines with --json (DESIGN 4.2)."""

from __future__ import annotations

import getpass
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from workflow.context import current_settings


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def new(
    name: Annotated[str, typer.Argument(help="Project name (letters, digits, '.', '_', '-').")],
    user: Annotated[str | None, typer.Option("--user", help="Who is running the workflow.")] = None,
    pack: Annotated[str | None, typer.Option("--pack", help="Pack folder or shipped pack name.")] = None,
) -> None:
    """Create a project: sidecar.yaml, decision-log.md, project-spec.md and the phase folders."""
    from workflow.session import create_project

    settings = current_settings()
    folder = create_project(settings.output_dir, name, user=user or _user_name(), pack_ref=pack)
    typer.echo(f"Created {folder}. Start it with: cairn chat {name}")


def chat(
    name: Annotated[str, typer.Argument(help="Project to open or resume.")],
    answers: Annotated[Path | None, typer.Option("--answers", help="Answers file (facilitator mode).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="FIELD=VALUE or STEP.FIELD=VALUE.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Accept defaults and Continue at every menu.")] = False,
    goto: Annotated[str | None, typer.Option("--goto", help="Reopen an earlier step, then come back.")] = None,
    llm: Annotated[str | None, typer.Option("--llm", help="Chat model for this session, e.g. "
                                            "'openai:gpt-4.1-mini', or 'scripted'.")] = None,
) -> None:
    """Open or resume the guided session of a project."""
    from workflow.answers import AnswerPlan
    from workflow.chat import make_reader, run_chat
    from workflow.session import Session

    settings = current_settings()
    plan = AnswerPlan.from_file(answers, set_, yes)
    from workflow.llm.terminal import model_for_session, run_model_chat

    model = model_for_session(settings.config, llm, answers_file=plan.active)
    console = _console()
    knowledge = open_knowledge(settings.config)
    try:
        with Session(output_dir=settings.output_dir, name=name, config=settings.config, knowledge=knowledge) as session:
            if goto:
                session.goto(goto)
            try:
                code = run_chat(session, console, make_reader(console), plan) if model is None else \
                    run_model_chat(session, console, make_reader(console), model)
            except KeyboardInterrupt:
                console.print(f"\nInterrupted; progress saved. Resume with `cairn chat {name}`.")
                raise typer.Exit(130) from None
    finally:
        knowledge.close()
    raise typer.Exit(code)


def open_knowledge(config: Any) -> Any:
    """The session's knowledge client: the Knowledge MCP server, or a null client that makes
    each step say in one line that knowledge is unavailable."""
    from workflow.knowledge.protocol import NullKnowledgeClient

    if not config.knowledge.enabled:
        return NullKnowledgeClient("knowledge is disabled in config.yaml")
    try:
        from workflow.knowledge.client import open_knowledge_client
    except ImportError:
        return NullKnowledgeClient("the knowledge server is not installed")
    return open_knowledge_client(config)


def status_data(name: str) -> dict[str, Any]:
    from workflow.session import pack_for
    from workflow.store import read_sidecar, require_project
    from workflow.summary import progress_rows

    folder = require_project(current_settings().output_dir, name)
    sidecar = read_sidecar(folder)
    pack = pack_for(sidecar)
    from workflow.review import project_status

    rows = [{"id": r["id"], "title": r["title"], "status": r["status"]} for r in progress_rows(pack, sidecar)]
    return {"project": name, "workflow_status": sidecar.get("workflow_status"),
            "currentStep": sidecar.get("currentStep"), "steps": rows,
            "architecture": sidecar.get("architecture"), "last_run": _last_run(folder),
            "usage": sidecar.get("usage") or {}, **project_status(pack, sidecar, folder)}


def _last_run(folder: Path) -> Any:
    try:
        from workflow.training.runs import last_run_summary
    except ImportError:
        return None
    return last_run_summary(folder)


def status(
    name: Annotated[str, typer.Argument(help="Project name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (DESIGN 4.2).")] = False,
) -> None:
    """Show where a project stands."""
    data = status_data(name)
    if as_json:
        _print_json(data)
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{name}[/]: {data['workflow_status']}, current step {data['currentStep'] or '-'}, "
                  f"architecture {data['architecture'] or 'not decided'}")
    table = Table("step", "title", "status")
    for row in data["steps"]:
        table.add_row(row["id"], row["title"], row["status"])
    console.print(table)
    for step_id, usage in (data["usage"] or {}).items():
        console.print(f"tokens at step {step_id}: prompt {usage.get('prompt_tokens', 0)}, "
                      f"completion {usage.get('completion_tokens', 0)}")
    spec = data["training_spec"]
    if spec["approved"]:
        state = "unchanged since" if spec["unchanged"] else "[red]edited after[/]"
        console.print(f"training spec: approved by {spec['by']} at {spec['at']} ({state} approval)")
    for line in data["stale"]:
        console.print(f"[yellow]stale:[/] {escape(line)}", highlight=False)
    if data["last_run"]:
        run = data["last_run"]
        console.print(f"last training run: {json.dumps(run, default=str)}")


def projects(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the projects in the output folder."""
    from workflow.store import list_projects

    rows = list_projects(current_settings().output_dir)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo(f"No projects in {current_settings().output_dir}. Create one with `cairn new NAME`.")
    for row in rows:
        typer.echo(f"{row['name']}\t{row['workflow_status']}\tstep {row['currentStep'] or '-'}")


def decisions(name: Annotated[str, typer.Argument()], as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List a project's decisions."""
    from workflow.store import read_sidecar, require_project

    data = read_sidecar(require_project(current_settings().output_dir, name)).get("decisions") or []
    if as_json:
        _print_json(data)
        return
    if not data:
        typer.echo("No decisions recorded yet.")
    for d in data:
        typer.echo(f"{d['id']}  {d['title']}: {d['choice']}\n    why: {d['rationale']}")


def validate(
    pack: Annotated[str | None, typer.Argument(help="Pack folder (default: the shipped pack).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a step pack: files, keys, expressions, templates, personas and the step graph."""
    from workflow.packs import check_pack

    loaded, problems = check_pack(pack)
    if as_json:
        _print_json({"ok": not problems, "problems": problems,
                     "steps": len(loaded.steps) if loaded else 0, "warnings": list(loaded.warnings) if loaded else []})
    elif problems:
        typer.echo(f"{len(problems)} problem(s):", err=True)
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
    elif loaded is not None:
        typer.echo(f"{loaded.name} {loaded.version}: {len(loaded.steps)} steps, "
                   f"{len(loaded.personas)} personas: OK")
    if loaded is not None and loaded.warnings and not as_json:
        typer.echo(f"{len(loaded.warnings)} warning(s):", err=True)
        for warning in loaded.warnings:
            typer.echo(f"  {warning}", err=True)
    if problems:
        raise typer.Exit(1)


def export(
    name: Annotated[str, typer.Argument()],
    html: Annotated[bool, typer.Option("--html", help="Write HTML instead of markdown.")] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Where to write (default: in the project).")] = None,
) -> None:
    """Write one shareable summary: decisions, documents, stories and open questions."""
    from workflow.fileio import atomic_write_text
    from workflow.session import pack_for
    from workflow.store import read_sidecar, require_project
    from workflow.summary import project_markdown

    folder = require_project(current_settings().output_dir, name)
    sidecar = read_sidecar(folder)
    text = project_markdown(pack_for(sidecar), sidecar, folder, full=True)
    if html:
        from markdown_it import MarkdownIt

        # html=False: raw HTML typed in answers or documents is shown as text, never run (stored XSS);
        # markdown-it already refuses javascript:, vbscript: and data: link targets.
        shown = re.sub(r"^<!-- (\S+) -->$", r"*\1*", text, flags=re.MULTILINE)
        body = MarkdownIt("commonmark", {"html": False}).enable("table").render(shown)
        text = (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title>"
                "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}</style>"
                f"</head><body>\n{body}</body></html>\n")
    target = out or folder / ("export.html" if html else "export.md")
    atomic_write_text(target, text)
    typer.echo(f"Wrote {target}")


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "architect"


def register(app: typer.Typer) -> None:
    app.command()(new)
    app.command()(chat)
    app.command()(status)
    app.command()(projects)
    app.command()(decisions)
    app.command()(validate)
    app.command()(export)
    from workflow.doctor import doctor  # typer and the standard library only at import time

    app.command()(doctor)
