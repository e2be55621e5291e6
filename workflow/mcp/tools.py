"""The workflow tools (DESIGN 7). Each call opens the project under its lock, hands the engine
one reply or command, and returns the engine's answer; the engine alone decides what a step
still needs. Errors for the client (a bad name, a path the step does not write, a locked
project) are `ToolError`s; a refused Continue is a normal result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from workflow.errors import CairnError
from workflow.fileio import disk_problem
from workflow.knowledge.protocol import KnowledgeToolError, KnowledgeUnavailable
from workflow.mcp import views
from workflow.mcp.brief import brief
from workflow.mcp.messages import for_model
from workflow.mcp.models import (
    ChooseResult,
    CurrentStep,
    DecisionResult,
    KnowledgeResult,
    NoteResult,
    Pong,
    Progress,
    ProjectList,
    ProjectRow,
    SaveResult,
    StoriesResult,
    StoryIn,
    SubmitResult,
)
from workflow.mcp.paths import check_relative
from workflow.mcp.values import split_answers
from workflow.mcp.workspace import Workspace

Project = Annotated[str, Field(min_length=1, max_length=64, description="Project name (see list_projects).")]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
DecisionId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                  description="e.g. TRAIN-001 (letters, digits, '.', '_', '-')")]
SeenStep = Annotated[str | None, Field(max_length=12, description=(
    "The step id current_step showed; the call is refused if another client moved the project on."))]
SeenVisit = Annotated[int | None, Field(ge=1, description="The `visit` current_step showed (optional, as `step`).")]
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
ADVANCE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
KnowledgeTool = Literal["search_knowledge", "get_decisions", "get_patterns", "get_warnings", "get_methodologies",
                        "list_sources", "compare_sources"]


def respond(model: BaseModel) -> CallToolResult:
    """Structured content plus a compact JSON text copy (the SDK's own copy is indented)."""
    data = model.model_dump(mode="json", by_alias=True)
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False,
                                                                            separators=(",", ":")))],
                          structured_content=data)


def run_for_model(fn: Callable[[], BaseModel], output_dir: Path | None = None) -> CallToolResult:
    """Call `fn`, turning Cairn's errors into tool errors the model can read and act on (with
    `output_dir`, without terminal commands or the server's absolute paths)."""
    try:
        return respond(fn())
    except ToolError as exc:
        raise ToolError(for_model(str(exc), output_dir) if output_dir else str(exc)) from None
    except (CairnError, KnowledgeToolError) as exc:
        raise ToolError(for_model(str(exc), output_dir) if output_dir else str(exc)) from None
    except KnowledgeUnavailable as exc:
        raise ToolError(f"knowledge unavailable: {exc}") from None
    except Exception as exc:  # the boundary: a full or read-only disk is a tool error, not a crash
        problem = disk_problem(exc)
        if problem is None:
            raise
        raise ToolError(for_model(problem, output_dir) if output_dir else problem) from None


def register_tools(server: MCPServer, ws: Workspace) -> None:
    """Add every workflow tool to `server`, working on the projects of `ws`."""

    def run(fn: Callable[[], BaseModel]) -> CallToolResult:
        return run_for_model(fn, ws.output_dir)

    def command(project: str, reply: dict[str, Any], *, step: str | None = None, visit: int | None = None,
                prepare: Callable[[Any, dict[str, Any]], dict[str, Any] | None] | None = None,
                ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Send one command to the project's waiting prompt: (result, next prompt, session state).
        `step`/`visit` (what the client last saw) refuse a stale call; `prepare(session, prompt)`
        may check or change the reply first (None: send nothing)."""
        with ws.project(project) as session:
            current = session.current()
            if current["kind"] == "done":
                raise ToolError(f"project '{project}' is complete: no step is in progress")
            _refuse_stale(session, current, step, visit)
            if prepare is not None:
                prepared = prepare(session, current)
                if prepared is None:
                    return {}, current, session.engine.missing(session.visit_state())
                reply = prepared
            prompt = session.send(reply)
            result = dict(prompt.get("result") or {})
            if "error" in result:
                raise ToolError(result["error"])
            return result, prompt, session.engine.missing(session.visit_state()) if prompt["kind"] != "done" else []

    @server.tool(annotations=READ)
    def list_projects() -> Annotated[CallToolResult, ProjectList]:
        """The projects in the output folder with their status and current step."""
        return run(lambda: ProjectList(projects=[
            ProjectRow(name=r["name"], workflow_status=r["workflow_status"], currentStep=r["currentStep"])
            for r in ws.projects()]))

    @server.tool(annotations=ADVANCE)
    def create_project(
        name: Project,
        user_name: Annotated[str, Field(min_length=1, max_length=200, description="Who runs the workflow.")],
        pack: Annotated[str | None, Field(max_length=500, description="Pack folder or shipped pack name.")] = None,
    ) -> Annotated[CallToolResult, Progress]:
        """Create a project (sidecar, decision log, phase folders) and return its progress."""

        def create() -> Progress:
            ws.create(name, user=user_name, pack=pack)
            return Progress.model_validate(ws.progress(name))

        return run(create)

    @server.tool(annotations=READ)
    def open_project(name: Project) -> Annotated[CallToolResult, Progress]:
        """Open (or resume) a project and return its progress. Fails while a terminal session has it open."""

        def open_() -> Progress:
            with ws.project(name) as session:
                session.current()
            return Progress.model_validate(ws.progress(name))

        return run(open_)

    @server.tool(annotations=READ)
    def current_step(
        project: Project,
        detail: Annotated[Literal["full", "brief"], Field(description=(
            "'brief' leaves out what does not change within a step visit (guidance text, persona style, "
            "knowledge bodies, context summaries, the form schema, draft texts): use it between "
            "your own calls, and 'full' when the step is new to you or before showing the drafts."))] = "full",
    ) -> Annotated[CallToolResult, CurrentStep]:
        """The step in progress: persona, guidance, form (schema and answers so far), context
        documents, knowledge results, menu, and `missing` (what Continue still needs). The server
        drafts the step's documents, decisions and stories from the answers once every required
        answer is in, so until then `missing` lists them too. Ask the user the questions; never
        invent answers."""

        def view() -> CurrentStep:
            with ws.project(project) as session:
                prompt = session.current()
                data = views.current_step(session, prompt, session.visit_state())
                return CurrentStep.model_validate(brief(data) if detail == "brief" else data)

        return run(view)

    @server.tool(annotations=WRITE)
    def submit_answers(
        project: Project,
        answers: Annotated[dict[str, Any], Field(description=(
            "Form field -> the user's answer, in the field's JSON type: strings for text, numbers for int "
            "and float, true/false for bool, a choice by its value (not its number), lists of strings."))],
        step: SeenStep = None,
        visit: SeenVisit = None,
    ) -> Annotated[CallToolResult, SubmitResult]:
        """Record the user's answers to the current step's form. Each field is checked against its
        type; bad ones come back in `errors` (ask the user again). A reopened step keeps its earlier
        answers unless changed."""

        refused: dict[str, str] = {}

        def typed(session: Any, prompt: dict[str, Any]) -> dict[str, Any] | None:
            form = session.pack.step(str(prompt["step"]["id"])).meta.form
            good, errors = split_answers(form, answers)
            refused.update(errors)
            return {"command": "answers", "values": good} if good or not errors else None

        def submit() -> SubmitResult:
            result, prompt, missing = command(project, {"command": "answers", "values": answers}, step=step,
                                              visit=visit, prepare=typed)
            return SubmitResult(accepted=result.get("accepted") or {},
                                errors={**refused, **(result.get("errors") or {})},
                                missing=missing, next=views.next_label(prompt))

        return run(submit)

    @server.tool(annotations=WRITE)
    def save_document(
        project: Project,
        path: Annotated[str, Field(min_length=1, max_length=300, description="One of the step's output paths.")],
        content: Annotated[str, Field(min_length=1, max_length=1_000_000, description="The whole document.")],
    ) -> Annotated[CallToolResult, SaveResult]:
        """Write one of the current step's declared documents (written to disk on Continue, in place
        of the engine's draft). Only paths the step declares are accepted."""

        def save() -> SaveResult:
            check_relative(path)
            result, _, _ = command(project, {"command": "document", "path": path, "content": content})
            return SaveResult(saved=bool(result.get("saved")), path=str(result.get("path")))

        return run(save)

    @server.tool(annotations=WRITE)
    def record_decision(
        project: Project,
        id: DecisionId,
        title: Text,
        choice: Text,
        rationale: Text,
        knowledge_ref: Annotated[str | None, Field(max_length=2000)] = None,
    ) -> Annotated[CallToolResult, DecisionResult]:
        """Record a decision the user made at this step (replaces the drafted one with the same id;
        logged on Continue)."""

        def record() -> DecisionResult:
            result, _, _ = command(project, {"command": "decision", "id": id, "title": title, "choice": choice,
                                             "rationale": rationale, "knowledge_ref": knowledge_ref})
            return DecisionResult(recorded=bool(result.get("recorded")), id=str(result.get("id")))

        return run(record)

    @server.tool(annotations=WRITE)
    def add_note(
        project: Project,
        text: Annotated[str, Field(min_length=1, max_length=2000, description="The user's note, as they said it.")],
    ) -> Annotated[CallToolResult, NoteResult]:
        """Keep a note the user made at this step (an open question, a caveat); notes reach the sidecar
        and the project summary's open questions on Continue, as notes typed at the terminal's menu."""

        def note() -> NoteResult:
            result, _, _ = command(project, {"command": "note", "text": text})
            return NoteResult(noted=bool(result.get("noted")), notes=int(result.get("notes") or 0))

        return run(note)

    @server.tool(annotations=ADVANCE)
    def goto(
        project: Project,
        step: Annotated[str, Field(min_length=1, max_length=12, description="A completed step to reopen.")],
    ) -> Annotated[CallToolResult, Progress]:
        """Reopen a completed step (only when the user asks) with its answers prefilled; completing it
        returns the project to the step that was in progress. Answers given in that step since it
        began are dropped."""

        def reopen() -> Progress:
            with ws.project(project) as session:
                session.goto(step)
            return Progress.model_validate(ws.progress(project))

        return run(reopen)

    @server.tool(annotations=WRITE)
    def add_stories(
        project: Project,
        stories: Annotated[list[StoryIn], Field(min_length=1, max_length=50)],
    ) -> Annotated[CallToolResult, StoriesResult]:
        """Add implementation stories the user agreed to (ids follow the step's drafted stories)."""

        def add() -> StoriesResult:
            items = [story.model_dump() for story in stories]
            result, _, _ = command(project, {"command": "stories", "stories": items})
            with ws.project(project) as session:
                drafted = (session.visit_state().get("draft") or {}).get("stories") or []
            return StoriesResult(added=int(result.get("added") or 0),
                                 stories=[{"id": s["id"], "title": s["title"]} for s in drafted])

        return run(add)

    @server.tool(annotations=ADVANCE)
    def choose(
        project: Project,
        option: Annotated[str, Field(min_length=1, max_length=12, description="A menu key, e.g. C.")],
        target: Annotated[str | None, Field(max_length=12, description="The step to send back to (REVISE).")] = None,
        acknowledge: Annotated[dict[str, Annotated[str, Field(max_length=2000)]] | None, Field(
            max_length=50, description="With C: {check id: the user's reason} for each `confirm` check the user "
                                       "decided to go on despite (recorded in the decision log).")] = None,
        step: SeenStep = None,
        visit: SeenVisit = None,
    ) -> Annotated[CallToolResult, ChooseResult]:
        """Take a menu option of the current step, only when the user says so and has seen the drafts
        (current_step's `drafts.texts`) and checks. Continue (C) advances only when nothing is missing;
        otherwise `advanced` is false and `missing` says what to do."""

        def check_target(session: Any, prompt: dict[str, Any]) -> dict[str, Any]:
            if target is not None:
                _refuse_unknown_target(session.pack.step(str(prompt["step"]["id"])), target)
            return reply

        reply: dict[str, Any] = {"command": "choose", "key": option}

        def take() -> ChooseResult:
            if target is not None:
                reply["target"] = target
            if acknowledge is not None:
                reply["acknowledge"] = acknowledge
            result, prompt, missing = command(project, reply, step=step, visit=visit, prepare=check_target)
            advanced = bool(result.get("advanced"))
            now = None if prompt["kind"] == "done" else str(prompt["step"]["id"])
            message = views.finished_message(prompt) if advanced else str(result.get("message") or "")
            return ChooseResult(advanced=advanced, step=now, missing=[] if advanced else list(result.get("missing")
                                                                                                or missing),
                                message=message, progress=result.get("progress"), personas=result.get("personas"))

        return run(take)

    @server.tool(annotations=READ)
    def progress(project: Project) -> Annotated[CallToolResult, Progress]:
        """Every step's status, as `cairn status --json`."""
        return run(lambda: Progress.model_validate(ws.progress(project)))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False))
    def query_knowledge(
        project: Project,
        tool: KnowledgeTool,
        topic_or_query: Annotated[str, Field(max_length=2000)] = "",
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
        source_ids: Annotated[list[str] | None, Field(max_length=50, description="For compare_sources.")] = None,
    ) -> Annotated[CallToolResult, KnowledgeResult]:
        """Ask the Knowledge server: search_knowledge takes a query, the get_* tools a topic,
        compare_sources a topic and source_ids (from list_sources)."""

        def ask() -> KnowledgeResult:
            ws.folder(project)
            arguments: dict[str, Any] = {"limit": limit}
            if tool == "search_knowledge":
                arguments["query"] = topic_or_query
            elif tool == "compare_sources":
                arguments = {"topic": topic_or_query, "source_ids": source_ids or [], "limit_per_source": limit}
            elif tool != "list_sources":
                arguments["topic"] = topic_or_query
            try:
                response = ws.knowledge.call(tool, arguments)
            except KnowledgeUnavailable:
                log(ok=False, results=[])
                raise
            result = KnowledgeResult.model_validate(response)
            log(ok=True, results=result.results)
            return result

        def log(*, ok: bool, results: list[dict[str, Any]]) -> None:
            """Keep the query with the step in progress, as the terminal keeps its own queries."""
            with ws.project(project) as session:
                if session.current()["kind"] != "done":
                    session.send({"command": "knowledge", "tool": tool, "topic_or_query": topic_or_query,
                                  "ok": ok, "results": results})

        return run(ask)

    @server.tool(annotations=READ)
    async def ping() -> Annotated[CallToolResult, Pong]:
        """Liveness check that does no work (the benchmark's baseline)."""
        return respond(Pong(ok=True))


def _refuse_stale(session: Any, prompt: dict[str, Any], step: str | None, visit: int | None) -> None:
    """Refuse a call made on what the client saw before another client moved the project on."""
    current = str(prompt["step"]["id"])
    if step is not None and str(step) != current:
        raise ToolError(f"step {step} is no longer in progress (another client moved the project on to step "
                        f"{current}); call current_step and show the user where the project is now")
    seen_visit = int(session.visit_state().get("visit") or 1)
    if visit is not None and visit != seen_visit:
        raise ToolError(f"visit {visit} of step {current} is over (it is visit {seen_visit} now); call current_step "
                        "again before answering")


def _refuse_unknown_target(step: Any, target: str) -> None:
    """A REVISE target must be one of the choices of the step's target field, by value: '10' must
    never be read as the tenth choice."""
    revise = step.meta.revise
    if revise is None or not revise.target_field:
        return
    choices = step.meta.form[revise.target_field].choices or []
    if choices and target.strip() not in choices:
        raise ToolError(f"target '{target}' is not a step step {step.id} can send the project back to; "
                        f"give one of: {', '.join(choices)}")
