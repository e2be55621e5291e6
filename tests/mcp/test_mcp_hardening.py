"""A hostile or confused MCP client: answers of the wrong JSON type, a choice by its number,
a REVISE target read as an index, a stale step, forged decision ids, and error messages that
would send a model to the terminal or show it the server's folders. Plus a real project with
planted symlinks driven over stdio: nothing outside the project is ever written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp.client import Client

from tests.conftest import MINI
from tests.mcp.mcp_support import ok, refused
from tests.mcp.test_mcp_stdio import server
from workflow.mcp.messages import for_model
from workflow.store import read_sidecar

pytestmark = pytest.mark.anyio


async def new(client: Client, name: str = "p") -> str:
    await ok(client, "create_project", {"name": name, "user_name": "tester", "pack": str(MINI)})
    return name


async def test_answers_must_have_the_fields_json_type_and_wrong_ones_are_not_stored(client: Client,
                                                                                    out: Path) -> None:
    project = await new(client)
    result = await ok(client, "submit_answers", {"project": project, "answers": {
        "use_case": {"name": "triage"}, "architecture": 2, "monthly_requests": "lots"}})
    assert set(result["errors"]) == {"use_case", "architecture", "monthly_requests"}
    assert "give a string, not an object" in result["errors"]["use_case"]
    assert "by value" in result["errors"]["architecture"]
    assert result["accepted"] == {}
    view = await ok(client, "current_step", {"project": project})
    assert view["form"]["answers"] == {}, "nothing of the wrong type reached the step"


async def test_a_choice_by_its_number_is_refused_but_by_value_accepted(client: Client) -> None:
    project = await new(client)
    result = await ok(client, "submit_answers", {"project": project, "answers": {"architecture": "2",
                                                                                 "use_case": "triage"}})
    assert "not its number" in result["errors"]["architecture"]
    assert result["accepted"] == {"use_case": "triage"}, "the well-typed answer still goes in"
    result = await ok(client, "submit_answers", {"project": project, "answers": {"architecture": "hybrid"}})
    assert result["accepted"] == {"architecture": "hybrid"} and result["errors"] == {}


async def test_a_stale_step_or_visit_is_refused_with_what_to_call_next(client: Client) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u"}, "step": "1", "visit": 1})
    await ok(client, "choose", {"project": project, "option": "C", "step": "1"})
    message = await refused(client, "choose", {"project": project, "option": "C", "step": "1"})
    assert "step 1 is no longer in progress" in message and "call current_step" in message
    message = await refused(client, "submit_answers", {"project": project, "answers": {"lora_r": 8}, "visit": 3})
    assert "visit 3" in message
    view = await ok(client, "current_step", {"project": project})
    assert view["step"]["id"] == "2"


async def test_a_revise_target_is_a_step_by_value_never_an_index(client: Client) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "rag-only"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "choose", {"project": project, "option": "C"})
    await ok(client, "submit_answers", {"project": project, "answers": {"decision": "REVISE"}})
    message = await refused(client, "choose", {"project": project, "option": "C", "target": "4"})
    assert "'4' is not a step step 4 can send the project back to; give one of: 1, 2, 3" in message


async def test_decision_ids_that_could_break_the_log_are_refused(client: Client) -> None:
    project = await new(client)
    for bad in ("X --> <!--", "A B", "\nFORGED-001"):
        result = await client.call_tool("record_decision", {"project": project, "id": bad, "title": "t",
                                                            "choice": "c", "rationale": "r"})
        assert result.is_error


async def test_errors_name_tools_not_terminal_commands_and_hide_server_paths(client: Client, out: Path) -> None:
    message = await refused(client, "current_step", {"project": "nope"})
    assert "cairn new" not in message and "create_project(name='nope')" in message
    assert str(out) not in message and str(out.resolve()) not in message


def test_for_model_keeps_project_relative_paths_and_file_names() -> None:
    root = Path("/srv/cairn/output")
    text = ("/srv/cairn/output/p/phase-0-scoping is a symbolic link; see /etc/secret/key.pem "
            "or open it with `cairn chat p`; path '/etc/passwd' is refused")
    assert for_model(text, root) == ("phase-0-scoping is a symbolic link; see key.pem or open it with "
                                     "open_project(name='p'); path '/etc/passwd' is refused")


async def test_read_only_tools_say_so_in_their_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("list_projects", "current_step", "progress", "ping"):
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint is True, name
    for name in ("submit_answers", "choose", "save_document", "record_decision", "add_stories"):
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint is False, name


async def test_a_project_with_planted_symlinks_driven_over_stdio_never_writes_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.md"
    victim.write_text("precious\n", encoding="utf-8")
    folder = tmp_path / "output" / "p"
    async with server(tmp_path, tmp_path / "stdio.err") as client:
        await ok(client, "create_project", {"name": "p", "user_name": "u", "pack": str(MINI)})
        await ok(client, "submit_answers", {"project": "p", "answers": {"use_case": "triage",
                                                                         "architecture": "hybrid"}})
        # 1. A lock holder file pointing outside: every call is refused, the target untouched.
        (folder / ".cairn" / "lock.holder").unlink(missing_ok=True)
        (folder / ".cairn" / "lock.holder").symlink_to(victim)
        message = await refused(client, "current_step", {"project": "p"})
        assert "lock.holder is a symbolic link" in message and str(tmp_path) not in message
        (folder / ".cairn" / "lock.holder").unlink()
        # 2. A phase folder that is a link: Continue writes nothing there and commits nothing.
        phase = folder / "phase-0-scoping"
        phase.rmdir()
        phase.symlink_to(outside, target_is_directory=True)
        message = await refused(client, "choose", {"project": "p", "option": "C"})
        assert "phase-0-scoping is a symbolic link" in message
        assert sorted(p.name for p in outside.iterdir()) == ["victim.md"]
        assert read_sidecar(folder)["currentStep"] == "1"
        phase.unlink()
        phase.mkdir()
        # 3. A decision log that is a link: the entry is not appended to the target.
        (folder / "decision-log.md").unlink()
        (folder / "decision-log.md").symlink_to(victim)
        message = await refused(client, "choose", {"project": "p", "option": "C"})
        assert "decision-log.md is a symbolic link" in message
        assert victim.read_text(encoding="utf-8") == "precious\n"
        assert read_sidecar(folder)["currentStep"] == "1", "the sidecar (the commit marker) is not written"
        # 4. Repaired: the next call finishes the interrupted completion inside the project, and a
        # Continue still aimed at step 1 is refused instead of completing step 2 as well.
        (folder / "decision-log.md").unlink()
        (folder / "decision-log.md").write_text("# Decision log: p\n\n", encoding="utf-8")
        message = await refused(client, "choose", {"project": "p", "option": "C", "step": "1"})
        assert "step 1 is no longer in progress" in message
        view = await ok(client, "current_step", {"project": "p"})
        assert view["step"]["id"] == "2"
        assert read_sidecar(folder)["steps"]["1"] == "complete" and read_sidecar(folder)["steps"]["2"] == "in_progress"
    assert "ARCH-001" in (folder / "decision-log.md").read_text(encoding="utf-8")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not os.path.islink(folder / "phase-0-scoping")


async def asgi_status(app: object, authorization: bytes | None) -> int:
    """Send one HTTP request through an ASGI app and return the response status."""
    headers = [(b"authorization", authorization)] if authorization is not None else []
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "http", "headers": headers}, receive, send)  # type: ignore[operator]
    return int(sent[0]["status"])  # type: ignore[call-overload]


async def test_the_bearer_scheme_is_case_insensitive_and_the_token_exact() -> None:
    from workflow.knowledge.server import require_bearer

    async def inner(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]

    app = require_bearer(inner, "s3cret")
    assert await asgi_status(app, b"Bearer s3cret") == 200
    assert await asgi_status(app, b"bearer s3cret") == 200
    assert await asgi_status(app, b"BEARER  s3cret ") == 200
    assert await asgi_status(app, b"Bearer s3cre") == 401
    assert await asgi_status(app, b"Basic s3cret") == 401
    assert await asgi_status(app, None) == 401


def test_an_empty_token_is_refused_before_serving() -> None:
    from workflow.errors import CairnError
    from workflow.knowledge.server import serve_http

    with pytest.raises(CairnError, match="bearer token is empty"):
        serve_http(None, "127.0.0.1", 1, "  ")  # type: ignore[arg-type]


async def test_a_brief_current_step_leaves_out_what_does_not_change_and_costs_less(client: Client) -> None:
    import json

    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "triage"}})
    full = await ok(client, "current_step", {"project": project})
    brief = await ok(client, "current_step", {"project": project, "detail": "brief"})
    assert brief["step"] == full["step"] and brief["missing"] == full["missing"] and brief["menu"] == full["menu"]
    assert brief["form"]["answers"] == full["form"]["answers"] and full["form"]["answers"]["use_case"] == "triage"
    assert "use_case" in full["form"]["schema"] and brief["form"]["schema"] == {}
    assert brief["question"] == full["question"], "the next question keeps its ask, help and choices"
    assert [g["heading"] for g in brief["guidance"]] == [g["heading"] for g in full["guidance"]]
    assert all(g["text"] == "" for g in brief["guidance"]) and any(g["text"] for g in full["guidance"])
    assert [k["id"] for k in brief["knowledge"]] == [k["id"] for k in full["knowledge"]]
    assert len(json.dumps(brief)) < len(json.dumps(full)) * 0.8


async def test_create_project_offers_only_shipped_and_configured_packs(client: Client, tmp_path: Path,
                                                                      out: Path) -> None:
    import shutil

    elsewhere = tmp_path / "downloaded-pack"
    shutil.copytree(MINI, elsewhere)
    message = await refused(client, "create_project", {"name": "x", "user_name": "u", "pack": str(elsewhere)})
    assert "not offered by this server" in message and "packs:" in message and str(tmp_path) not in message
    for path in ("/", "..", "../../etc"):
        assert "not offered" in await refused(client, "create_project", {"name": "x", "user_name": "u",
                                                                         "pack": path})
    assert not (out / "x").exists()
    await ok(client, "create_project", {"name": "shipped", "user_name": "u", "pack": "prompt-tuning"})
    await ok(client, "create_project", {"name": "configured", "user_name": "u", "pack": str(MINI)})


async def test_add_stories_retried_adds_nothing_twice(client: Client) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "hybrid"}})
    await ok(client, "choose", {"project": project, "option": "C"})
    story = {"title": "Load the tiny model", "description": "d", "acceptance_criteria": ["it loads"]}
    assert (await ok(client, "add_stories", {"project": project, "stories": [story]}))["added"] == 1
    assert (await ok(client, "add_stories", {"project": project, "stories": [story, story]}))["added"] == 0
    view = await ok(client, "current_step", {"project": project})
    assert [s["title"] for s in view["drafts"]["stories"]].count("Load the tiny model") == 1


async def test_notes_and_goto_over_mcp_reach_the_sidecar(client: Client, out: Path) -> None:
    project = await new(client)
    await ok(client, "submit_answers", {"project": project, "answers": {"use_case": "u", "architecture": "hybrid"}})
    noted = await ok(client, "add_note", {"project": project, "text": "Ask legal about ticket retention"})
    assert noted == {"noted": True, "notes": 1}
    assert (await ok(client, "add_note", {"project": project, "text": "Ask legal about ticket retention"}))[
        "notes"] == 1, "a retried note is kept once"
    await ok(client, "choose", {"project": project, "option": "C"})
    assert read_sidecar(out / project)["notes"]["1"] == ["Ask legal about ticket retention"]
    assert "not been reached" in await refused(client, "goto", {"project": project, "step": "3"})
    progress = await ok(client, "goto", {"project": project, "step": "1"})
    assert progress["currentStep"] == "1"
    view = await ok(client, "current_step", {"project": project})
    assert view["step"]["id"] == "1" and view["form"]["previous"]["use_case"] == "u"


async def test_resource_errors_hide_the_servers_folders_too(client: Client, out: Path) -> None:
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError) as caught:
        await client.read_resource("cairn://projects/ghost/sidecar.yaml")
    assert "ghost" in str(caught.value) and str(out) not in str(caught.value) and "cairn new" not in str(caught.value)
