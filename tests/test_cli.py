from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from tests.conftest import MINI
from workflow.store import project_lock, read_sidecar


def cairn(args: list[str], out: Path, capsys, monkeypatch, stdin: str = "") -> tuple[int, str, str]:
    # The knowledge server is exercised in tests/test_knowledge_integration.py; here it is off for speed.
    config = out.parent / "config-no-knowledge.yaml"
    config.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    return run_cairn(["--output", str(out), "--config", str(config), *args], capsys, monkeypatch, stdin)


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "with space", ""])
def test_new_refuses_a_bad_project_name(name: str, out: Path, capsys, monkeypatch) -> None:
    code, _, err = cairn(["new", name], out, capsys, monkeypatch)
    assert code == 1 and "invalid project name" in err
    assert not out.exists() or not any(out.iterdir())


def test_new_refuses_an_existing_project(out: Path, capsys, monkeypatch) -> None:
    assert cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)[0] == 0
    code, _, err = cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    assert code == 1 and "already exists" in err


def test_new_creates_sidecar_log_spec_and_phase_folders(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--user", "ana", "--pack", str(MINI)], out, capsys, monkeypatch)
    folder = out / "p"
    assert {"sidecar.yaml", "decision-log.md", "project-spec.md", "phase-0-scoping", "phase-2-training"} <= {
        p.name for p in folder.iterdir()}
    sidecar = read_sidecar(folder)
    assert sidecar["user_name"] == "ana" and sidecar["currentStep"] == "1" and sidecar["schema_version"] == 1


def test_a_corrupt_sidecar_is_reported_with_its_line_and_left_untouched(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    path = out / "p" / "sidecar.yaml"
    broken = path.read_text(encoding="utf-8").replace("currentStep: '1'", "currentStep: [unclosed")
    path.write_text(broken, encoding="utf-8")
    code, _, err = cairn(["chat", "p", "--yes"], out, capsys, monkeypatch)
    assert code == 1 and "sidecar.yaml line" in err and "Traceback" not in err
    assert path.read_text(encoding="utf-8") == broken
    assert cairn(["status", "p"], out, capsys, monkeypatch)[0] == 1


def test_a_locked_project_is_refused_with_the_holder_and_exit_4(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    with project_lock(out / "p"):
        code, _, err = cairn(["chat", "p", "--yes"], out, capsys, monkeypatch)
    assert code == 4 and "locked by another session" in err and "pid" in err


def test_facilitator_mode_stops_with_exit_3_naming_the_step_and_field(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    code, _, err = cairn(["chat", "p", "--yes"], out, capsys, monkeypatch)
    assert code == 3 and "step 1" in err and "use_case" in err
    code, _, _ = cairn(["chat", "p", "--yes", "--set", "use_case=triage", "--set", "4.decision=GO"],
                       out, capsys, monkeypatch)
    assert code == 0
    sidecar = read_sidecar(out / "p")
    assert sidecar["workflow_status"] == "complete" and sidecar["answers"]["1"]["use_case"] == "triage"


def test_answers_file_with_visits_drives_revise_then_go(tmp_path: Path, out: Path, capsys, monkeypatch) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text('use_case: triage\narchitecture: rag-only\n"1":\n  notes: ["legal first"]\n'
                       '"4":\n  - {decision: REVISE, revise_to: "3"}\n  - {decision: GO}\n', encoding="utf-8")
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    code, stdout, _ = cairn(["chat", "p", "--answers", str(answers), "--yes"], out, capsys, monkeypatch)
    assert code == 0, stdout
    sidecar = read_sidecar(out / "p")
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["notes"]["1"] == ["legal first"]
    assert sidecar["visits"] == {"1": 1, "2": 1, "3": 2, "4": 2}
    assert "Revising step 3" in stdout


def test_status_json_has_the_documented_shape(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    code, stdout, _ = cairn(["status", "p", "--json"], out, capsys, monkeypatch)
    data = json.loads(stdout)
    assert code == 0
    assert {"project", "workflow_status", "currentStep", "steps", "architecture", "last_run"} <= set(data)
    assert data["steps"][0] == {"id": "1", "title": "Scope", "status": "in_progress"}


def test_chat_on_a_missing_project_says_how_to_create_it(out: Path, capsys, monkeypatch) -> None:
    code, _, err = cairn(["chat", "nope"], out, capsys, monkeypatch)
    assert code == 1 and "cairn new nope" in err


def test_export_writes_markdown_and_html_with_decisions(out: Path, capsys, monkeypatch) -> None:
    cairn(["new", "p", "--pack", str(MINI)], out, capsys, monkeypatch)
    cairn(["chat", "p", "--yes", "--set", "use_case=triage", "--set", "decision=GO"], out, capsys, monkeypatch)
    assert cairn(["export", "p"], out, capsys, monkeypatch)[0] == 0
    text = (out / "p" / "export.md").read_text(encoding="utf-8")
    assert "ARCH-001 Architecture:** hybrid" in text and "TRAIN-S01" in text
    assert cairn(["export", "p", "--html"], out, capsys, monkeypatch)[0] == 0
    html = (out / "p" / "export.html").read_text(encoding="utf-8")
    assert "<table>" in html and "ARCH-001" in html


def broken_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "broken"
    shutil.copytree(MINI, pack)
    step1 = pack / "steps" / "0-scoping" / "step-01-scope.md"
    text = step1.read_text(encoding="utf-8")
    text = text.replace("agent: analyst", "agent: nobody").replace("next: 2-training/step-02-train.md",
                                                                   "next: 2-training/missing.md\ncolour: blue")
    step1.write_text(text, encoding="utf-8")
    step2 = pack / "steps" / "2-training" / "step-02-train.md"
    step2.write_text(step2.read_text(encoding="utf-8").replace("architecture == 'rag-only'", "architecture =="),
                     encoding="utf-8")
    (pack / "templates" / "rag.md.j2").write_text("{% for x in %}", encoding="utf-8")
    return pack


def test_validate_reports_every_problem_of_a_broken_pack_at_once(tmp_path: Path, out: Path, capsys,
                                                                 monkeypatch) -> None:
    pack = broken_pack(tmp_path)
    code, _, err = cairn(["validate", str(pack)], out, capsys, monkeypatch)
    assert code == 1
    assert "colour: unknown key" in err
    step1 = tmp_path / "broken" / "steps" / "0-scoping" / "step-01-scope.md"
    step1.write_text(step1.read_text(encoding="utf-8").replace("colour: blue\n", ""), encoding="utf-8")
    code, _, err = cairn(["validate", str(pack)], out, capsys, monkeypatch)
    assert code == 1
    assert "step-01-scope.md: agent: persona 'nobody' not found" in err
    assert "next: '2-training/missing.md' does not exist" in err
    assert "step-02-train.md: skip_when: cannot parse expression" in err
    assert "rag.md.j2" in err and "does not parse" in err
    assert "unreachable" in err


def test_validate_accepts_a_valid_pack_and_refuses_a_folder_without_a_manifest(tmp_path: Path, out: Path, capsys,
                                                                                monkeypatch) -> None:
    code, stdout, _ = cairn(["validate", str(MINI)], out, capsys, monkeypatch)
    assert code == 0 and "4 steps" in stdout
    code, _, err = cairn(["validate", str(tmp_path)], out, capsys, monkeypatch)
    assert code == 1 and "no pack.yaml" in err
