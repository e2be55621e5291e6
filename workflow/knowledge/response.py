"""Typed tool responses: `{results, metadata}` (DESIGN 6). The server annotates its tools
with these models, so clients get an output schema and validated structured content."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from workflow.knowledge.entry import Option


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRef(_Out):
    id: str = Field(description="Pass to compare_sources.source_ids.")
    title: str
    url: str | None = Field(default=None, description="Curated entries cite a public URL.")
    path: str | None = Field(default=None, description="Ingested notes name their file.")


class _Result(_Out):
    id: str
    title: str
    topics: list[str]
    summary: str
    score: float = Field(description="Relevance (BM25 plus tag boost, or the fused rank score in hybrid "
                                     "search); 0 for unranked listings.")
    source: SourceRef


class DecisionResult(_Result):
    type: Literal["decision"]
    question: str
    options: list[Option]
    considerations: list[str]
    recommended_approach: str


class PatternResult(_Result):
    type: Literal["pattern"]
    problem: str
    solution: str
    when_to_use: str | None = None
    tradeoffs: str | None = None


class WarningResult(_Result):
    type: Literal["warning"]
    description: str
    prevention: list[str]
    severity: Literal["low", "medium", "high"]


class MethodologyResult(_Result):
    type: Literal["methodology"]
    steps: list[str]
    outcome: str | None = None


class ChecklistResult(_Result):
    type: Literal["checklist"]
    items: list[str]


class NoteResult(_Result):
    type: Literal["note"]
    text: str = Field(description="A chunk of a team's own file, added by `cairn knowledge ingest`.")


_RESULT_MODELS: tuple[type[_Result], ...] = (
    DecisionResult, PatternResult, WarningResult, MethodologyResult, ChecklistResult, NoteResult)


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema cut to its JSON type: nested models and list items are not described."""
    if "$ref" in schema:
        return {"type": "object"}
    if "anyOf" in schema:
        return {"type": sorted({_shallow(option)["type"] for option in schema["anyOf"]})}
    return {key: schema[key] for key in ("type", "enum", "description") if key in schema}


def _result_schema() -> dict[str, Any]:
    """The published schema of one result: every field of every type with its JSON type,
    the common fields required, nested values not described.

    The server validates each response against the full pydantic models above; this lean
    schema is what MCP clients re-validate on every call. The detailed version (one branch
    per type, nested options and sources) cost a Python client more time to validate than
    the whole search took, so the detail lives in the models and knowledge/README.md."""
    properties: dict[str, Any] = {}
    kinds = []
    for model in _RESULT_MODELS:
        schema = model.model_json_schema()["properties"]
        kinds.append(schema["type"]["const"])
        for name, field_schema in schema.items():
            properties.setdefault(name, _shallow(field_schema))
    properties["type"] = {"enum": kinds}
    required = [name for name, field in _Result.model_fields.items() if field.is_required()] + ["type"]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


EntryResult = Annotated[
    DecisionResult | PatternResult | WarningResult | MethodologyResult | ChecklistResult | NoteResult,
    Field(discriminator="type"),
]


class Metadata(_Out):
    query: str
    answered: bool = Field(
        default=True,
        description="false when no entry cleared the relevance floor: the base has no answer to this query.")
    note: str | None = Field(default=None, description="Set when answered is false: what that means for the caller.")
    result_count: int
    search_type: Literal["bm25", "hybrid", "list"] = Field(
        description="bm25: ranked by BM25 relevance; hybrid: BM25 and dense embeddings fused by reciprocal rank; "
                    "list: unranked.")
    latency_ms: float
    sources_cited: list[str] = Field(description="Ids of the sources the results cite, in result order.")
    next_offset: int | None = Field(default=None, description="list_sources: the offset of the next page, if any.")


class EntryResponse(_Out):
    results: Annotated[list[EntryResult], WithJsonSchema({"type": "array", "items": _result_schema()})]
    metadata: Metadata


class SourceResult(_Out):
    type: Literal["source"] = "source"
    id: str
    title: str
    url: str | None = None
    path: str | None = None
    entry_count: int
    entry_types: list[str]


class SourceResponse(_Out):
    results: list[SourceResult]
    metadata: Metadata


class PingResponse(_Out):
    ok: bool
