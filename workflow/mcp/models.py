"""The typed results of the workflow MCP tools (DESIGN 7). Published as each tool's output
schema; unknown keys are refused so a shape change is caught by the tests, not by a client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProjectRow(_Out):
    name: str
    workflow_status: str | None
    currentStep: str | None


class ProjectList(_Out):
    projects: list[ProjectRow]


class StepRow(_Out):
    id: str
    title: str
    status: str


class Progress(_Out):
    """The same shape as `cairn status --json`."""

    project: str
    workflow_status: str | None
    currentStep: str | None
    steps: list[StepRow]
    architecture: str | None
    last_run: dict[str, Any] | None
    usage: dict[str, Any]
    training_spec: dict[str, Any] = Field(default_factory=dict, description="Whether step 5's spec is approved.")
    stale: list[str] = Field(default_factory=list, description="Steps whose documents were drafted from answers "
                                                                 "that changed since (re-draft them before GO).")


class StepRef(_Out):
    id: str
    title: str
    phase: str


class PersonaInfo(_Out):
    name: str
    role: str
    style: str


class GuidanceSection(_Out):
    heading: str
    text: str


class FieldSchema(_Out):
    type: str
    ask: str
    help: str | None
    default: Any
    required: bool = Field(description="True when Continue needs an answer (required and no default).")
    choices: list[str] | None
    min: float | None
    max: float | None
    when: str | None
    active: bool = Field(description="False while the field's `when` condition is false (it is not asked).")
    section: str | None


class Form(_Out):
    fields: dict[str, FieldSchema] = Field(alias="schema")
    answers: dict[str, Any]
    previous: dict[str, Any] = Field(description="Answers from an earlier visit; kept unless changed.")


class ContextDocument(_Out):
    path: str
    exists: bool
    summary: str


class MenuEntry(_Out):
    key: str
    label: str
    action: str


class Question(_Out):
    field: str
    ask: str
    help: str | None
    type: str
    choices: list[str] | None
    default: Any
    required: bool
    error: str | None


class Drafts(_Out):
    documents: list[str] = Field(description="Documents the step will write on Continue.")
    saved: list[str] = Field(description="Documents written by the assistant with save_document.")
    decisions: list[dict[str, Any]]
    stories: list[dict[str, Any]]
    problems: list[str]
    texts: dict[str, str] = Field(default_factory=dict, description=(
        "The full text of each drafted document: show it to the user before they approve Continue."))
    checks: list[dict[str, Any]] = Field(default_factory=list, description=(
        "Checks that tripped: severity block (Continue refused until fixed), confirm (pass the user's reason "
        "in choose(acknowledge={id: reason})), note; each with message, fix and any acknowledgement."))


class CurrentStep(_Out):
    project: str
    kind: Literal["question", "menu", "done"]
    step: StepRef | None
    persona: PersonaInfo | None
    description: str
    guidance: list[GuidanceSection]
    form: Form
    context: list[ContextDocument]
    knowledge: list[dict[str, Any]]
    knowledge_warning: str | None
    menu: list[MenuEntry]
    missing: list[str] = Field(description="What stands between the step and Continue (empty: it may complete).")
    question: Question | None = Field(description="The question the terminal would ask next (kind 'question').")
    drafts: Drafts
    visit: int


class SubmitResult(_Out):
    accepted: dict[str, Any]
    errors: dict[str, str]
    missing: list[str]
    next: str = Field(description="'menu', or 'question: FIELD' when required answers are still missing.")


class SaveResult(_Out):
    saved: bool
    path: str


class DecisionResult(_Out):
    recorded: bool
    id: str


class StoriesResult(_Out):
    added: int
    stories: list[dict[str, str]] = Field(default_factory=list, description=(
        "The step's stories as drafted now, as {id, title}: ids follow the drafted stories, so a change "
        "of answers may renumber them until Continue; empty while the step's answers are incomplete."))


class ChooseResult(_Out):
    advanced: bool
    step: str | None = Field(description="The current step after the choice (None when the workflow is complete).")
    missing: list[str]
    message: str
    progress: list[StepRow] | None = None
    personas: list[dict[str, Any]] | None = Field(default=None, description=(
        "Party Mode: the personas to speak as, in turn, with their title, style and principles."))


class KnowledgeResult(BaseModel):
    """The Knowledge server's `{results, metadata}`, passed through unchanged."""

    model_config = ConfigDict(extra="allow")
    results: list[dict[str, Any]]
    metadata: dict[str, Any]


class Pong(_Out):
    ok: bool


class NoteResult(_Out):
    noted: bool
    notes: int = Field(description="How many notes the step visit has now.")


class StoryIn(BaseModel):
    """One implementation story the user agreed to."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    acceptance_criteria: list[str] = Field(min_length=1, max_length=30)
