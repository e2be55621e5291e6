"""The frontmatter contract of Cairn step files and persona files (DESIGN 3.3), as pydantic
models that reject unknown keys, plus the loaded, immutable pack types."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflow.knowledge.protocol import KNOWLEDGE_TOOLS

FieldType = Literal["str", "text", "int", "float", "bool", "choice", "multi", "list", "path"]
MenuAction = Literal["continue", "revise", "requery", "progress", "skip", "review", "party"]
Severity = Literal["block", "confirm", "note"]
OUTPUT_SCHEMAS = ("TrainingSpec",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FormField(_Strict):
    type: FieldType = "str"
    ask: str | None = None
    help: str | None = None
    default: Any = None
    # An expression over the project's answers and measured facts whose value, when defined, is
    # offered instead of `default` (e.g. the generation length from the data's reply lengths).
    default_from: str | None = None
    required: bool = True
    choices: list[str] | None = None
    min: float | None = None
    max: float | None = None
    sidecar: bool = False
    when: str | None = None
    section: str | None = None

    @field_validator("choices", mode="before")
    @classmethod
    def _choices_as_strings(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


class KnowledgeQuery(_Strict):
    tool: str
    topic: str | None = None
    query: str | None = None
    limit: int | None = Field(default=None, ge=1, le=100)

    @field_validator("tool")
    @classmethod
    def _known_tool(cls, value: str) -> str:
        if value not in KNOWLEDGE_TOOLS:
            raise ValueError(f"unknown knowledge tool '{value}'; use one of {', '.join(KNOWLEDGE_TOOLS)}")
        return value

    @property
    def text(self) -> str:
        return self.query or self.topic or ""

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.tool == "search_knowledge":
            args["query"] = self.query or self.topic or ""
        elif self.tool != "list_sources":
            args["topic"] = self.topic or self.query or ""
        # Steps show a compact list, so a handful of results per query is enough.
        args["limit"] = self.limit if self.limit is not None else 5
        return args


class NextRule(_Strict):
    when: str | None = None
    step: str


class DecisionSpec(_Strict):
    id: str
    title: str
    choice: str
    rationale: str
    when: str | None = None


class OutputSpec(_Strict):
    path: str
    template: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    when: str | None = None


class StoryItem(_Strict):
    title: str
    description: str
    acceptance_criteria: list[str] = Field(min_length=1)
    when: str | None = None


class StoriesSpec(_Strict):
    prefix: str
    key: str
    items: list[StoryItem] = Field(default_factory=list)


class Guard(_Strict):
    when: str
    message: str


class CheckSpec(_Strict):
    """A rule about the plan (DESIGN 3.3): `when` is true while the problem stands. `block`
    refuses Continue, `confirm` needs the user's reason to go on, `note` is shown only."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
    when: str
    severity: Severity
    message: str
    fix: str | None = None
    knowledge: str | None = None  # a search query whose best entry backs the check


class ReviseSpec(_Strict):
    when: str
    target: str | None = None
    target_field: str | None = None
    reason_field: str | None = None  # shown when the target step reopens


class MenuItem(_Strict):
    key: str = Field(min_length=1, max_length=40)  # BMAD `*command` triggers can be long
    label: str
    action: MenuAction


class StepFrontmatter(_Strict):
    id: str
    name: str
    title: str
    description: str = ""
    agent: str
    phase: str
    skip_when: str | None = None
    skip_record: str | None = None
    skippable_when: str | None = None
    next: str | list[NextRule] | None = None
    context: list[str] = Field(default_factory=list)
    knowledge: list[KnowledgeQuery] = Field(default_factory=list)
    form: dict[str, FormField] = Field(default_factory=dict)
    decisions: list[DecisionSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    stories: StoriesSpec | None = None
    guards: list[Guard] = Field(default_factory=list)
    checks: list[CheckSpec] = Field(default_factory=list)
    # While this holds, every completed step's checks gate Continue here too (an integration review).
    project_checks: str | None = None
    revise: ReviseSpec | None = None
    menu: list[MenuItem] = Field(min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class PersonaFrontmatter(_Strict):
    name: str
    title: str
    icon: str = ""
    style: str = ""
    principles: list[str] = Field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Persona:
    key: str
    name: str
    title: str
    icon: str
    style: str
    principles: tuple[str, ...]
    body: str


@dataclass(frozen=True, kw_only=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Step:
    """One loaded step: its validated frontmatter, where it came from, and its guidance."""

    meta: StepFrontmatter
    file: Path
    rel: str  # path relative to the pack's steps folder, e.g. "2-training/step-05-....md"
    sections: tuple[Section, ...]
    next_rules: tuple[NextRule, ...]  # `step` resolved to step ids
    # What the skip record says when the pack shows it (a BMAD skip section's block), as plain text.
    skip_text: str | None = None

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def title(self) -> str:
        return self.meta.title

    def menu_action(self, action: str) -> MenuItem | None:
        return next((m for m in self.meta.menu if m.action == action), None)

    def guidance(self) -> str:
        return "\n\n".join(f"## {s.heading}\n{s.text}".strip() for s in self.sections)


@dataclass(frozen=True, kw_only=True)
class Pack:
    name: str
    version: str
    style: Literal["cairn", "bmad"]
    title: str
    root: Path
    steps_dir: Path
    templates_dir: Path
    start: str
    steps: dict[str, Step]
    personas: dict[str, Persona]
    warnings: tuple[str, ...] = field(default=())

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def order(self) -> list[str]:
        return list(self.steps)

    def guests(self, step: Step) -> list[Persona]:
        """The personas who join a step's Party Mode: every other one of the pack, in pack order."""
        return [p for key, p in self.personas.items() if key != step.meta.agent]

    def phases(self) -> list[str]:
        seen: list[str] = []
        for step in self.steps.values():
            if step.meta.phase not in seen:
                seen.append(step.meta.phase)
        return seen
