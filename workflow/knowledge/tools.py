"""The seven knowledge tools as plain methods over an index. The MCP server, the
in-process client and the CLI all call these, so every front end answers alike."""

from __future__ import annotations

import inspect
import time
from collections.abc import Collection
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, validate_call

from workflow.knowledge.dense import fuse
from workflow.knowledge.document import Doc
from workflow.knowledge.index import KnowledgeIndex
from workflow.knowledge.loader import KnowledgeError
from workflow.knowledge.protocol import KNOWLEDGE_TOOLS
from workflow.knowledge.response import EntryResponse, Metadata, SourceResponse, SourceResult

MAX_LIMIT = 500
# One cap for every front end (MCP tools and `cairn knowledge search`): a question longer
# than this is a pasted document, and BM25 over it ranks everything alike.
MAX_QUERY_CHARS = 2000
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Most results to return (1-{MAX_LIMIT}).")]
Query = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S")]
Topic = Annotated[str, Field(max_length=MAX_QUERY_CHARS,
                             description="Words or a tag; empty lists every entry of the type.")]
DocType = Literal["decision", "pattern", "warning", "methodology", "checklist", "note"]
Offset = Annotated[int, Field(ge=0, description="Skip this many sources (paging; see metadata.next_offset).")]

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
# (benchmarks/knowledge_*.yaml): off-topic questions mostly land at 0.3-0.8 ("tax deductions
# for home office" 0.37; one, "javascript array sort comparator", at 0.92 on the word "sort"),
# the weakest labelled answer at 0.82, the next at 1.06.
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
        unknown = sorted(set(arguments) - set(tool_arguments(tool)))
        if unknown:
            raise KnowledgeError([unknown_arguments_problem(tool, unknown)])
        try:
            response = method(**arguments)
        except ValidationError as exc:
            raise KnowledgeError([argument_problem(tool, exc)]) from None
        dumped: dict[str, Any] = response.model_dump(mode="json")
        return dumped

    @validate_call
    def search_knowledge(self, query: Query, limit: Limit = 10, type: DocType | None = None) -> EntryResponse:
        return self.search(query, types=None if type is None else [type], limit=limit)

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
    def list_sources(self, limit: Limit = 100, offset: Offset = 0) -> SourceResponse:
        """Cited sources and ingested files, with how many documents cite each, a page at a time."""
        started = time.perf_counter()
        page = self._sources[offset:offset + limit]
        results = [
            SourceResult(id=source_id, title=str(first.source["title"]), url=first.source.get("url"),
                         path=first.source.get("path"), entry_count=count, entry_types=kinds)
            for source_id, first, count, kinds in page
        ]
        metadata = _metadata("", len(results), "list", started, [result.id for result in results])
        end = offset + len(results)
        metadata.next_offset = end if end < len(self._sources) else None
        return SourceResponse(results=results, metadata=metadata)

    @cached_property
    def _sources(self) -> list[tuple[str, Doc, int, list[str]]]:
        """(id, first document, count, types) per source, grouped once per index: a page of
        list_sources then costs its own size, not a pass over 10,000 ingested chunks."""
        grouped: dict[str, list[Doc]] = {}
        for doc in self.index.docs:
            grouped.setdefault(str(doc.source["id"]), []).append(doc)
        return [(source_id, docs[0], len(docs), sorted({doc.type for doc in docs}))
                for source_id, docs in grouped.items()]

    @validate_call
    def compare_sources(
        self,
        topic: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")],
        source_ids: Annotated[list[str], Field(min_length=1, max_length=50)],
        limit_per_source: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> EntryResponse:
        """What each named source says about `topic`: results grouped by source, in the order given."""
        started = time.perf_counter()
        known = {source_id for source_id, *_ in self._sources}
        unknown = [source_id for source_id in source_ids if source_id not in known]
        if unknown:
            raise KnowledgeError(
                [f"compare_sources: unknown source id(s) {', '.join(unknown)}; fix: take ids from list_sources"]
            )
        ranked: list[tuple[Doc, float]] = []
        for source_id in dict.fromkeys(source_ids):
            ranked.extend(self._relevant(topic, self.index.rank(topic, source_ids=[source_id], limit=limit_per_source)))
        return _entries(topic, ranked, "bm25", started)


def tool_arguments(tool: str) -> list[str]:
    """The argument names `tool` accepts, in signature order."""
    return [name for name in inspect.signature(getattr(KnowledgeTools, tool)).parameters if name != "self"]


def unknown_arguments_problem(tool: str, unknown: list[str]) -> str:
    names = ", ".join(f"'{name}'" for name in unknown)
    return f"{tool}: unknown argument {names}; fix: use only {', '.join(tool_arguments(tool)) or 'no arguments'}"


def argument_problem(tool: str, exc: ValidationError) -> str:
    """The first validation error of a tool call as one line: argument, problem, fix."""
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"] if not isinstance(part, int)) or "arguments"
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return unknown_arguments_problem(tool, [key])
    if kind == "missing" or kind == "missing_argument":
        fix = f"pass '{key}'"
    elif kind in ("string_too_long", "too_long"):
        fix = f"shorten it to at most {ctx.get('max_length')} {'characters' if kind == 'string_too_long' else 'items'}"
    elif kind in ("string_too_short", "too_short", "string_pattern_mismatch"):
        fix = "give a non-empty value" if kind != "too_short" else f"give at least {ctx.get('min_length')} item(s)"
    elif kind == "greater_than_equal":
        fix = f"use a number of at least {ctx.get('ge')}"
    elif kind == "less_than_equal":
        fix = f"use a number of at most {ctx.get('le')}"
    elif kind == "literal_error":
        fix = "use one of the values listed"
    else:
        fix = "pass a value of the type the tool's input schema gives"
    return f"{tool}: argument '{key}': {err['msg']}; fix: {fix}"


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

