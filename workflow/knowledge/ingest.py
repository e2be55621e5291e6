"""`cairn knowledge ingest DIR`: a team's own markdown and text notes, cut into
searchable chunks that sit in the same index as the curated entries.

Chunks are stored as one JSON-lines file per ingested folder under
`<output dir>/.knowledge/ingested/`; ingesting the same folder again replaces its
file (an emptied folder removes it), and deleting the file removes those notes from the
index. Ids and source ids carry a short hash of the folder's absolute path, so two
folders with the same name (`team-a/notes`, `team-b/notes`) never share an id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workflow.fileio import atomic_write_text
from workflow.knowledge.document import NOTE, Doc, slug
from workflow.knowledge.loader import KnowledgeError

SUFFIXES = (".md", ".markdown", ".txt", ".rst")
CHUNK_CHARS = 1200  # about 200 words: long enough to answer, short enough to rank precisely
SUMMARY_CHARS = 240

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    files: int
    chunks: int
    store: Path
    skipped: list[str] = field(default_factory=list)
    removed: int = 0  # chunks of an earlier ingest of this folder that an empty re-ingest deleted


def ingested_dir(output_dir: Path) -> Path:
    """Where ingested chunks live for projects under `output_dir`."""
    return output_dir / ".knowledge" / "ingested"


def ingest_folder(folder: Path, store_dir: Path) -> IngestReport:
    """Chunk every markdown/text file under `folder` into `store_dir/<name>-<hash>.jsonl`.

    Files that are not UTF-8 are skipped and named in the report. A folder ingested before
    that now holds no such files has its stored notes removed (`report.removed`). Raises
    KnowledgeError when `folder` is missing, or holds no markdown or text files and was
    never ingested.
    """
    if not folder.is_dir():
        raise KnowledgeError([f"{folder}: not a folder; fix: pass a folder of .md or .txt files"])
    root = folder.resolve()
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    digest = hashlib.sha1(str(root).encode("utf-8")).hexdigest()[:8]
    target = store_dir / f"{slug(root.name, 40)}-{digest}.jsonl"
    if not files:
        if target.is_file():
            removed = sum(1 for line in target.read_text(encoding="utf-8").splitlines() if line.strip())
            target.unlink()
            return IngestReport(files=0, chunks=0, store=target, removed=removed)
        raise KnowledgeError([f"{folder}: no {', '.join(SUFFIXES)} files found; fix: point at your notes folder"])
    records: list[dict[str, object]] = []
    skipped: list[str] = []
    used = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            skipped.append(str(path))
            continue
        rel = f"{root.name}/{path.relative_to(root).as_posix()}"
        before = len(records)
        for n, (title, body) in enumerate(chunk_text(text, default_title=path.stem)):
            records.append(
                {"id": f"note-{slug(rel, 50)}-{digest[:6]}-{n + 1}", "title": title, "path": str(path),
                 "source_id": f"file:{rel}@{digest[:6]}", "source_title": rel, "text": body}
            )
        used += len(records) > before
    store_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return IngestReport(files=used, chunks=len(records), store=target, skipped=skipped)


def chunk_text(text: str, *, default_title: str) -> Iterator[tuple[str, str]]:
    """Yield (title, text) chunks: split at markdown headings, then packed by paragraph
    up to CHUNK_CHARS. The title is the document title and the section heading."""
    doc_title = default_title
    heading = ""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            _close(current, paragraphs)
            yield from _pack(_title(doc_title, heading), paragraphs)
            paragraphs = []
            level, name = len(match.group(1)), match.group(2).strip()
            if level == 1 and doc_title == default_title and not heading:
                doc_title = name
            else:
                heading = name
        elif line.strip():
            current.append(line.strip())
        else:
            _close(current, paragraphs)
    _close(current, paragraphs)
    yield from _pack(_title(doc_title, heading), paragraphs)


def _close(current: list[str], paragraphs: list[str]) -> None:
    if current:
        paragraphs.append(" ".join(current))
        current.clear()


def _title(doc_title: str, heading: str) -> str:
    return f"{doc_title} - {heading}" if heading else doc_title


def _pack(title: str, paragraphs: list[str]) -> Iterator[tuple[str, str]]:
    buffer = ""
    for paragraph in paragraphs:
        for piece in _split_long(paragraph):
            if buffer and len(buffer) + len(piece) + 2 > CHUNK_CHARS:
                yield title, buffer
                buffer = ""
            buffer = f"{buffer}\n\n{piece}" if buffer else piece
    if buffer:
        yield title, buffer


def _split_long(paragraph: str) -> Iterator[str]:
    """Cut an over-long paragraph at word boundaries."""
    while len(paragraph) > CHUNK_CHARS:
        cut = paragraph.rfind(" ", 0, CHUNK_CHARS)
        cut = cut if cut > 0 else CHUNK_CHARS
        yield paragraph[:cut]
        paragraph = paragraph[cut:].lstrip()
    if paragraph:
        yield paragraph


def load_ingested(store_dir: Path) -> list[Doc]:
    """Every stored chunk under `store_dir` as a document (none when the folder is absent).

    Raises KnowledgeError naming the file and line of a broken record.
    """
    docs: list[Doc] = []
    for path in ingested_files(store_dir):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                record = json.loads(line)
                docs.append(_doc(record))
            except (ValueError, KeyError, TypeError) as exc:
                raise KnowledgeError(
                    [f"{path} line {number}: broken chunk record ({exc}); fix: run `cairn knowledge ingest` again"]
                ) from None
    return docs


def ingested_files(store_dir: Path) -> list[Path]:
    return sorted(store_dir.glob("*.jsonl")) if store_dir.is_dir() else []


def _doc(record: dict[str, str]) -> Doc:
    text = record["text"]
    summary = text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " ..."
    return Doc(
        id=record["id"],
        type=NOTE,
        title=record["title"],
        topics=(),
        summary=summary,
        content={"text": text},
        source={"id": record["source_id"],
                "title": record.get("source_title") or record["source_id"].removeprefix("file:"),
                "url": None, "path": record["path"]},
    )

