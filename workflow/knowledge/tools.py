"""The seven knowledge tools as plain methods over an index. The MCP server, the
in-process client and the CLI all call these, so every front end answers alike."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Annotated, Any

import numpy as np
from pydantic import Field, ValidationError, validate_call

from workflow.knowledge.dense import fuse
from workflow.knowledge.document import Doc
from workflow.knowledge.index import KnowledgeIndex
from workflow.knowledge.loader import KnowledgeError
from workflow.knowledge.protocol import KNOWLEDGE_TOOLS
from workflow.knowledge.response import EntryResponse, Metadata, SourceResponse, SourceResult

MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Most results to return (1-{MAX_LIMIT}).")]
Query = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
Topic = Annotated[str, Field(max_length=2000, description="Words or a tag; empty lists every entry of the type.")]

# Which entry types each get_* tool returns; checklists are step-by-step material,
# so they travel with methodologies (the public tool set has no get_checklists).
TYPES_BY_TOOL: dict[str, tuple[str, ...]] = {
    "get_decisions": ("decision",),
    "get_patterns": ("pattern",),
    "get_warnings": ("warning",),
    "get_methodologies": ("methodology", "checklist"),
}
# Topic queries drop matches scoring under this share of the best one: a step asking
# about "LoRA rank" wants the LoRA entries, not every entry that says "rank".
TOPIC_FLOOR = 0.2
# The absolute floor: a document is an answer only when its score times the IDF-weighted
# share of the query's terms it contains reaches this. Measured on the labelled questions
# (benchmarks/knowledge_heldout.yaml): off-topic questions ("tax deductions for home office",
# "javascript array sort comparator") land at 0.2-0.8, the weakest real answers above 0.85.
# Below it the response is empty with `answered: false`: "no entry covers this" is an
# answer, and a better one than confident-looking unrelated entries.
RELEVANCE_FLOOR = 0.8
# Hybrid retrieval also keeps a document whose embedding is at least this close to the
# question (cosine, all-MiniLM-L6-v2) even when few of its words match: that is what the
# dense half is for. Off-topic questions measured at most 0.30 (benchmarks/knowledge_heldout.yaml
# and a few more), so 0.45 leaves a margin.
DENSE_FLOOR = 0.45
# How deep each ranking goes before fusion.
FUSION_DEPTH = 50
NO_ANSWER = ("No entry in the knowledge base covers this; treat it as an open question "
             "(check current primary sources) rather than relying on unrelated entries.")


class KnowledgeTools:
    """Tool implementations. Each returns a validated response model; bad arguments raise
    KnowledgeError (a CairnError), which the server turns into a tool error."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.index = index

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run `tool` with JSON-style `arguments` and return the JSON-ready response.

        Raises KnowledgeError for an unknown tool or invalid arguments.
        """
        if tool not in KNOWLEDGE_TOOLS:
            raise KnowledgeError([f"unknown knowledge tool '{tool}'; fix: use one of {', '.join(KNOWLEDGE_TOOLS)}"])
        method = getattr(self, tool)
        try:
            response = method(**arguments)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(part) for part in err["loc"])
            raise KnowledgeError([f"{tool}: argument '{key}': {err['msg']}"]) from None
        except TypeError as exc:
            raise KnowledgeError([f"{tool}: {exc}"]) from None
        dumped: dict[str, Any] = response.model_dump(mode="json")
        return dumped

    @validate_call
    def search_knowledge(self, query: Query, limit: Limit = 10) -> EntryResponse:
        return self.search(query, limit=limit)

    def search(self, query: str, *, types: Collection[str] | None = None, limit: int = 10) -> EntryResponse:
        """Full-text search over every document (entries and ingested notes), optionally by type."""
        started = time.perf_counter()
        if self.index.dense is not None and self.index.dense.ready():
            return _entries(query, self._hybrid(query, types, limit), "hybrid", started)
        ranked = self._relevant(query, self.index.rank(query, types=types, limit=limit))
        return _entries(query, ranked, "bm25", started)

    def _hybrid(self, query: str, types: Collection[str] | None, limit: int) -> list[tuple[Doc, float]]:
        """BM25 and dense rankings of the documents that clear either floor, fused by
        reciprocal rank; the score is the fused score."""
        index = self.index
        assert index.dense is not None
        bm25 = index.scores(query)
        evidence = bm25 * np.array(index.coverage(query, list(range(len(index.docs)))), dtype=np.float32)
        similarity = index.dense.similarities(query)
        allowed = index.type_mask(types)
        keep = allowed & ((evidence >= RELEVANCE_FLOOR) | (similarity >= DENSE_FLOOR))
        candidates = np.flatnonzero(keep)
        lexical = candidates[bm25[candidates] > 0]
        by_bm25 = lexical[np.argsort(-bm25[lexical], kind="stable")][:FUSION_DEPTH]
        by_dense = candidates[np.argsort(-similarity[candidates], kind="stable")][:FUSION_DEPTH]
        fused = fuse([by_bm25.tolist(), by_dense.tolist()])
        order = sorted(fused, key=lambda position: (-fused[position], position))[:limit]
        return [(index.docs[position], fused[position]) for position in order]

    def _relevant(self, query: str, ranked: list[tuple[Doc, float]]) -> list[tuple[Doc, float]]:
        """The ranked documents that clear RELEVANCE_FLOOR, in order."""
        if not ranked:
            return ranked
        shares = self.index.coverage(query, [self.index.position(doc.id) for doc, _ in ranked])
        return [(doc, score) for (doc, score), share in zip(ranked, shares, strict=True)
                if score * share >= RELEVANCE_FLOOR]

    @validate_call
    def get_decisions(self, topic: Topic = "", limit: Limit = 100) -> EntryResponse:
        return self._by_topic("get_decisions", topic, limit)

    @validate_call
    def get_patterns(self, topic: Topic = "", limit: Limit = 100) -> EntryResponse:
        return self._by_topic("get_patterns", topic, limit)

    @validate_call
    def get_warnings(self, topic: Topic = "", limit: Limit = 100) -> EntryResponse:
        return self._by_topic("get_warnings", topic, limit)

    @validate_call
    def get_methodologies(self, topic: Topic = "", limit: Limit = 100) -> EntryResponse:
        return self._by_topic("get_methodologies", topic, limit)

    def _by_topic(self, tool: str, topic: str, limit: int) -> EntryResponse:
        started = time.perf_counter()
        types = TYPES_BY_TOOL[tool]
        if not topic.strip():
            listed = [(doc, 0.0) for doc in self.index.of_types(types)][:limit]
            return _entries(topic, listed, "list", started)
        ranked = self._relevant(topic, self.index.rank(topic, types=types, limit=limit))
        if ranked:
            floor = ranked[0][1] * TOPIC_FLOOR
            ranked = [(doc, score) for doc, score in ranked if score >= floor]
        return _entries(topic, ranked, "bm25", started)

    @validate_call
    def list_sources(self, limit: Limit = 100) -> SourceResponse:
        """Every cited source and ingested file, with how many documents cite it."""
        started = time.perf_counter()
        grouped: dict[str, list[Doc]] = {}
        for doc in self.index.docs:
            grouped.setdefault(str(doc.source["id"]), []).append(doc)
        results = [
            SourceResult(
                id=source_id,
                title=str(docs[0].source["title"]),
                url=docs[0].source.get("url"),
                path=docs[0].source.get("path"),
                entry_count=len(docs),
                entry_types=sorted({doc.type for doc in docs}),
            )
            for source_id, docs in grouped.items()
        ][:limit]
        metadata = _metadata("", len(results), "list", started, [result.id for result in results])
        return SourceResponse(results=results, metadata=metadata)

    @validate_call
    def compare_sources(
        self,
        topic: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")],
        source_ids: Annotated[list[str], Field(min_length=1, max_length=50)],
        limit_per_source: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> EntryResponse:
        """What each named source says about `topic`: results grouped by source, in the order given."""
        started = time.perf_counter()
        known = {str(doc.source["id"]) for doc in self.index.docs}
        unknown = [source_id for source_id in source_ids if source_id not in known]
        if unknown:
            raise KnowledgeError(
                [f"compare_sources: unknown source id(s) {', '.join(unknown)}; fix: take ids from list_sources"]
            )
        ranked: list[tuple[Doc, float]] = []
        for source_id in dict.fromkeys(source_ids):
            ranked.extend(self._relevant(topic, self.index.rank(topic, source_ids=[source_id], limit=limit_per_source)))
        return _entries(topic, ranked, "bm25", started)


def _entries(query: str, ranked: list[tuple[Doc, float]], search_type: str, started: float) -> EntryResponse:
    results = [doc.as_result(score) for doc, score in ranked]
    cited = [str(doc.source["id"]) for doc, _ in ranked]
    return EntryResponse.model_validate(
        {"results": results, "metadata": _metadata(query, len(results), search_type, started, cited)}
    )


def _metadata(query: str, count: int, search_type: str, started: float, cited: list[str]) -> Metadata:
    answered = count > 0 or search_type == "list"
    return Metadata.model_validate(
        {
            "query": query,
            "answered": answered,
            "note": None if answered else NO_ANSWER,
            "result_count": count,
            "search_type": search_type,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "sources_cited": list(dict.fromkeys(cited)),
        }
    )

