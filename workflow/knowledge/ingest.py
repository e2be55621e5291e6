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
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workflow.errors import UnreadableFileError
from workflow.fileio import atomic_write_text, disk_errors, read_text_checked
from workflow.knowledge.document import NOTE, Doc, slug
from workflow.knowledge.loader import KnowledgeError

SUFFIXES = (".md", ".markdown", ".txt", ".rst")
CHUNK_CHARS = 1200  # about 200 words: long enough to answer, short enough to rank precisely
SUMMARY_CHARS = 240

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


MAX_FILE_BYTES = 5_000_000  # a note larger than this is most likely an export or a log, not a note
MAX_DEPTH = 32  # folders below the one given
MAX_FILES = 10_000  # note files in one ingest: more means the wrong folder (a home folder, `/`)


class NothingToIngest(KnowledgeError):
    """Every note file of the folder was skipped; `skipped` says which and why."""

    def __init__(self, message: str, skipped: list[tuple[str, str]]) -> None:
        super().__init__([message])
        self.skipped = skipped


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    files: int
    chunks: int
    store: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path as shown, why), one per skipped entry
    removed: int = 0  # chunks of an earlier ingest of this folder that an empty re-ingest deleted


def ingested_dir(output_dir: Path) -> Path:
    """Where ingested chunks live for projects under `output_dir`."""
    return output_dir / ".knowledge" / "ingested"


def ingest_folder(folder: Path, store_dir: Path) -> IngestReport:
    """Chunk every markdown/text file under `folder` into `store_dir/<name>-<hash>.jsonl`.

    Hostile content is skipped, never fatal: files that are binary, not UTF-8, larger than
    MAX_FILE_BYTES, unreadable, not regular files, or links that lead out of `folder`; folders
    that cannot be read, are links, or lie deeper than MAX_DEPTH. Each is named with its reason
    in `report.skipped`. A folder ingested before that now holds no such files has its stored
    notes removed (`report.removed`).

    Raises:
        KnowledgeError: `folder` is missing or not a folder, holds no markdown or text file, or
            more than MAX_FILES. NothingToIngest (a KnowledgeError): it has note files but every
            one was skipped (an earlier ingest of it is then kept).
        DiskError: the store cannot be written.
    """
    try:
        is_folder = folder.is_dir()
        root = folder.resolve()
    except (OSError, RuntimeError) as exc:  # a name too long, a link loop
        raise KnowledgeError([f"{shown(folder)}: cannot be read ({getattr(exc, 'strerror', None) or exc}); fix: "
                              "pass a folder of .md or .txt files"]) from None
    if not is_folder:
        raise KnowledgeError([f"{shown(folder)}: not a folder; fix: pass a folder of .md or .txt files"])
    skipped: list[tuple[str, str]] = []
    files = _note_files(root, skipped)
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    target = store_dir / f"{slug(root.name, 40)}-{digest}.jsonl"
    if not files and not skipped:
        if target.is_file():
            removed = sum(1 for line in target.read_bytes().splitlines() if line.strip())
            target.unlink()
            return IngestReport(files=0, chunks=0, store=target, removed=removed)
        raise KnowledgeError([f"{shown(folder)}: no {', '.join(SUFFIXES)} files found; fix: point at your notes "
                              "folder"])
    records: list[dict[str, object]] = []
    used = 0
    for path in files:
        try:
            text = read_text_checked(path, max_bytes=MAX_FILE_BYTES)
        except UnreadableFileError as exc:
            skipped.append((shown(path), str(exc).removeprefix(str(path)).lstrip(": ")))
            continue
        rel = f"{root.name}/{path.relative_to(root).as_posix()}"
        before = len(records)
        for n, (title, body) in enumerate(chunk_text(text, default_title=path.stem)):
            records.append(
                {"id": f"note-{slug(rel, 50)}-{digest[:6]}-{n + 1}", "title": title, "path": str(path),
                 "source_id": f"file:{rel}@{digest[:6]}", "source_title": rel, "text": body}
            )
        used += len(records) > before
    if not used and not skipped:
        raise KnowledgeError([f"{shown(folder)}: its {len(files)} note files are empty; fix: point at your notes "
                              "folder"])
    if not used:
        kept = " (its earlier notes are kept)" if target.is_file() else ""
        raise NothingToIngest(f"{shown(folder)}: none of its notes could be read ({len(skipped)} skipped){kept}; "
                              "fix: save them as UTF-8 text files inside the folder", skipped)
    with disk_errors(store_dir):
        store_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return IngestReport(files=used, chunks=len(records), store=target, skipped=skipped)


def _note_files(root: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """The note files under `root`, walked without recursion and without following folder links;
    what is left out for a reason is added to `skipped`. Dot-files and dot-folders are ignored."""
    found: list[Path] = []
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            skipped.append((shown(folder) + "/", f"cannot read the folder ({exc.strerror or exc})"))
            continue
        for entry in reversed(entries):  # the stack pops in name order
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 > MAX_DEPTH:
                        skipped.append((shown(path) + "/", f"deeper than {MAX_DEPTH} folders (not read)"))
                    else:
                        stack.append((path, depth + 1))
                    continue
                if Path(entry.name).suffix.lower() not in SUFFIXES:
                    continue
                why = _refusal(entry, root)
            except OSError as exc:
                why = f"cannot be read ({exc.strerror or exc})"
            if why is None and not _utf8_name(entry.path):
                why = "the file name is not UTF-8; rename it"
            if why is not None:
                skipped.append((shown(path), why))
                continue
            found.append(path)
            if len(found) > MAX_FILES:
                raise KnowledgeError([f"{shown(root)}: more than {MAX_FILES:,} note files; fix: point at your "
                                      "notes folder rather than a whole drive or home folder"])
    return sorted(found)


def _refusal(entry: os.DirEntry[str], root: Path) -> str | None:
    """Why a note-named entry is not read, or None when it is a regular file inside `root`."""
    if entry.is_symlink():
        target = Path(entry.path).resolve()
        if not target.is_relative_to(root):
            return "a link to a file outside the folder (not followed)"
        if target.is_dir():
            return "a link to a folder (not followed)"
    mode = os.stat(entry.path).st_mode  # follows an inside link: its target must be a plain file too
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, pipe or socket)"
    return None


def _utf8_name(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(path: Path | str) -> str:
    """A path as one printable line: control characters and undecodable bytes escaped."""
    text = os.fsencode(str(path)).decode("utf-8", "backslashreplace")
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


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
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise KnowledgeError([f"{shown(path)}: cannot read the ingested notes ({reason}); fix: delete it and "
                                  "run `cairn knowledge ingest` again"]) from None
        for number, line in enumerate(text.splitlines(), start=1):
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

