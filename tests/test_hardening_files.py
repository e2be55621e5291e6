"""Project files are written without following links planted in the project, full and
read-only disks are one-line errors with nothing half-written, stray temp files go away on the
next open, and the decision log cannot be forged by the text of a decision."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.conftest import MINI, open_session
from workflow.errors import DiskError, LockedError, SidecarError, UnreadableFileError, UnsafePathError
from workflow.fileio import (
    append_project_file,
    read_text_checked,
    remove_stray_temp_files,
    write_project_file,
)
from workflow.session import create_project
from workflow.store import (
    DECISION_LOG,
    append_decision,
    logged_decisions,
    project_lock,
    read_sidecar,
    write_sidecar,
)

DECISION = {"id": "ARCH-001", "step": "1", "title": "Architecture", "choice": "hybrid",
            "rationale": "both", "date": "2026-12-03"}


@pytest.fixture
def project(out: Path) -> Path:
    return create_project(out, "p", user="tester", pack_ref=str(MINI))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    return victim


def test_a_decision_log_symlinked_outside_the_project_is_refused_and_the_target_untouched(
        project: Path, outside: Path) -> None:
    (project / DECISION_LOG).unlink()
    (project / DECISION_LOG).symlink_to(outside)
    with pytest.raises(UnsafePathError, match="decision-log.md is a symbolic link"):
        append_decision(project, DECISION, step_label="1 - Analyst", visit=1)
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_a_symlinked_phase_folder_does_not_receive_documents(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    phase = project / "phase-0-scoping"
    phase.rmdir()
    phase.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="phase-0-scoping is a symbolic link"):
        write_project_file(project, "phase-0-scoping/scope.md", "# Scope\n")
    assert list(elsewhere.iterdir()) == []


def test_a_document_that_is_a_symlink_is_not_replaced_through(project: Path, outside: Path) -> None:
    (project / "phase-0-scoping" / "scope.md").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="scope.md is a symbolic link"):
        write_project_file(project, "phase-0-scoping/scope.md", "# Scope\n")
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_a_planted_lock_holder_symlink_is_refused_before_anything_is_written(project: Path, outside: Path) -> None:
    cairn = project / ".cairn"
    cairn.mkdir(exist_ok=True)
    (cairn / "lock.holder").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="lock.holder is a symbolic link"), project_lock(project):
        pass
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_a_symlinked_lock_file_is_refused_and_the_target_not_truncated(project: Path, outside: Path) -> None:
    cairn = project / ".cairn"
    cairn.mkdir(exist_ok=True)
    (cairn / "lock").symlink_to(outside)
    with pytest.raises(UnsafePathError), project_lock(project):
        pass
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_cairn_folder_that_is_a_file_is_one_clear_error(project: Path) -> None:
    (project / ".cairn").write_text("not a folder", encoding="utf-8")
    with pytest.raises(UnsafePathError, match=r"\.cairn is a file where a folder is expected"), \
            project_lock(project):
        pass


def test_the_lock_still_refuses_a_second_holder_and_names_the_first(project: Path) -> None:
    with project_lock(project, purpose="chat"):
        with pytest.raises(LockedError, match=r"pid \d+, chat started"), project_lock(project):
            pass
    with project_lock(project):  # released again
        pass


def test_a_full_disk_is_one_line_and_the_old_sidecar_stays_whole(project: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    before = (project / "sidecar.yaml").read_text(encoding="utf-8")
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if len(data) > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    sidecar = read_sidecar(project)
    sidecar["user_name"] = "someone else"
    with pytest.raises(DiskError, match="no space left on the device") as caught:
        write_sidecar(project, sidecar)
    assert "\n" not in str(caught.value)
    monkeypatch.undo()
    assert (project / "sidecar.yaml").read_text(encoding="utf-8") == before
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")], "the temp file is removed"


def test_a_read_only_file_system_is_reported_as_such(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def read_only(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(DiskError, match="the file system is read-only; free some space or fix the permissions"):
        write_project_file(project, "phase-0-scoping/scope.md", "# Scope\n")
    monkeypatch.undo()
    assert not (project / "phase-0-scoping" / "scope.md").exists()


def test_stray_temp_files_are_removed_on_the_next_open_and_never_listed_as_documents(project: Path,
                                                                                     out: Path) -> None:
    stray = project / "phase-0-scoping" / ".scope.md.abcd1234.tmp"
    stray.write_text("half", encoding="utf-8")
    (project / ".sidecar.yaml.zz99yy88.tmp").write_text("half", encoding="utf-8")
    keep = project / "phase-0-scoping" / "notes.tmp"  # not a temp file of ours
    keep.write_text("mine", encoding="utf-8")
    session = open_session(out, "p")
    session.close()
    assert not stray.exists() and not (project / ".sidecar.yaml.zz99yy88.tmp").exists()
    assert keep.exists()
    stray.write_text("half", encoding="utf-8")
    assert remove_stray_temp_files(project) == [stray]


def test_decision_text_cannot_forge_log_entries_or_hide_the_real_one(project: Path) -> None:
    forged = dict(DECISION, id="FAKE-001", rationale="ok\n## FORGED-001: Owned\n"
                  "<!-- cairn:decision id=ARCH-001 step=1 visit=1 -->\n---\x07bell")
    assert append_decision(project, forged, step_label="1 - Analyst", visit=1)
    assert append_decision(project, DECISION, step_label="1 - Analyst", visit=1), "ARCH-001 is not suppressed"
    text = (project / DECISION_LOG).read_text(encoding="utf-8")
    assert logged_decisions(text) == {("FAKE-001", "1", 1), ("ARCH-001", "1", 1)}
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## FAKE-001: Architecture", "## ARCH-001: Architecture"]
    assert "\x07" not in text
    assert not append_decision(project, DECISION, step_label="1 - Analyst", visit=1), "idempotent by id and visit"


def test_append_refuses_a_fifo_instead_of_blocking(project: Path) -> None:
    fifo = project / "phase-0-scoping" / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        append_project_file(project, "phase-0-scoping/pipe.md", "x")


def test_binary_and_non_utf8_files_are_named_with_the_line(tmp_path: Path) -> None:
    latin = tmp_path / "latin.md"
    latin.write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(UnreadableFileError, match=r"latin.md line 2: not UTF-8 text \(byte 0xe9\)"):
        read_text_checked(latin)
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(UnreadableFileError, match="binary file"):
        read_text_checked(binary)


def test_a_symlinked_sidecar_is_refused_without_reading_it(project: Path, outside: Path) -> None:
    (project / "sidecar.yaml").unlink()
    (project / "sidecar.yaml").symlink_to(outside)
    with pytest.raises(SidecarError, match="symbolic link"):
        read_sidecar(project)


def test_an_anchor_bomb_in_the_sidecar_is_refused_with_its_line(project: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    (project / "sidecar.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SidecarError, match=r"sidecar.yaml line \d+: .*aliases"):
        read_sidecar(project)


def test_a_concurrent_new_of_the_same_name_loses_cleanly_and_leaves_one_whole_project(out: Path) -> None:
    import threading

    from workflow.errors import ProjectError

    results: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        try:
            create_project(out, "race", user="u", pack_ref=str(MINI))
            results.append("created")
        except ProjectError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("created") == 1, results
    assert all("already exists" in r or "at the same time" in r for r in results if r != "created"), results
    assert read_sidecar(out / "race")["project_name"] == "race"
    assert sorted(p.name for p in out.iterdir()) == ["race"], "no temporary folders are left behind"


def test_a_half_created_folder_is_completed_and_a_foreign_folder_explained(out: Path) -> None:
    from workflow.errors import ProjectError

    half = out / "half"
    (half / "phase-0-scoping").mkdir(parents=True)
    (half / DECISION_LOG).write_text("# Decision log: half\n\n", encoding="utf-8")
    create_project(out, "half", user="u", pack_ref=str(MINI))
    assert read_sidecar(half)["currentStep"] == "1"
    foreign = out / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ProjectError, match="exists but is not a Cairn project"):
        create_project(out, "notes", user="u", pack_ref=str(MINI))
    assert (foreign / "todo.txt").read_text(encoding="utf-8") == "mine"


def test_a_current_step_missing_from_the_pack_is_refused_before_the_sidecar_is_rewritten(project: Path,
                                                                                        out: Path) -> None:
    from workflow.errors import ProjectError

    path = project / "sidecar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("currentStep: '1'", "currentStep: zz"),
                    encoding="utf-8")
    before = path.read_bytes()
    assert b"currentStep: zz" in before
    with pytest.raises(ProjectError, match="currentStep 'zz' is not a step of pack mini"):
        open_session(out, "p")
    assert path.read_bytes() == before


def test_a_document_that_is_a_folder_is_refused_in_one_line(project: Path) -> None:
    (project / "phase-0-scoping" / "scope.md").mkdir()
    with pytest.raises(UnsafePathError, match="scope.md is not a regular file"):
        write_project_file(project, "phase-0-scoping/scope.md", "# Scope\n")


def test_the_full_export_survives_a_document_that_is_not_utf8(project: Path) -> None:
    from workflow.packs import load_pack
    from workflow.summary import project_markdown

    (project / "phase-0-scoping" / "scope.md").write_bytes(b"# Scope\ncaf\xe9\n")
    text = project_markdown(load_pack(MINI), read_sidecar(project), project, full=True)
    assert "caf\ufffd" in text


def test_a_context_document_planted_as_a_link_is_neither_summarised_nor_sent_to_a_model(
        tmp_path: Path, out: Path) -> None:
    import shutil

    from workflow.llm.prompting import build_prompt
    pack = tmp_path / "pack"
    shutil.copytree(MINI, pack)
    step2 = pack / "steps" / "2-training" / "step-02-train.md"
    step2.write_text(step2.read_text(encoding="utf-8").replace(
        "phase: phase-2-training\n", "phase: phase-2-training\ncontext: [phase-0-scoping/scope.md]\n", 1),
        encoding="utf-8")
    folder = create_project(out, "c", user="u", pack_ref=str(pack))
    secret = tmp_path / "secret.md"
    secret.write_text("# api_key: hunter2\n", encoding="utf-8")
    (folder / "phase-0-scoping" / "scope.md").symlink_to(secret)
    session = open_session(out, "c")
    try:
        context = next(m for m in session.engine.entry_messages("2") if m["kind"] == "context")
        assert context["documents"] == [{"path": "phase-0-scoping/scope.md", "exists": False, "summary": ""}]
        prompt = build_prompt(pack=session.pack, step=session.pack.step("2"), project_dir=folder, answers={},
                              open_fields=[], section=None, knowledge=[], history=[], task=None, budget=6000)
        assert "hunter2" not in str(prompt)
    finally:
        session.close()


def test_the_hidden_build_of_a_killed_new_is_removed_by_the_next_new(out: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    # A `cairn new` killed while it builds its hidden folder (the sidecar write never returns).
    script = ("import sys, time\nfrom pathlib import Path\nimport workflow.session as s\n"
              "s.write_sidecar = lambda *a, **k: time.sleep(60)\n"
              "s.create_project(Path(sys.argv[1]), 'crash', user='u', pack_ref=sys.argv[2])\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(out), str(MINI)])
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".crash.") for p in out.glob(".*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    (left,) = [p for p in out.iterdir() if p.name.startswith(".crash.")]
    live = out / f".crash.{os.getpid()}.0123abcd.tmp"  # a build of this process, still running
    live.mkdir()
    create_project(out, "crash", user="u", pack_ref=str(MINI))
    assert read_sidecar(out / "crash")["project_name"] == "crash"
    assert not left.exists() and live.is_dir()
