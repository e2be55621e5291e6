"""The search index: BM25 (bm25s) over title, topics and content, with a boost for
documents whose topic tags the query names, cached on disk keyed by a hash of the
entry files and ingested chunks so a server starts without re-reading YAML."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np

from workflow.knowledge import document as document_module
from workflow.knowledge import tokens as tokens_module
from workflow.knowledge.document import Doc, doc_from_entry
from workflow.knowledge.ingest import ingested_files, load_ingested
from workflow.knowledge.loader import entry_files, load_entries
from workflow.knowledge.tokens import tag_terms, tokenize

if TYPE_CHECKING:
    from workflow.knowledge.dense import DenseVectors

# Bump when tokenization, scoring inputs or the cache layout change: old caches are then ignored.
INDEX_VERSION = "3"
# Added for each topic tag the query names in full, scaled by how rare the tag is
# (log(1 + N/df) over log(1 + N)): a tag on one entry adds TAG_BOOST, a tag a quarter of
# the base carries ("fine-tuning") about a third of it. Counting the tag's words instead
# let a two-word generic tag outweigh a one-word precise one. BM25 scores of a good match
# run from about 5 to 30, so a tag lifts a document a few places without letting a tag
# alone beat a document that matches the words well.
TAG_BOOST = 4.0
# A second, short field (title and topic tags) scored on its own and added with this
# weight: a query whose words are the document's title is about that document, however
# long the body is (BM25's length normalisation otherwise favours short documents).
HEADING_WEIGHT = 1.0
KEEP_CACHES = 8


def cache_root() -> Path:
    """$CAIRN_CACHE_DIR, else $XDG_CACHE_HOME/cairn, else ~/.cache/cairn."""
    explicit = os.environ.get("CAIRN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cairn"


class KnowledgeIndex:
    """Documents plus their BM25 index; `rank()` answers every query the tools make."""

    def __init__(self, docs: list[Doc], body: bm25s.BM25, heading: bm25s.BM25, key: str = "") -> None:
        self.docs = docs
        self.key = key
        # Set by open_index when hybrid retrieval is on (workflow/knowledge/dense.py).
        self.dense: DenseVectors | None = None
        self._body = body
        self._heading = heading
        self._by_id = {doc.id: position for position, doc in enumerate(docs)}
        self._types = np.array([doc.type for doc in docs], dtype=object)
        tags: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for position, doc in enumerate(docs):
            for topic in doc.topics:
                terms = tag_terms(topic)
                if terms:
                    tags[terms].append(position)
        self._tags = {terms: np.array(positions) for terms, positions in tags.items()}
        total = max(len(docs), 1)
        self._tag_weight = {
            terms: TAG_BOOST * float(np.log1p(total / len(positions)) / np.log1p(total))
            for terms, positions in tags.items()
        }

    @classmethod
    def build(cls, docs: list[Doc], key: str = "") -> KnowledgeIndex:
        body, heading = bm25s.BM25(), bm25s.BM25()
        if docs:
            body.index([tokenize(doc.index_text()) for doc in docs], show_progress=False)
            heading.index([tokenize(doc.heading_text()) for doc in docs], show_progress=False)
        return cls(docs, body, heading, key)

    def position(self, doc_id: str) -> int:
        return self._by_id[doc_id]

    def get(self, doc_id: str) -> Doc | None:
        position = self._by_id.get(doc_id)
        return None if position is None else self.docs[position]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for `query`, plus the tag boost."""
        terms = tokenize(query)
        scores = np.zeros(len(self.docs), dtype=np.float32)
        if not terms or not self.docs:
            return scores
        for retriever, weight in ((self._body, 1.0), (self._heading, HEADING_WEIGHT)):
            ids = retriever.get_tokens_ids(terms)
            if ids:
                scores += weight * retriever.get_scores_from_ids(ids)
        present = set(terms)
        for tag, positions in self._tags.items():
            if present.issuperset(tag):
                scores[positions] += self._tag_weight[tag]
        return scores

    def coverage(self, query: str, positions: list[int]) -> list[float]:
        """For each document at `positions`, the IDF-weighted share of the query's distinct
        terms it contains (0..1). A term the base has never seen counts as the rarest kind,
        so "GRPO vs PPO" against a base without either word covers almost nothing."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not self.docs or not positions:
            return [0.0 for _ in positions]
        total = len(self.docs)
        unseen_idf = float(np.log1p(total / 0.5))
        weights: list[float] = []
        present: list[np.ndarray] = []
        for term in terms:
            ids = self._body.get_tokens_ids([term])
            if not ids:
                weights.append(unseen_idf)
                present.append(np.zeros(len(positions), dtype=bool))
                continue
            hits = self._body.get_scores_from_ids(ids) > 0
            df = int(hits.sum())
            weights.append(float(np.log1p((total - df + 0.5) / (df + 0.5))))
            present.append(hits[positions])
        weight = np.array(weights)
        matrix = np.array(present, dtype=float)  # terms x positions
        return [float(value) for value in (weight @ matrix) / weight.sum()]

    def rank(
        self,
        query: str,
        *,
        types: Collection[str] | None = None,
        source_ids: Collection[str] | None = None,
        limit: int = 10,
    ) -> list[tuple[Doc, float]]:
        """The best `limit` documents for `query` with a positive score, optionally only
        of the given types or citing the given sources; ties keep file order."""
        scores = self.scores(query)
        mask = scores > 0
        if types is not None:
            mask &= np.isin(self._types, list(types))
        if source_ids is not None:
            wanted = set(source_ids)
            mask &= np.array([doc.source["id"] in wanted for doc in self.docs], dtype=bool)
        candidates = np.flatnonzero(mask)
        order = candidates[np.argsort(-scores[candidates], kind="stable")][:limit]
        return [(self.docs[position], float(scores[position])) for position in order]

    def type_mask(self, types: Collection[str] | None) -> np.ndarray:
        """True for every document of one of `types` (all documents when None)."""
        if types is None:
            return np.ones(len(self.docs), dtype=bool)
        return np.isin(self._types, list(types))

    def of_types(self, types: Collection[str]) -> list[Doc]:
        return [doc for doc in self.docs if doc.type in types]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.docs:
            self._body.save(str(folder / "body"), show_progress=False)
            self._heading.save(str(folder / "heading"), show_progress=False)
        payload = {"version": INDEX_VERSION, "key": self.key, "docs": [doc.to_json() for doc in self.docs]}
        (folder / "docs.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KnowledgeIndex:
        payload = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
        if payload.get("version") != INDEX_VERSION:
            raise ValueError("index cache from another version")
        docs = [Doc.from_json(item) for item in payload["docs"]]
        body, heading = bm25s.BM25(), bm25s.BM25()
        if docs:
            body = bm25s.BM25.load(str(folder / "body"), show_progress=False)
            heading = bm25s.BM25.load(str(folder / "heading"), show_progress=False)
        return cls(docs, body, heading, payload["key"])


def fingerprint(knowledge_dir: Path, ingested_dir: Path | None) -> str:
    """Hash of everything the index is built from: the entry files and ingested chunks."""
    digest = hashlib.sha256(f"cairn-knowledge-index {INDEX_VERSION}\n".encode())
    # The code that turns files into index terms is part of the key too, so an upgraded
    # tokenizer never reads a cache built by the old one.
    for module in (tokens_module, document_module):
        digest.update(Path(str(module.__file__)).read_bytes())
    for path in entry_files(knowledge_dir) if knowledge_dir.is_dir() else []:
        digest.update(f"entry {path.relative_to(knowledge_dir).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    for path in ingested_files(ingested_dir) if ingested_dir else []:
        digest.update(f"ingested {path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def build_index(knowledge_dir: Path, ingested_dir: Path | None = None, key: str = "") -> KnowledgeIndex:
    """Load, validate and index everything (no cache). Raises KnowledgeError on a bad entry."""
    docs = [doc_from_entry(entry) for entry in load_entries(knowledge_dir)]
    if ingested_dir is not None:
        docs.extend(load_ingested(ingested_dir))
    return KnowledgeIndex.build(docs, key)


def open_index(
    knowledge_dir: Path, ingested_dir: Path | None = None, cache_dir: Path | None = None, *, dense_vectors: str = "wait"
) -> KnowledgeIndex:
    """The index for these sources, from the on-disk cache when it matches, else built and cached.

    When hybrid retrieval is on (workflow/knowledge/dense.py), `dense_vectors` says how the
    document vectors load: "wait" (before returning), "background" (a server: BM25 answers
    until they are ready) or "off" (commands that do not search).
    A cache folder that cannot be written only costs speed (a note on stderr).
    Raises KnowledgeError when an entry or chunk file is invalid, or hybrid retrieval is
    requested without the dense extra.
    """
    from workflow.knowledge import dense

    key = fingerprint(knowledge_dir, ingested_dir)
    root = (cache_dir or cache_root()) / "knowledge-index"
    folder = root / key
    index: KnowledgeIndex | None = None
    if (folder / "docs.json").is_file():
        try:
            index = KnowledgeIndex.load(folder)
        except (OSError, ValueError, KeyError) as exc:
            print(f"note: rebuilding the knowledge index cache ({exc})", file=sys.stderr)
    if index is None:
        index = build_index(knowledge_dir, ingested_dir, key)
        try:
            _store(index, root, folder)
        except OSError as exc:
            print(f"note: knowledge index not cached ({exc})", file=sys.stderr)
    if dense_vectors != "off" and dense.wanted():
        texts = [doc.dense_text() for doc in index.docs]
        index.dense = dense.DenseVectors.for_texts(texts, folder / f"dense-{dense.MODEL_NAME}.npy",
                                                   background=dense_vectors == "background")
    return index


def _store(index: KnowledgeIndex, root: Path, folder: Path) -> None:
    """Write into a temporary folder and rename it into place, so a reader never sees half a
    cache; a concurrent writer that finished first wins and ours is dropped."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    try:
        index.save(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "docs.json").is_file():
            raise
    _prune(root, keep=folder)


def _prune(root: Path, keep: Path) -> None:
    caches = sorted(
        (path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for path in caches[KEEP_CACHES:]:
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)


def stats(index: KnowledgeIndex) -> dict[str, Any]:
    """Counts by type, topics and sources, for `cairn knowledge stats`."""
    by_type: dict[str, int] = defaultdict(int)
    for doc in index.docs:
        by_type[doc.type] += 1
    return {
        "documents": len(index.docs),
        "by_type": dict(sorted(by_type.items())),
        "topics": len({topic for doc in index.docs for topic in doc.topics}),
        "sources": len({doc.source["id"] for doc in index.docs}),
        "key": index.key,
    }
