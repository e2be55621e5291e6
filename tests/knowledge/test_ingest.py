from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow.knowledge.index import KnowledgeIndex
from workflow.knowledge.ingest import CHUNK_CHARS, chunk_text, ingest_folder, load_ingested
from workflow.knowledge.loader import KnowledgeError

from .helpers import NOTES, write


def test_markdown_is_cut_at_headings_and_titled_by_document_and_section() -> None:
    text = (NOTES / "runbook.md").read_text(encoding="utf-8")
    chunks = list(chunk_text(text, default_title="runbook"))
    assert [title for title, _ in chunks] == [
        "Serving runbook", "Serving runbook - Rollback", "Serving runbook - Quotas"]
    assert "previous model tag" in chunks[1][1]


def test_long_text_is_split_into_chunks_no_longer_than_the_limit() -> None:
    paragraph = " ".join(f"word{n}" for n in range(1000))
    chunks = list(chunk_text(f"{paragraph}\n\n{paragraph}\n", default_title="long"))
    assert len(chunks) > 2
    assert all(len(body) <= CHUNK_CHARS for _, body in chunks)
    assert "word999" in chunks[-1][1]


def test_each_chunk_cites_its_file_path(store: Path) -> None:
    notes = load_ingested(store)
    assert {note.source["title"] for note in notes} == {"notes/runbook.md", "notes/glossary.txt"}
    assert {str(note.source["id"]).split("@")[0] for note in notes} == {
        "file:notes/runbook.md", "file:notes/glossary.txt"}
    assert all(note.source["path"] and Path(str(note.source["path"])).is_file() for note in notes)
    assert all(note.type == "note" for note in notes)


def test_ingesting_a_folder_again_replaces_its_chunks(tmp_path: Path) -> None:
    notes = tmp_path / "team"
    write(notes / "a.md", "# A\n\nfirst version\n")
    store = tmp_path / "store"
    ingest_folder(notes, store)
    write(notes / "a.md", "# A\n\nsecond version\n")
    report = ingest_folder(notes, store)
    texts = [note.content["text"] for note in load_ingested(store)]
    assert texts == ["second version"]
    assert report.files == 1 and report.chunks == 1


def test_a_file_that_is_not_utf8_is_skipped_and_reported(tmp_path: Path) -> None:
    write(tmp_path / "team" / "ok.txt", "fine text")
    (tmp_path / "team" / "bad.txt").write_bytes(b"\xff\xfe\x00binary")
    report = ingest_folder(tmp_path / "team", tmp_path / "store")
    assert report.chunks == 1
    assert [(Path(path).name, why.split(" (")[0]) for path, why in report.skipped] == [("bad.txt", "a binary file")]


def test_a_folder_without_notes_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    write(tmp_path / "team" / "data.csv", "a,b\n")
    with pytest.raises(KnowledgeError, match="no .md, .markdown, .txt, .rst files found"):
        ingest_folder(tmp_path / "team", tmp_path / "store")


def test_a_broken_chunk_record_names_its_file_and_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write(store / "x.jsonl", json.dumps({"id": "note-1"}) + "\n")
    with pytest.raises(KnowledgeError, match=r"x.jsonl line 1: broken chunk record"):
        load_ingested(store)


def test_ingested_notes_are_found_by_search(index: KnowledgeIndex) -> None:
    ranked = index.rank("roll back a bad model release")
    assert ranked[0][0].source["title"] == "notes/runbook.md"


def test_two_folders_with_the_same_name_get_distinct_ids_and_sources(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for team in ("team-a", "team-b"):
        write(tmp_path / team / "notes" / "runbook.md", f"# Runbook\n\n{team} restarts the service.\n")
        ingest_folder(tmp_path / team / "notes", store)
    notes = load_ingested(store)
    assert len(notes) == 2
    assert len({note.id for note in notes}) == 2
    assert len({note.source["id"] for note in notes}) == 2
    assert {note.source["title"] for note in notes} == {"notes/runbook.md"}


def test_re_ingesting_an_emptied_folder_removes_its_notes(tmp_path: Path) -> None:
    notes, store = tmp_path / "team", tmp_path / "store"
    write(notes / "a.md", "# A\n\nthe old procedure\n")
    first = ingest_folder(notes, store)
    (notes / "a.md").unlink()
    report = ingest_folder(notes, store)
    assert report.chunks == 0 and report.removed == first.chunks == 1
    assert load_ingested(store) == []
    assert not first.store.exists()


def test_an_empty_folder_that_was_never_ingested_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeError, match="no .md, .markdown, .txt, .rst files found; fix:"):
        ingest_folder(tmp_path / "empty", tmp_path / "store")
