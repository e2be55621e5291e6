"""No traceback from the project and pack commands on any input: a bounded property-based fuzz of
`cairn validate`, `new`, `status`, `decisions`, `export` and `knowledge ingest` with hostile names
and paths (long, binary, separators, YAML syntax) and hostile folders to ingest (any bytes, any
file names, links, pipes), against a real output folder. Each run ends with exit 0, 1 or 2
(typer's usage error) and a message, never an uncaught exception."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.cli_runner import run_cairn
from tests.conftest import MINI
from tests.knowledge.helpers import BASE

# Names and paths a user or a script might pass by mistake or on purpose.
HOSTILE = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet="ab/.\\-_:*&[]{}%~$ \t\n", min_size=1, max_size=30),
    st.integers(min_value=200, max_value=5000).map(lambda n: "x" * n),
    st.integers(min_value=50, max_value=300).map(lambda n: "/".join(["deep"] * n)),
    st.sampled_from(["..", ".", "/", "../../etc", "/dev/null", "/dev/zero", "-", "--", "&a [*a]", "NUL", "con",
                     "é" * 100, "\x00", "p\x00q", "*", "~", ".cairn", "sidecar.yaml"]),
)
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    code, out, err = run_cairn(argv, capsys, monkeypatch)
    assert "Traceback" not in out + err, out + err
    assert code in (0, 1, 2, 4), (code, out, err)
    return code, err


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz") / "output"
    folder.mkdir()
    return folder


@pytest.fixture(autouse=True)
def inside(output: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from a folder three levels inside the temporary tree, so relative paths stay in it."""
    cwd = output.parent / "cwd" / "a" / "b"
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    return cwd


@FUZZ
@given(path=HOSTILE)
def test_validate_never_tracebacks_on_any_pack_path(path: str, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if "\x00" in path:
        path = path.replace("\x00", "")  # the OS cannot even receive a NUL in an argument
    code, err = run(["validate", path], capsys, monkeypatch)
    if code == 1:
        assert err.strip(), "a refusal says why"


@FUZZ
@given(name=HOSTILE)
def test_project_commands_never_traceback_on_any_name(name: str, output: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    name = name.replace("\x00", "")
    for command in (["new", name, "--pack", str(MINI)], ["status", name], ["decisions", name], ["export", name]):
        run(["--output", str(output), *command], capsys, monkeypatch)
    created = [p for p in output.iterdir() if not p.name.startswith(".")]
    for folder in created:
        assert (folder / "sidecar.yaml").is_file(), f"{folder} is a whole project or absent"
        shutil.rmtree(folder)


@FUZZ
@given(target=HOSTILE)
def test_export_never_tracebacks_on_any_output_path(target: str, output: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not (output / "exp").exists():
        run(["--output", str(output), "new", "exp", "--pack", str(MINI)], capsys, monkeypatch)
    target = target.replace("\x00", "")
    if target.startswith("/"):
        target = str(output / "exports") + target  # never write over the machine's own files
    where = os.path.normpath(os.path.join(os.getcwd(), target.replace("\\", "/")))
    assume(Path(where).is_relative_to(output.parent) and "~" not in target)
    run(["--output", str(output), "export", "exp", "--out", target], capsys, monkeypatch)


@FUZZ
@given(path=HOSTILE)
def test_knowledge_ingest_never_tracebacks_on_any_folder_path(path: str, output: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = path.replace("\x00", "")
    assume(not os.path.isabs(path) or path.startswith("/dev"))  # never ingest the machine's own folders
    code, err = run(["--output", str(output), "knowledge", "ingest", path, "--knowledge-dir", str(BASE)],
                    capsys, monkeypatch)
    if code == 1:
        assert err.strip(), "a refusal says why"


NOTE_NAME = st.tuples(
    st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                      min_size=1, max_size=30),
              st.sampled_from([os.fsdecode(b"caf\xe9"), "line\nbreak", "tab\there", "\u202eevil", "-", "x" * 200])),
    st.sampled_from([".md", ".txt", ".rst", ".markdown", ".MD", ".csv", ""]),
).map("".join).filter(lambda name: name not in (".", "..") and len(name.encode("utf-8", "surrogateescape")) < 250)
NOTE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
    st.text(max_size=80).map(lambda text: text.encode("utf-16")),
    st.sampled_from([b"", b"\xff\xfe", b"# " + b"#" * 300 + b"\n" + b"word " * 700, b"\n" * 500]),
)
ENTRY = st.tuples(NOTE_NAME, st.sampled_from(["file", "file", "file", "link-out", "link-in", "fifo", "folder"]),
                  NOTE_BYTES)


@FUZZ
@given(entries=st.lists(ENTRY, max_size=6))
def test_knowledge_ingest_never_tracebacks_on_any_folder_content(entries: list[tuple[str, str, bytes]],
                                                                output: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.knowledge.ingest import ingested_dir, load_ingested

    notes = Path(tempfile.mkdtemp(prefix="notes-", dir=output.parent))
    (output.parent / "secret.md").write_text("outside the folder", encoding="utf-8")
    for name, kind, data in entries:
        target = notes / name
        if target.exists() or target.is_symlink():
            continue
        if kind == "link-out":
            target.symlink_to(output.parent / "secret.md")
        elif kind == "link-in":
            target.symlink_to(notes)
        elif kind == "fifo":
            os.mkfifo(target)
        elif kind == "folder":
            (target / "inner").mkdir(parents=True)
            (target / "inner" / "note.md").write_bytes(data)
        else:
            target.write_bytes(data)
    code, err = run(["--output", str(output), "knowledge", "ingest", str(notes), "--knowledge-dir", str(BASE)],
                    capsys, monkeypatch)
    lines = err.splitlines()
    assert all(line.startswith(("skipped ", "error: ")) for line in lines), lines
    assert code == 0 or lines[-1].startswith("error: ")
    docs = load_ingested(ingested_dir(output))
    assert "outside the folder" not in " ".join(doc.content["text"] for doc in docs)


@pytest.mark.parametrize("payload", [
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "[click me](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
])
def test_the_html_export_shows_raw_html_from_answers_and_documents_as_text(
        payload: str, output: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.session import create_project
    from workflow.store import read_sidecar, write_sidecar

    name = "xss" + str(abs(hash(payload)) % 1000)
    folder = create_project(output, name, user="u", pack_ref=str(MINI))
    sidecar = read_sidecar(folder)
    sidecar["decisions"] = [{"id": "ARCH-001", "step": "1", "title": payload, "choice": payload,
                             "rationale": payload, "date": "2026-12-03"}]
    write_sidecar(folder, sidecar)
    (folder / "phase-0-scoping" / "scope.md").write_text(f"# Scope\n\n{payload}\n", encoding="utf-8")
    run(["--output", str(output), "export", name, "--html"], capsys, monkeypatch)
    html = (folder / "export.html").read_text(encoding="utf-8").lower()
    tags = re.findall(r"<([a-z][a-z0-9]*)([^>]*)>", html)
    assert not [t for t in tags if t[0] in ("script", "img", "iframe") or "onerror" in t[1]
                or "javascript:" in t[1]], tags
    assert "alert(" in html, "the payload is still shown, as text"
    shutil.rmtree(folder)


@pytest.mark.parametrize("failure", [
    OSError(28, "No space left on device", "/data/out/p/.cairn/session.sqlite-journal"),
    __import__("sqlite3").OperationalError("database or disk is full"),
    __import__("sqlite3").OperationalError("attempt to write a readonly database"),
])
def test_a_raw_disk_failure_anywhere_is_one_line_at_the_cli(failure: Exception, output: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow import commands

    def fail(name: str) -> None:
        raise failure

    monkeypatch.setattr(commands, "status_data", fail)
    code, err = run(["--output", str(output), "status", "p"], capsys, monkeypatch)
    assert code == 1
    assert err.startswith("error: cannot write") and err.count("\n") == 1, err
    assert "no space left" in err or "read-only" in err
