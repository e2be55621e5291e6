"""`cairn doctor NAME` on real damaged project folders: it lists each problem with what it would
repair and changes nothing; `--fix` backs the folder up first (links kept as links), repairs what
is safe, and never rewrites a sidecar only its owner can fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from tests.conftest import MINI
from workflow.session import create_project


@pytest.fixture
def project(out: Path) -> Path:
    return create_project(out, "p", user="tester", pack_ref=str(MINI))


def doctor(out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           *args: str) -> tuple[int, str, str]:
    code, stdout, stderr = run_cairn(["--output", str(out), "doctor", "p", *args], capsys, monkeypatch)
    assert "Traceback" not in stdout + stderr
    return code, stdout, stderr


def damage(project: Path, victim: Path) -> None:
    (project / "decision-log.md").unlink()
    (project / "decision-log.md").symlink_to(victim)
    (project / "phase-0-scoping" / ".scope.md.abcd1234.tmp").write_text("half", encoding="utf-8")
    (project / ".cairn").write_text("not a folder", encoding="utf-8")


def test_a_healthy_project_has_no_findings(project: Path, out: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, _ = doctor(out, capsys, monkeypatch)
    assert code == 0 and "p: no problems found" in stdout


def test_doctor_lists_each_problem_and_what_it_would_repair_without_changing_anything(
        project: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("precious\n", encoding="utf-8")
    damage(project, victim)
    code, _, stderr = doctor(out, capsys, monkeypatch)
    assert code == 1
    assert "decision-log.md: a symbolic link to" in stderr and "would start a new decision log" in stderr
    assert "phase-0-scoping/.scope.md.abcd1234.tmp: a temporary file" in stderr and "would remove it" in stderr
    assert ".cairn: a file where Cairn keeps its session folder" in stderr
    assert "cairn doctor --fix p" in stderr
    assert (project / "decision-log.md").is_symlink() and (project / ".cairn").is_file()


def test_fix_backs_up_then_repairs_and_the_project_opens_again(
        project: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("precious\n", encoding="utf-8")
    damage(project, victim)
    code, stdout, stderr = doctor(out, capsys, monkeypatch, "--fix")
    assert code == 0, stderr
    assert "Backed up the project to" in stdout
    backup = next(out.glob(".p.backup-*"))
    assert (backup / "decision-log.md").is_symlink(), "the backup keeps the link itself"
    assert (backup / ".cairn").is_file()
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not (project / "decision-log.md").is_symlink()
    assert (project / "decision-log.md").read_text(encoding="utf-8") == "# Decision log: p\n\n"
    assert (project / ".cairn").is_dir()
    assert not (project / "phase-0-scoping" / ".scope.md.abcd1234.tmp").exists()
    code, stdout, _ = doctor(out, capsys, monkeypatch)
    assert code == 0 and "no problems found" in stdout


def test_a_damaged_checkpoint_is_moved_out_and_a_broken_sidecar_left_to_its_owner(
        project: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".cairn").mkdir(exist_ok=True)
    (project / ".cairn" / "session.sqlite").write_bytes(b"this is not a database" * 100)
    sidecar = project / "sidecar.yaml"
    sidecar.write_text(sidecar.read_text(encoding="utf-8") + "broken: [unclosed\n", encoding="utf-8")
    before = sidecar.read_bytes()
    code, _, stderr = doctor(out, capsys, monkeypatch, "--fix")
    assert code == 1
    assert "sidecar.yaml: " in stderr and "line" in stderr and "not repaired automatically" in stderr
    assert sidecar.read_bytes() == before, "the sidecar is never rewritten"
    assert not (project / ".cairn" / "session.sqlite").exists()
    assert (next(out.glob(".p.backup-*")) / ".cairn" / "session.sqlite").is_file()
