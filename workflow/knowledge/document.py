"""One searchable document: a curated entry or a chunk of an ingested file, flattened
into the shape the tools return (DESIGN 6), plus the text the index reads."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workflow.knowledge.entry import CONTENT_FIELDS, Entry

NOTE = "note"  # the type of an ingested chunk; get_* tools never return notes


@dataclass(frozen=True, kw_only=True)
class Doc:
    id: str
    type: str
    title: str
    topics: tuple[str, ...]
    summary: str
    content: dict[str, Any]
    source: dict[str, str | None]  # {id, title, url, path}: url for entries, path for notes

    def index_text(self) -> str:
        """Title and topics twice (they say what the document is about), then the content."""
        topics = " ".join(topic.replace("-", " ") for topic in self.topics)
        parts = [self.title, topics, self.summary]
        parts.extend(_flatten(self.content))
        return "\n".join(parts)

    def dense_text(self) -> str:
        """What the embedding model reads: title, summary, then the content (it stops at 256 tokens)."""
        return "\n".join([f"{self.title}.", self.summary, *_flatten(self.content)])

    def heading_text(self) -> str:
        """The short field: what the document is called and tagged with."""
        return " ".join([self.title, *(topic.replace("-", " ") for topic in self.topics)])

    def as_result(self, score: float) -> dict[str, Any]:
        """The JSON-ready result the tools return for this document."""
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "topics": list(self.topics),
            "summary": self.summary,
            **self.content,
            "score": round(float(score), 4),
            "source": dict(self.source),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "topics": list(self.topics),
            "summary": self.summary,
            "content": self.content,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Doc:
        return cls(
            id=data["id"],
            type=data["type"],
            title=data["title"],
            topics=tuple(data["topics"]),
            summary=data["summary"],
            content=data["content"],
            source=data["source"],
        )


def doc_from_entry(entry: Entry) -> Doc:
    """Flatten a validated entry; its source gets an id derived from the URL."""
    dumped = entry.model_dump(mode="json")
    content = {name: dumped.get(name) for name in CONTENT_FIELDS[entry.type]}
    return Doc(
        id=entry.id,
        type=entry.type,
        title=entry.title,
        topics=tuple(entry.topics),
        summary=entry.summary,
        content=content,
        source={"id": source_id_for_url(entry.source.url), "title": entry.source.title,
                "url": entry.source.url, "path": None},
    )


def source_id_for_url(url: str) -> str:
    """A readable, stable id for a cited URL: "https://arxiv.org/abs/2106.09685" -> "arxiv-org-abs-2106-09685"."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return slug(f"{host}{parts.path}")


def slug(text: str, max_len: int = 60) -> str:
    """Lowercase kebab-case of `text`; long ones are cut and end with a short hash so they stay unique."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
    if len(base) <= max_len:
        return base
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{base[: max_len - 9].rstrip('-')}-{digest}"


def _flatten(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _flatten(item)]
    if isinstance(value, list):
        return [text for item in value for text in _flatten(item)]
    return [str(value)]
