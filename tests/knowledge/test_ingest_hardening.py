"""`cairn knowledge ingest` on hostile folders: binary and non-UTF-8 files, links out of the folder,
huge files, deep folders, pipes, unreadable entries, odd file names. Each is one `skipped` line
naming the file and why; the good notes are ingested; exit 1 only when nothing could be read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from workflow.knowledge import ingest

from .helpers import BASE, write


def cairn(argv: list[str], output: Path, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, list[str]]:
    code, out, err = run_cairn(["--output", str(output), *argv, "--knowledge-dir", str(BASE)], capsys, monkeypatch)
    assert "Traceback" not in out + err, err
    return code, out, err.splitlines()


def stored(output: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (output / ".knowledge" / "ingested").glob("*.jsonl"))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    write(notes / "runbook.md", "# Runbook\n\nRoll back the release with the previous image tag.\n")
    (notes / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary zip bytes")
    (notes / "latin1.md").write_bytes("# Caf\u00e9\n\nna\u00efve".encode("latin-1"))
    (notes / "huge.txt").write_bytes(b"word " * 400)  # over the limit set below
    write(tmp_path / "secret.txt", "the root password is hunter2")
    (notes / "leak.md").symlink_to(tmp_path / "secret.txt")
    (notes / "folder.md").symlink_to(tmp_path, target_is_directory=True)
    (notes / "dangling.md").symlink_to(notes / "missing.md")
    os.mkfifo(notes / "pipe.txt")  # reading it would block for ever
    write(notes / "a" / "b" / "c" / "d" / "too-deep.md", "# Deep\n\nnever read\n")
    (notes / os.fsdecode(b"bad\xffname.md")).write_bytes(b"# Name\n\nfine text, odd name\n")
    write(notes / "line\nbreak.md", "# Break\n\nfine text, a newline in the name\n")
    return notes


def test_each_hostile_entry_is_one_skipped_line_and_the_good_notes_are_ingested(
        hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(ingest, "MAX_DEPTH", 3)
    code, out, err = cairn(["knowledge", "ingest", str(hostile)], tmp_path / "output", capsys, monkeypatch)
    assert code == 0 and "Ingested 2 chunks from 2 files" in out
    reasons = {line.split(": ", 1)[0].removeprefix(f"skipped {hostile}/"): line.split(": ", 1)[1] for line in err}
    assert len(reasons) == len(err) == 9, err
    assert reasons["binary.txt"].startswith("a binary file")
    assert reasons["latin1.md"].startswith("line 1: not UTF-8 text (byte 0xe9)")
    assert reasons["huge.txt"].startswith("larger than 1,000 bytes")
    assert reasons["leak.md"] == reasons["folder.md"] == "a link to a file outside the folder (not followed)"
    assert reasons["dangling.md"].startswith("cannot be read")
    assert reasons["pipe.txt"] == "not a regular file (a device, pipe or socket)"
    assert reasons["a/b/c/d/"] == "deeper than 3 folders (not read)"
    assert reasons["bad\\xffname.md"] == "the file name is not UTF-8; rename it"
    text = stored(tmp_path / "output")
    assert "previous image tag" in text and "a newline in the name" in text
    assert "hunter2" not in text and "never read" not in text


def test_unreadable_files_and_folders_are_skipped_with_the_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / "notes"
    write(notes / "ok.md", "# Ok\n\nreadable\n")
    write(notes / "private.md", "# Private\n\nnot for us\n")
    write(notes / "locked" / "inside.md", "# Inside\n\nnot for us either\n")
    if os.geteuid() != 0:  # root reads anything: there the OS refusal is injected below instead
        (notes / "private.md").chmod(0)
        (notes / "locked").chmod(0)
    real_open, real_scandir = Path.open, os.scandir

    def refusing_open(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "private.md":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    def refusing_scandir(path: object) -> object:
        if Path(str(path)).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refusing_open)
    monkeypatch.setattr(ingest.os, "scandir", refusing_scandir)
    try:
        code, out, err = cairn(["knowledge", "ingest", str(notes)], tmp_path / "output", capsys, monkeypatch)
    finally:
        (notes / "private.md").chmod(0o644)
        (notes / "locked").chmod(0o755)
    assert code == 0 and "from 1 files" in out
    assert sorted(err) == [f"skipped {notes}/locked/: cannot read the folder (Permission denied)",
                           f"skipped {notes}/private.md: cannot be read (Permission denied)"]


def test_a_folder_whose_every_note_is_skipped_exits_1_and_keeps_its_earlier_notes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    notes, output = tmp_path / "notes", tmp_path / "output"
    write(notes / "a.md", "# A\n\nthe procedure that worked\n")
    assert cairn(["knowledge", "ingest", str(notes)], output, capsys, monkeypatch)[0] == 0
    (notes / "a.md").write_bytes(b"\x00\x01\x02")
    code, _, err = cairn(["knowledge", "ingest", str(notes)], output, capsys, monkeypatch)
    assert code == 1
    assert err == [f"skipped {notes}/a.md: a binary file (it contains NUL bytes); give a UTF-8 text file",
                   f"error: {notes}: none of its notes could be read (1 skipped) (its earlier notes are kept); "
                   "fix: save them as UTF-8 text files inside the folder"]
    assert "the procedure that worked" in stored(output)


def test_a_deep_folder_is_read_down_to_the_depth_limit_and_a_whole_drive_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / "notes"
    folder = deep.joinpath(*["d"] * (ingest.MAX_DEPTH + 20))
    folder.mkdir(parents=True)
    write(deep / "top.md", "# Top\n\nat the top\n")
    code, out, err = cairn(["knowledge", "ingest", str(deep)], tmp_path / "output", capsys, monkeypatch)
    assert code == 0 and "from 1 files" in out
    assert len(err) == 1 and err[0].endswith(f"/: deeper than {ingest.MAX_DEPTH} folders (not read)")
    for n in range(4):
        write(tmp_path / "many" / f"n{n}.md", "# N\n\ntext\n")
    monkeypatch.setattr(ingest, "MAX_FILES", 3)
    code, _, err = cairn(["knowledge", "ingest", str(tmp_path / "many")], tmp_path / "output", capsys, monkeypatch)
    assert code == 1 and err == [f"error: {tmp_path / 'many'}: more than 3 note files; fix: point at your notes "
                                 "folder rather than a whole drive or home folder"]


def test_a_damaged_store_or_an_output_folder_that_is_a_file_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / "notes"
    write(notes / "a.md", "# A\n\ntext\n")
    (tmp_path / "plain-file").write_text("x", encoding="utf-8")
    code, _, err = cairn(["knowledge", "ingest", str(notes)], tmp_path / "plain-file", capsys, monkeypatch)
    assert code == 1 and len(err) == 1 and err[0].startswith(f"error: cannot write {tmp_path / 'plain-file'}")
    store = tmp_path / "output" / ".knowledge" / "ingested"
    store.mkdir(parents=True)
    (store / "other-1234abcd.jsonl").write_bytes(b"\xff\xfe" + json.dumps({"id": 1}).encode())
    code, _, err = cairn(["knowledge", "ingest", str(notes)], tmp_path / "output", capsys, monkeypatch)
    assert code == 1 and len(err) == 1
    assert err[0] == (f"error: {store / 'other-1234abcd.jsonl'}: cannot read the ingested notes (not UTF-8); fix: "
                      "delete it and run `cairn knowledge ingest` again")
