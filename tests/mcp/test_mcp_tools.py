"""The tools on the fixture mini pack, in memory: gating, argument errors, what the assistant
contributes, REVISE, several projects, and the project lock shared with the terminal."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import MINI, FakeKnowledge, open_session
from tests.mcp.mcp_support import ok, refused
from workflow import context
from workflow.commands import status_data
from workflow.config import Config
from workflow.context import Settings
from workflow.errors import LockedError
from workflow.session import Session
from workflow.store import read_sidecar

pytestmark = pytest.mark.anyio


async def new(client: Client, name: str = "p") -> str:
    await ok(client, "create_project", {"name": name, "user_name": "tester", "pack": str(MINI)})
    return name


async def test_current_step_has_the_documented_shape(client: Client) -> None:
    project = await new(client)
    view = await ok(client, "current_step", {"project": project})
    assert {"project", "step", "persona", "guidance", "form", "context", "knowledge", "menu", "missing"} <= set(view)
    assert view["step"] == {"id": "1", "title": "Scope", "phase": "phase-0-scoping"}
    assert view["persona"]["name"] == "Ada" and view["persona"]["role"] == "Analyst" and view["persona"]["style"]
    assert [s["heading"] for s in view["guidance"]] == ["Overview", "Use case"]
    assert list(view["form"]["schema"]) == ["use_case", "architecture", "monthly_requests"]
    assert view["form"]["schema"]["architecture"]["choices"] == ["rag-only", "fine-tuning", "hybrid"]
    assert view["form"]["schema"]["use_case"]["required"] is True
    assert view["form"]["answers"] == {}
    assert view["knowledge"][0]["title"] == "About RAG vs fine-tuning"
    assert [m["key"] for m in view["menu"]] == ["A", "Q", "P", "D", "C"], "D (view the drafts) is added by the engine"
    assert "answer: use_case" in view["missing"]
    assert view["kind"] == "question" and view["question"]["field"] == "use_case"


async def test_an_early_continue_is_a_normal_result_listing_what_is_missing(client: Client, out: Path) -> None:
    project = await new(client)
    chosen = await ok(client, "choose", {"project": project, "option": "C"})
    assert chosen["advanced"] is False and chosen["step"] == "1"
    assert chosen["missing"] == ["answer: use_case", "document: phase-0-scoping/scope.md",
                                 "decision: ARCH-001 (Architecture)"]
    assert read_sidecar(out / project)["currentStep"] == "1"
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    chosen = await ok(client, "choose", {"project": project, "option": "c"})
    assert chosen["advanced"] is True and chosen["step"] == "2" and chosen["missing"] == []
    assert "Step 1 (Scope) complete." in chosen["message"]


async def test_a_guard_keeps_continue_refused_until_it_clears(client: Client) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "rag-only"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "choose", {"project": project, "option": "C"})  # step 3, all defaults
    answered = await ok(client, "submit_answers", {"project": project,
                                                   "answers": {"decision": "GO", "blockers": ["no eval set"]}})
    assert answered["missing"] == ["GO is refused while blockers remain"]
    chosen = await ok(client, "choose", {"project": project, "option": "C"})
    assert chosen["advanced"] is False and chosen["missing"] == ["GO is refused while blockers remain"]
    await ok(client, "submit_answers", {"project": project, "answers": {"blockers": []}})
    chosen = await ok(client, "choose", {"project": project, "option": "C"})
    assert chosen["advanced"] is True and chosen["step"] is None
    assert "The workflow is complete." in chosen["message"]
    assert "is complete" in await refused(client, "submit_answers", {"project": project, "answers": {}})


async def test_bad_answers_come_back_per_field_and_good_ones_are_kept(client: Client) -> None:
    project = await new(client)
    result = await ok(client, "submit_answers", {"project": project, "answers": {
        "use_case": "support bot", "architecture": "cloud", "monthly_requests": -5, "colour": "red"}})
    assert result["accepted"] == {"use_case": "support bot"}
    assert "not one of" in result["errors"]["architecture"]
    assert "below the minimum" in result["errors"]["monthly_requests"]
    assert "no such field" in result["errors"]["colour"]
    view = await ok(client, "current_step", {"project": project})
    assert view["form"]["answers"]["use_case"] == "support bot"
    assert view["kind"] == "menu", "every required answer is present, so the step waits at its menu"


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "/abs", "x" * 65, "a\\b"])
async def test_a_bad_project_name_is_a_tool_error(client: Client, name: str, out: Path) -> None:
    message = await refused(client, "current_step", {"project": name})
    assert "invalid project name" in message or "at most 64 characters" in message
    assert not (out.parent / "escape").exists()


async def test_create_refuses_a_path_name_and_a_missing_project_says_how_to_create_it(client: Client,
                                                                                      out: Path) -> None:
    assert "invalid project name" in await refused(client, "create_project", {"name": "../x", "user_name": "u"})
    assert "create_project(name='ghost')" in await refused(client, "open_project", {"name": "ghost"})
    assert not (out.parent / "x").exists()


@pytest.mark.parametrize("path", [
    "../sidecar.yaml", "/etc/passwd", "phase-0-scoping/../../x.md", "phase-0-scoping\\scope.md",
    "phase-0-scoping//scope.md", "phase-3-inference/rag.md", "sidecar.yaml", "C:/x.md",
])
async def test_a_document_path_the_step_does_not_declare_is_refused(client: Client, out: Path, path: str) -> None:
    project = await new(client)
    message = await refused(client, "save_document", {"project": project, "path": path, "content": "# x"})
    assert path.replace("\\", "\\\\") in message or path in message
    assert read_sidecar(out / project)["currentStep"] == "1"
    assert not (out / "x.md").exists() and not (out.parent / "x.md").exists()


async def test_bad_argument_types_are_tool_errors_and_the_server_stays_up(client: Client) -> None:
    project = await new(client)
    for tool, arguments in [
        ("submit_answers", {"project": project, "answers": "use_case=x"}),
        ("submit_answers", {"project": project}),
        ("choose", {"project": project, "option": ["C"]}),
        ("add_stories", {"project": project, "stories": [{"title": "t"}]}),
        ("record_decision", {"project": project, "id": "X-1", "title": 3}),
        ("query_knowledge", {"project": project, "tool": "drop_tables", "topic_or_query": "x"}),
        ("current_step", {"project": 42}),
        ("no_such_tool", {}),
    ]:
        await refused(client, tool, arguments)
    assert (await ok(client, "ping", {}))["ok"] is True
    assert (await ok(client, "current_step", {"project": project}))["step"]["id"] == "1"


async def test_a_saved_document_replaces_the_engines_draft_on_disk(client: Client, out: Path) -> None:
    project = await new(client)
    saved = await ok(client, "save_document", {"project": project, "path": "phase-0-scoping/scope.md",
                                               "content": "# Scope by the assistant\n\nAgreed with the user."})
    assert saved == {"saved": True, "path": "phase-0-scoping/scope.md"}
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    view = await ok(client, "current_step", {"project": project})
    assert view["drafts"]["saved"] == ["phase-0-scoping/scope.md"]
    assert "document: phase-0-scoping/scope.md" not in view["missing"]
    await ok(client, "choose", {"project": project, "option": "C"})
    text = (out / project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8")
    assert text == "# Scope by the assistant\n\nAgreed with the user.\n"


async def test_a_recorded_decision_replaces_the_drafted_one_and_another_steps_id_is_refused(
        client: Client, out: Path) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    recorded = await ok(client, "record_decision", {
        "project": project, "id": "ARCH-001", "title": "Architecture", "choice": "hybrid",
        "rationale": "Fresh facts and a fixed output format", "knowledge_ref": "get_decisions:RAG vs fine-tuning"})
    assert recorded == {"recorded": True, "id": "ARCH-001"}
    assert "belongs to step 2" in await refused(client, "record_decision", {
        "project": project, "id": "TRAIN-001", "title": "t", "choice": "c", "rationale": "r"})
    await ok(client, "record_decision", {"project": project, "id": "COST-001", "title": "Budget",
                                         "choice": "cap at $500", "rationale": "the user's limit"})
    await ok(client, "choose", {"project": project, "option": "C"})
    decisions = {d["id"]: d for d in read_sidecar(out / project)["decisions"]}
    assert decisions["ARCH-001"]["rationale"] == "Fresh facts and a fixed output format"
    assert decisions["ARCH-001"]["knowledge_ref"] == "get_decisions:RAG vs fine-tuning"
    assert decisions["COST-001"]["step"] == "1"
    log = (out / project / "decision-log.md").read_text(encoding="utf-8")
    assert log.count("## ARCH-001") == 1 and "Fresh facts and a fixed output format" in log


async def test_added_stories_follow_the_drafted_ones_and_need_a_step_that_has_stories(
        client: Client, out: Path) -> None:
    project = await new(client)
    assert "declares no stories" in await refused(client, "add_stories", {
        "project": project, "stories": [{"title": "t", "acceptance_criteria": ["a"]}]})
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "hybrid"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    added = await ok(client, "add_stories", {"project": project, "stories": [
        {"title": "Build the eval set", "description": "200 labelled tickets", "acceptance_criteria": ["reviewed"]}]})
    assert added["added"] == 1
    assert added["stories"][-1] == {"id": "TRAIN-S02", "title": "Build the eval set"}, "the new story's id"
    view = await ok(client, "current_step", {"project": project})
    assert [s["id"] for s in view["drafts"]["stories"]] == ["TRAIN-S01", "TRAIN-S02"]
    await ok(client, "choose", {"project": project, "option": "C"})
    stories = read_sidecar(out / project)["stories"]["step_2_training"]
    assert stories[1] == {"id": "TRAIN-S02", "title": "Build the eval set", "description": "200 labelled tickets",
                          "acceptance_criteria": ["reviewed"]}
    assert "- TRAIN-S02 Build the eval set" in (out / project / "phase-2-training" / "train.md").read_text(
        encoding="utf-8"), "the step's document lists the added story"


async def test_documents_show_the_decisions_the_assistant_recorded(client: Client, out: Path) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "rag-only"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "submit_answers", {"project": project, "answers": {"decision": "GO"}})
    await ok(client, "record_decision", {"project": project, "id": "INTEG-001", "title": "Go or revise",
                                         "choice": "GO after the load test", "rationale": "p95 under 2 s"})
    await ok(client, "record_decision", {"project": project, "id": "INTEG-002", "title": "Rollout",
                                         "choice": "canary at 5%", "rationale": "limits the blast radius"})
    view = await ok(client, "current_step", {"project": project})
    assert [d["id"] for d in view["drafts"]["decisions"]] == ["INTEG-001", "INTEG-002"]
    await ok(client, "choose", {"project": project, "option": "C"})
    review = (out / project / "phase-6-integration" / "review.md").read_text(encoding="utf-8")
    assert "- INTEG-001: GO after the load test" in review and "- INTEG-002: canary at 5%" in review
    assert "- INTEG-001: GO\n" not in review


async def test_revise_with_a_target_reopens_that_step_prefilled_then_returns(client: Client, out: Path) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "rag-only"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "submit_answers", {"project": project, "answers": {"decision": "GO"}})
    assert "used only when" in await refused(client, "choose", {"project": project, "option": "C", "target": "1"})
    await ok(client, "submit_answers", {"project": project, "answers": {"decision": "REVISE"}})
    assert "not a step" in await refused(client, "choose", {"project": project, "option": "C", "target": "9"})
    chosen = await ok(client, "choose", {"project": project, "option": "C", "target": "1"})
    assert chosen["advanced"] is True and chosen["step"] == "1"
    view = await ok(client, "current_step", {"project": project})
    assert view["form"]["previous"]["use_case"] == "u"
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "better use case"}})
    chosen = await ok(client, "choose", {"project": project, "option": "C"})
    assert chosen["step"] == "4", "completing the revised step returns to the reviewer"
    await ok(client, "submit_answers", {"project": project, "answers": {"decision": "GO"}})
    assert (await ok(client, "choose", {"project": project, "option": "C"}))["step"] is None
    sidecar = read_sidecar(out / project)
    assert sidecar["answers"]["1"] == {"use_case": "better use case", "architecture": "rag-only",
                                       "monthly_requests": 1000}
    assert sidecar["answers"]["4"] == {"blockers": [], "decision": "GO"}
    assert (out / project / "phase-6-integration" / "revision-request.md").is_file()
    assert "## ARCH-001: Architecture (revision)" in (out / project / "decision-log.md").read_text(encoding="utf-8")


async def test_menu_options_other_than_continue_behave_as_in_the_terminal(client: Client,
                                                                          knowledge: FakeKnowledge) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u"}})
    shown = await ok(client, "choose", {"project": project, "option": "P"})
    assert shown["advanced"] is False and [r["status"] for r in shown["progress"]][0] == "in_progress"
    before = len(knowledge.calls)
    requeried = await ok(client, "choose", {"project": project, "option": "Q"})
    assert requeried["advanced"] is False and len(knowledge.calls) == before + 1
    assert "not an option" in await refused(client, "choose", {"project": project, "option": "S"})
    revised = await ok(client, "choose", {"project": project, "option": "A"})
    assert revised["advanced"] is False
    view = await ok(client, "current_step", {"project": project})
    assert view["kind"] == "question" and view["form"]["previous"]["use_case"] == "u"
    assert (await ok(client, "choose", {"project": project, "option": "C"}))["advanced"] is True, \
        "Continue keeps the earlier answers of a revised step"


async def test_several_projects_are_driven_at_once(client: Client, out: Path) -> None:
    await new(client, "alpha")
    await new(client, "beta")
    async with anyio.create_task_group() as group:
        group.start_soon(ok, client, "submit_answers", {"project": "alpha", "answers": {"use_case": "a"}})
        group.start_soon(ok, client, "submit_answers", {"project": "beta", "answers": {"use_case": "b"}})
    await ok(client, "choose", {"project": "alpha", "option": "C"})
    assert read_sidecar(out / "alpha")["currentStep"] == "2"
    assert read_sidecar(out / "beta")["currentStep"] == "1"
    beta = await ok(client, "current_step", {"project": "beta"})
    assert beta["form"]["answers"]["use_case"] == "b"


async def test_a_project_open_in_a_terminal_is_refused_with_a_clear_message(client: Client, out: Path) -> None:
    project = await new(client)
    terminal = open_session(out, project)
    try:
        message = await refused(client, "current_step", {"project": project})
        assert "locked by another session" in message and "close it first" in message
    finally:
        terminal.close()
    assert (await ok(client, "current_step", {"project": project}))["step"]["id"] == "1"


class BlockingKnowledge(FakeKnowledge):
    """Holds the first call until released, so a test can act while a tool call is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.entered.set()
        assert self.release.wait(timeout=30), "the test never released the call"
        return super().call(tool, arguments)


@pytest.mark.parametrize("knowledge", [BlockingKnowledge()], ids=["blocking"])
async def test_a_terminal_opened_during_a_call_is_refused(client: Client, out: Path,
                                                          knowledge: BlockingKnowledge) -> None:
    await new(client)
    outcome: dict[str, Any] = {}

    async def first_view() -> None:
        outcome["view"] = await ok(client, "current_step", {"project": "p"})

    async with anyio.create_task_group() as group:
        group.start_soon(first_view)  # entering step 1 consults the knowledge base, which blocks
        assert await anyio.to_thread.run_sync(knowledge.entered.wait, 30)
        with pytest.raises(LockedError, match="locked by another session"):
            Session(output_dir=out, name="p", config=Config(), knowledge=FakeKnowledge()).open()
        knowledge.release.set()
    assert outcome["view"]["step"]["id"] == "1"


async def test_project_files_are_resources_and_traversal_is_refused(client: Client, out: Path) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    index = await client.read_resource(f"cairn://projects/{project}")
    listing = index.contents[0].text  # type: ignore[union-attr]
    assert "phase-0-scoping/scope.md" in listing and "sidecar.yaml" in listing
    document = await client.read_resource(f"cairn://projects/{project}/phase-0-scoping/scope.md")
    assert "triage" in document.contents[0].text  # type: ignore[union-attr]
    sidecar = await client.read_resource(f"cairn://projects/{project}/sidecar.yaml")
    assert "currentStep: '2'" in sidecar.contents[0].text  # type: ignore[union-attr]
    log = await client.read_resource(f"cairn://projects/{project}/decision-log.md")
    assert "ARCH-001" in log.contents[0].text  # type: ignore[union-attr]
    (out / "secret.txt").write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    for uri in [f"cairn://projects/{project}/../secret.txt", f"cairn://projects/{project}/.cairn/lock.holder",
                f"cairn://projects/{project}/phase-0-scoping/missing.md", "cairn://projects/ghost/sidecar.yaml"]:
        with pytest.raises(MCPError) as caught:
            await client.read_resource(uri)
        assert "TOP-SECRET-CONTENT" not in str(caught.value)


async def test_each_step_has_a_prompt_that_says_ask_never_invent_and_choose_only_when_told(client: Client) -> None:
    project = await new(client)
    listed = await client.list_prompts()
    names = {p.name for p in listed.prompts}
    assert {"facilitate", "step-1", "step-2a", "step-5", "step-10"} <= names
    prompt = await client.get_prompt("facilitate", {"project": project})
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "step 1 (Scope)" in text and "as Ada, Analyst" in text
    assert "never invent an answer" in text and "Call `choose` only with the option the user picks" in text
    assert "[C] Continue" in text and "Name one primary use case." in text


async def test_progress_matches_cairn_status_json(client: Client, out: Path, workspace: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    monkeypatch.setattr(context, "_current", Settings(output_dir=out, config=workspace.config))
    assert await ok(client, "progress", {"project": project}) == status_data(project)


async def test_query_knowledge_passes_through_and_names_the_tool(client: Client, knowledge: FakeKnowledge) -> None:
    project = await new(client)
    result = await ok(client, "query_knowledge", {"project": project, "tool": "get_warnings",
                                                  "topic_or_query": "data leakage", "limit": 3})
    assert result["results"][0]["title"] == "About data leakage"
    # The first query also starts the step's visit, which makes the step's own queries.
    assert knowledge.calls[0] == ("get_warnings", {"limit": 3, "topic": "data leakage"})
    await ok(client, "query_knowledge", {"project": project, "tool": "search_knowledge", "topic_or_query": "lora"})
    assert knowledge.calls[-1] == ("search_knowledge", {"limit": 10, "query": "lora"})


async def test_an_assistants_queries_are_logged_with_the_step_they_were_made_in(
    client: Client, out: Path
) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    await ok(client, "query_knowledge", {"project": project, "tool": "get_warnings", "topic_or_query": "leakage"})
    view = await ok(client, "current_step", {"project": project})
    assert view["kind"] == "menu"  # the query did not move the visit
    assert "About leakage" in [k["title"] for k in view["knowledge"]]
    assert (await ok(client, "choose", {"project": project, "option": "C"}))["advanced"] is True
    log = read_sidecar(out / project)["knowledge_log"]
    assert [(e["step"], e["tool"], e["topic_or_query"], e["ok"]) for e in log][-1] == (
        "1", "get_warnings", "leakage", True)
    assert log[-1]["result_ids"] == ["dec-2"]  # the step's own query was dec-1
    assert [e["step"] for e in log].count("1") == 2


@pytest.mark.parametrize("knowledge", [FakeKnowledge(fail=True)], ids=["down"])
async def test_unavailable_knowledge_is_a_warning_in_the_step_and_an_error_for_a_query(client: Client,
                                                                                      out: Path) -> None:
    project = await new(client)
    view = await ok(client, "current_step", {"project": project})
    assert view["knowledge"] == [] and "unavailable" in view["knowledge_warning"]
    assert "timed out" in await refused(client, "query_knowledge", {"project": project, "tool": "list_sources"})
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    failed = [e for e in read_sidecar(out / project)["knowledge_log"] if e["tool"] == "list_sources"]
    assert failed == [{"step": "1", "tool": "list_sources", "topic_or_query": "", "result_ids": [], "ok": False}]


async def test_a_step_begun_in_the_terminal_is_finished_through_the_tools(client: Client, out: Path) -> None:
    project = await new(client)
    assert (await ok(client, "current_step", {"project": project}))["form"]["answers"] == {}
    terminal = open_session(out, project)  # between two calls the server holds no lock and no transaction
    terminal.current()
    terminal.send("answered in the terminal")
    terminal.close()
    view = await ok(client, "current_step", {"project": project})
    assert view["form"]["answers"] == {"use_case": "answered in the terminal"}
    assert view["question"]["field"] == "architecture"
    assert (await ok(client, "choose", {"project": project, "option": "C"}))["advanced"] is True
    assert read_sidecar(out / project)["answers"]["1"]["use_case"] == "answered in the terminal"
