"""The workflow tools (DESIGN 7). Each call opens the project under its lock, hands the engine
one reply or command, and returns the engine's answer; the engine alone decides what a step
still needs. Errors for the client (a bad name, a path the step does not write, a locked
project) are `ToolError`s; a refused Continue is a normal result."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from workflow.errors import CairnError
from workflow.knowledge.protocol import KnowledgeToolError, KnowledgeUnavailable
from workflow.mcp import views
from workflow.mcp.models import (
    ChooseResult,
    CurrentStep,
    DecisionResult,
    KnowledgeResult,
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
from workflow.mcp.workspace import Workspace

Project = Annotated[str, Field(min_length=1, max_length=64, description="Project name (see list_projects).")]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
KnowledgeTool = Literal["search_knowledge", "get_decisions", "get_patterns", "get_warnings", "get_methodologies",
                        "list_sources", "compare_sources"]


def respond(model: BaseModel) -> CallToolResult:
    """Structured content plus a compact JSON text copy (the SDK's own copy is indented)."""
    data = model.model_dump(mode="json", by_alias=True)
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False,
                                                                            separators=(",", ":")))],
                          structured_content=data)


def run(fn: Callable[[], BaseModel]) -> CallToolResult:
    """Call `fn`, turning Cairn's errors into tool errors the model can read and act on."""
    try:
        return respond(fn())
    except (CairnError, KnowledgeToolError) as exc:
        raise ToolError(str(exc)) from None
    except KnowledgeUnavailable as exc:
        raise ToolError(f"knowledge unavailable: {exc}") from None


def register_tools(server: MCPServer, ws: Workspace) -> None:
    """Add every workflow tool to `server`, working on the projects of `ws`."""

    def command(project: str, reply: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Send one command to the project's waiting prompt: (result, next prompt, session state)."""
        with ws.project(project) as session:
            if session.current()["kind"] == "done":
                raise ToolError(f"project '{project}' is complete: no step is in progress")
            prompt = session.send(reply)
            result = dict(prompt.get("result") or {})
            if "error" in result:
                raise ToolError(result["error"])
            return result, prompt, session.engine.missing(session.visit_state()) if prompt["kind"] != "done" else []

    @server.tool()
    def list_projects() -> Annotated[CallToolResult, ProjectList]:
        """The projects in the output folder with their status and current step."""
        return run(lambda: ProjectList(projects=[
            ProjectRow(name=r["name"], workflow_status=r["workflow_status"], currentStep=r["currentStep"])
            for r in ws.projects()]))

    @server.tool()
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

    @server.tool()
    def open_project(name: Project) -> Annotated[CallToolResult, Progress]:
        """Open (or resume) a project and return its progress. Fails while a terminal session has it open."""

        def open_() -> Progress:
            with ws.project(name) as session:
                session.current()
            return Progress.model_validate(ws.progress(name))

        return run(open_)

    @server.tool()
    def current_step(project: Project) -> Annotated[CallToolResult, CurrentStep]:
        """The step in progress: persona, guidance, form (schema and answers so far), context
        documents, knowledge results, menu, and `missing` (what Continue still needs). The server
        drafts the step's documents, decisions and stories from the answers once every required
        answer is in, so until then `missing` lists them too. Ask the user the questions; never
        invent answers."""

        def view() -> CurrentStep:
            with ws.project(project) as session:
                prompt = session.current()
                return CurrentStep.model_validate(views.current_step(session, prompt, session.visit_state()))

        return run(view)

    @server.tool()
    def submit_answers(
        project: Project,
        answers: Annotated[dict[str, Any], Field(description="Form field -> the user's answer.")],
    ) -> Annotated[CallToolResult, SubmitResult]:
        """Record the user's answers to the current step's form. Each field is checked against its
        type; bad ones come back in `errors` (ask the user again). A reopened step keeps its earlier
        answers unless changed."""

        def submit() -> SubmitResult:
            result, prompt, missing = command(project, {"command": "answers", "values": answers})
            return SubmitResult(accepted=result.get("accepted") or {}, errors=result.get("errors") or {},
                                missing=missing, next=views.next_label(prompt))

        return run(submit)

    @server.tool()
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

    @server.tool()
    def record_decision(
        project: Project,
        id: Annotated[str, Field(min_length=1, max_length=40, description="e.g. TRAIN-001")],
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

    @server.tool()
    def add_stories(
        project: Project,
        stories: Annotated[list[StoryIn], Field(min_length=1, max_length=50)],
    ) -> Annotated[CallToolResult, StoriesResult]:
        """Add implementation stories the user agreed to (ids follow the step's drafted stories)."""

        def add() -> StoriesResult:
            items = [story.model_dump() for story in stories]
            result, _, _ = command(project, {"command": "stories", "stories": items})
            return StoriesResult(added=int(result.get("added") or 0))

        return run(add)

    @server.tool()
    def choose(
        project: Project,
        option: Annotated[str, Field(min_length=1, max_length=12, description="A menu key, e.g. C.")],
        target: Annotated[str | None, Field(max_length=12, description="The step to send back to (REVISE).")] = None,
    ) -> Annotated[CallToolResult, ChooseResult]:
        """Take a menu option of the current step, only when the user says so. Continue (C) advances
        only when nothing is missing; otherwise `advanced` is false and `missing` says what to do."""

        def take() -> ChooseResult:
            reply: dict[str, Any] = {"command": "choose", "key": option}
            if target is not None:
                reply["target"] = target
            result, prompt, missing = command(project, reply)
            advanced = bool(result.get("advanced"))
            step = None if prompt["kind"] == "done" else str(prompt["step"]["id"])
            message = views.finished_message(prompt) if advanced else str(result.get("message") or "")
            return ChooseResult(advanced=advanced, step=step, missing=[] if advanced else list(result.get("missing")
                                                                                                or missing),
                                message=message, progress=result.get("progress"))

        return run(take)

    @server.tool()
    def progress(project: Project) -> Annotated[CallToolResult, Progress]:
        """Every step's status, as `cairn status --json`."""
        return run(lambda: Progress.model_validate(ws.progress(project)))

    @server.tool()
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

    @server.tool()
    async def ping() -> Annotated[CallToolResult, Pong]:
        """Liveness check that does no work (the benchmark's baseline)."""
        return respond(Pong(ok=True))
