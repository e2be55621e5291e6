"""Whole projects on the shipped pack, driven only through the tools of an in-memory server,
with the answers of the example files submitted step by step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp.client import Client

from tests.mcp.mcp_support import EXAMPLES, REPO, ok
from workflow.store import read_sidecar

pytestmark = pytest.mark.anyio


async def drive(client: Client, project: str, plan: dict[str, Any]) -> list[str]:
    """Answer every step from `plan` (an examples/answers-*.yaml mapping) and press what it says;
    returns the steps the server showed, in order."""
    shown: list[str] = []
    while True:
        view = await ok(client, "current_step", {"project": project})
        if view["kind"] == "done":
            return shown
        step = view["step"]["id"]
        assert step not in shown or step == "10", f"step {step} shown twice"
        shown.append(step)
        answers = dict(plan.get(step) or {})
        if answers.pop("skip", False):
            keys = {m["action"]: m["key"] for m in view["menu"]}
            chosen = await ok(client, "choose", {"project": project, "option": keys["skip"]})
            assert chosen["advanced"], chosen
            continue
        keys = [str(k) for k in answers.pop("menu", ["C"])]
        answers.pop("notes", None)
        acknowledge = answers.pop("acknowledge", None)
        submitted = await ok(client, "submit_answers", {"project": project, "answers": answers})
        assert submitted["errors"] == {}, submitted["errors"]
        # what stands before Continue is only the `confirm` checks the file acknowledges
        assert submitted["next"] == "menu", submitted
        assert sorted(m.split(":")[0] for m in submitted["missing"]) == sorted(
            f"confirm {check}" for check in acknowledge or {}), submitted
        for key in keys:
            arguments: dict[str, Any] = {"project": project, "option": key}
            if acknowledge and key == "C":
                arguments["acknowledge"] = acknowledge
            chosen = await ok(client, "choose", arguments)
        assert chosen["advanced"], chosen


async def test_a_rag_only_project_runs_to_complete_and_records_the_training_skip(client: Client, out: Path) -> None:
    plan = yaml.safe_load((EXAMPLES / "answers-rag-only.yaml").read_text(encoding="utf-8"))
    created = await ok(client, "create_project", {"name": "policy", "user_name": "ana"})
    assert created["currentStep"] == "1" and created["workflow_status"] == "in_progress"

    shown = await drive(client, "policy", plan)

    assert "5" not in shown, "the server skips training for a rag-only architecture"
    assert shown == ["1", "2a", "2b", "3a", "3b", "4", "6", "7", "8", "9", "10"]
    progress = await ok(client, "progress", {"project": "policy"})
    assert progress["workflow_status"] == "complete" and progress["currentStep"] is None
    assert progress["architecture"] == "rag-only"
    assert {row["id"]: row["status"] for row in progress["steps"]}["5"] == "skipped"
    folder = out / "policy"
    record = (folder / "phase-2-training" / "training-spec.md").read_text(encoding="utf-8")
    assert "architecture == 'rag-only'" in record
    sidecar = read_sidecar(folder)
    assert sidecar["answers"]["1"]["monthly_requests"] == 8000
    assert {"REQ-001", "ARCH-001", "INTEG-001"} <= {d["id"] for d in sidecar["decisions"]}
    assert (folder / "phase-6-integration" / "integration-review.md").is_file()
    log = (folder / "decision-log.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## ", log, re.M)) == len(sidecar["decisions"])
    assert (await ok(client, "current_step", {"project": "policy"}))["kind"] == "done"


async def test_a_fine_tuning_project_runs_to_complete_with_user_skips_and_an_approved_spec(
        client: Client, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the example's dataset paths are relative to the repository
    plan = yaml.safe_load((EXAMPLES / "answers-fine-tuning.yaml").read_text(encoding="utf-8"))
    await ok(client, "create_project", {"name": "tickets", "user_name": "ben"})

    shown = await drive(client, "tickets", plan)

    assert shown == ["1", "2a", "2b", "3a", "3b", "4", "5", "6", "7", "8", "9", "10"]
    sidecar = read_sidecar(out / "tickets")
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["steps"]["4"] == "skipped" and sidecar["steps"]["6"] == "skipped"
    assert sidecar["steps"]["5"] == "complete"
    assert sidecar["training"]["approved"] is True and sidecar["training"]["approved_by"] == "ben"
    spec = yaml.safe_load((out / "tickets" / "phase-2-training" / "training-spec.yaml").read_text(encoding="utf-8"))
    assert spec["base_model"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert Path(sidecar["answers"]["5"]["train_file"]).is_absolute()
    assert [s["id"] for s in sidecar["stories"]["step_5_training"]][0] == "TRAIN-S01"
    listed = await ok(client, "list_projects", {})
    assert listed["projects"] == [{"name": "tickets", "workflow_status": "complete", "currentStep": None}]
