"""Every document the shipped pack writes, rendered end to end from the three shipped answers files
and a deliberately odd fourth one (self-hosted, no external APIs, a classification task, drifting
data, a REVISE at the integration review), read as the team would read it: no unrendered
placeholders, no template instructions, none of the contradictions issue 12 lists, every section
present with content, and the numbers derived from the answers."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import open_session, quiet_console
from workflow.answers import AnswerPlan
from workflow.chat import StreamReader, run_chat
from workflow.packs import load_pack
from workflow.session import create_project
from workflow.store import read_sidecar

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PROJECTS = ("fine-tuning", "rag-only", "hybrid", "odd-classification")
JUDGE_METRICS = {"llm-judge-rubric", "faithfulness"}


@dataclass
class Project:
    name: str
    sidecar: dict[str, Any]
    answers: dict[str, Any]  # every step's answers in one namespace, as the templates see them
    documents: dict[str, str]  # path under the project folder -> text

    def doc(self, path: str) -> str:
        return self.documents[path]

    def skipped(self, step_id: str) -> bool:
        return self.sidecar["steps"][step_id] == "skipped"


def _run(out: Path, name: str) -> Project:
    create_project(out, name, user="facilitator")
    console, _ = quiet_console()
    plan = AnswerPlan.from_file(EXAMPLES / f"answers-{name}.yaml", yes=True)
    session = open_session(out, name)
    try:
        assert run_chat(session, console, StreamReader(io.StringIO(""), console), plan) == 0
    finally:
        session.close()
    sidecar = read_sidecar(out / name)
    merged: dict[str, Any] = {}
    for step_answers in sidecar["answers"].values():
        merged.update(step_answers)
    documents = {str(p.relative_to(out / name)): p.read_text(encoding="utf-8")
                 for p in sorted((out / name).glob("phase-*/*.md"))}
    return Project(name, sidecar, merged, documents)


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Project]]:
    out = tmp_path_factory.mktemp("pack-documents") / "output"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)  # answers files hold dataset paths relative to the repository
        yield {name: _run(out, name) for name in PROJECTS}


def all_documents(projects: dict[str, Project]) -> Iterator[tuple[str, str, str]]:
    for project in projects.values():
        for path, text in project.documents.items():
            yield project.name, path, text


# -- what a rendered document must never contain ----------------------------------------------

# `}}` closing a JSON object inside an output schema is content; `x }}` is a leftover expression.
PLACEHOLDER = re.compile(r"\{\{|[\w)'\]] ?\}\}|\{%|%\}|\{#|#\}|\{[A-Za-z_][\w .-]*\}")
LEFTOVERS = [re.compile(p, re.I) for p in (
    r"\bTODO\b", r"\bTBD\b", r"\bFIXME\b", r"to be mapped", r"fill in (the|this|here)", r"<!--",
    r"lorem ipsum", r"insert (here|your)", r"\bUndefined\b", r"\| \? \|", r"\(\?\)", r"(?-i:\| None \|)",
    r"\['", r"\{'", r"\[\]",
)]


def empty_cells(text: str) -> list[str]:
    """Table rows (not header rows) with a cell left blank."""
    lines = text.splitlines()
    return [line for i, line in enumerate(lines)
            if line.startswith("|") and re.search(r"\|\s*\|", line)
            and not (i + 1 < len(lines) and lines[i + 1].startswith("| ---"))]


def test_every_template_of_the_pack_is_rendered_by_the_four_projects(projects: dict[str, Project]) -> None:
    pack = load_pack(None)
    rendered: set[str] = set()
    for step in pack.steps.values():
        for project in projects.values():
            if project.skipped(step.id):
                if step.meta.skip_record and step.meta.skip_record in project.documents:
                    rendered.add("skip-record.md.j2")
                continue
            rendered |= {o.template for o in step.meta.outputs if o.template and o.path in project.documents}
    shipped = {p.name for p in (REPO / "templates").glob("*.j2")}
    assert rendered == shipped


def test_no_document_keeps_an_unrendered_placeholder(projects: dict[str, Project]) -> None:
    hits = [(name, path, m.group(0)) for name, path, text in all_documents(projects)
            for m in PLACEHOLDER.finditer(text)]
    assert hits == []


def test_no_document_keeps_a_template_instruction_or_an_empty_value(projects: dict[str, Project]) -> None:
    hits = [(name, path, line.strip()) for name, path, text in all_documents(projects)
            for line in text.splitlines() if any(p.search(line) for p in LEFTOVERS)]
    hits += [(name, path, row) for name, path, text in all_documents(projects) for row in empty_cells(text)]
    assert hits == []


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every ## and ### heading; the body runs to the next heading of the same
    or a higher level, so a section made of subsections counts as having content."""
    lines = text.splitlines()
    heads = [(i, len(m.group(1)), m.group(2).strip()) for i, line in enumerate(lines)
             if (m := re.match(r"^(#{2,3}) (.+)$", line))]
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1:] if lv <= level), len(lines))
        out.append((title, "\n".join(lines[i + 1:end]).strip()))
    return out


REQUIRED = {
    "phase-0-scoping/business-requirements.md": ["1. Problem and value", "2. Primary use case", "4. Success metrics",
                                                 "7. Risks", "8. Decisions"],
    "phase-0-scoping/architecture-decision.md": ["3. Should you fine-tune at all?", "This project against the matrix",
                                                 "Build or buy, three questions", "4. Decisions"],
    "phase-0-scoping/tech-stack-decision.md": ["1. Stack per layer", "Stories"],
    "phase-1-feature/data-requirements.md": ["Verdict", "Risks for this architecture", "Quality and PII"],
    "phase-1-feature/data-pipeline-spec.md": ["3. Deduplication and splitting", "4. Quality gates", "Stories"],
    "phase-1-feature/embeddings-spec.md": ["2. Chunking", "4. Vector store and index", "5. Metadata", "Stories"],
    "phase-2-training/training-spec.md": ["1. Base model", "Candidates compared", "6. Catastrophic forgetting plan",
                                          "7. Risks and mitigations", "8. Cost estimate", "10. Stories"],
    "phase-3-inference/rag-pipeline-spec.md": ["2. Retrieval", "5. Failure handling", "6. Retrieval evaluation"],
    "phase-3-inference/prompt-engineering-spec.md": ["2. Output format", "5. Prompt injection defences", "Stories"],
    "phase-3-inference/system-prompt.md": ["Message layout"],
    "phase-4-evaluation/evaluation-spec.md": ["2. Metrics per component", "5. Regression suite", "7. Quality gate"],
    "phase-5-operations/operations-spec.md": ["1. Monitoring", "2. Drift detection", "4. Deployment",
                                              "A/B test plan", "5. Rollback"],
    "phase-5-operations/runbook.md": ["Rollback (do this first when users are harmed)", "Escalation"],
    "phase-6-integration/integration-review.md": ["1. Automatic consistency checks", "3. Production readiness",
                                                  "4. Risks and owners", "6. Implementation plan"],
}
STEP_OF = {"phase-1-feature/embeddings-spec.md": "4", "phase-2-training/training-spec.md": "5",
           "phase-3-inference/rag-pipeline-spec.md": "6"}


@pytest.mark.parametrize("name", PROJECTS)
def test_every_required_section_is_present_and_every_section_has_content(
        projects: dict[str, Project], name: str) -> None:
    project = projects[name]
    for path, required in REQUIRED.items():
        text = project.doc(path)
        if path in STEP_OF and project.skipped(STEP_OF[path]):
            assert text.startswith("# Skipped: step") and "| Why |" in text, path
            continue
        found = sections(text)
        titles = [title for title, _ in found]
        missing = [r for r in required if not any(t.startswith(r) for t in titles)]
        assert missing == [], (path, missing)
    empty = [(path, title) for path, text in project.documents.items() for title, body in sections(text)
             if not body]
    assert empty == []


# -- the contradictions issue 12 names, and their relatives -------------------------------------

def test_a_json_only_system_prompt_never_asks_for_text_outside_the_json(projects: dict[str, Project]) -> None:
    for project in projects.values():
        prompt = project.doc("phase-3-inference/system-prompt.md")
        if project.answers["output_format"] in ("json-schema", "structured-output"):
            assert "and nothing else" in prompt
            assert not re.search(r"at the end|then sources|Markdown", prompt), project.name
            if project.answers.get("cite_sources"):
                spec = project.doc("phase-3-inference/prompt-engineering-spec.md")
                assert "`sources` field" in prompt and "`sources` field" in spec
                assert "format source-list-only" not in spec
    odd = projects["odd-classification"].answers
    assert odd["output_format"] == "json-schema" and odd["citation_format"] == "source-list-only", \
        "the odd project asks for exactly the combination that used to contradict itself"


def test_a_self_hosted_runbook_never_sends_on_call_to_a_providers_status_page(projects: dict[str, Project]) -> None:
    for project in projects.values():
        runbook = project.doc("phase-5-operations/runbook.md")
        if project.answers["build_vs_buy"] == "build":
            assert "status page" not in runbook and "Provider outage" not in runbook, project.name
            assert "self-hosted serving" in runbook
        else:
            assert "status page" in runbook
    assert projects["rag-only"].answers["build_vs_buy"] == "buy", "one project covers the hosted branch"


def test_ef_search_is_only_ever_tuned_on_an_hnsw_index(projects: dict[str, Project]) -> None:
    for project in projects.values():
        hnsw = not project.skipped("4") and project.answers.get("index_type") == "hnsw"
        for path, text in project.documents.items():
            if not hnsw:
                assert "ef_search" not in text, (project.name, path)
    flat = projects["odd-classification"]
    assert flat.answers["index_type"] == "flat"
    assert "a flat index scans every vector" in flat.doc("phase-5-operations/runbook.md")


def story_criteria(project: Project) -> list[str]:
    return [c for stories in project.sidecar["stories"].values() for s in stories for c in s["acceptance_criteria"]]


def test_no_story_tests_a_metadata_field_the_user_did_not_keep(projects: dict[str, Project]) -> None:
    for project in projects.values():
        if project.skipped("4"):
            continue
        fields = set(project.answers["metadata_fields"])
        for criterion in story_criteria(project):
            if criterion.startswith("Each chunk carries "):
                assert set(criterion.removeprefix("Each chunk carries ").split(", ")) <= fields
            if re.search(r"access[- ]level|access filters", criterion, re.I):
                assert any("access" in f for f in fields), (project.name, criterion)
    assert not any("access" in f for f in projects["odd-classification"].answers["metadata_fields"])


def test_no_document_relies_on_a_judge_the_evaluation_did_not_choose(projects: dict[str, Project]) -> None:
    for project in projects.values():
        if JUDGE_METRICS & set(project.answers["generation_metrics"]):
            continue
        for path, text in project.documents.items():
            assert "calibrated judge" not in text and "judge score on" not in text, (project.name, path)
        assert "reviewed accuracy on" in project.doc("phase-5-operations/operations-spec.md")


def test_a_fine_tuning_only_runbook_never_mentions_retrieval(projects: dict[str, Project]) -> None:
    runbook = projects["fine-tuning"].doc("phase-5-operations/runbook.md").lower()
    assert "retrieval" not in runbook and "vector store" not in runbook
    numbers = re.findall(r"^(\d+)\. ", runbook.split("## high latency")[1].split("## ")[0], re.M)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)], "the latency steps are numbered without a gap"


def test_where_hosted_apis_are_forbidden_the_api_alternative_is_marked_not_permitted(
        projects: dict[str, Project]) -> None:
    for project in projects.values():
        if project.skipped("5"):
            continue
        spec = project.doc("phase-2-training/training-spec.md")
        forbidden = project.answers["privacy_constraints"] in ("no-external-api", "on-premises-only")
        assert ("not a permitted option" in spec) == forbidden, project.name


# -- content derived from the answers -----------------------------------------------------------

def test_the_architecture_decision_weighs_this_projects_baseline_and_privacy(projects: dict[str, Project]) -> None:
    for project in projects.values():
        decision = project.doc("phase-0-scoping/architecture-decision.md")
        matrix = decision.split("### This project against the matrix")[1].split("###")[0]
        assert f"| Privacy | {project.answers['privacy_constraints']} |" in matrix
        if project.answers["architecture"] != "rag-only":
            assert project.answers["baseline_evidence"].split()[0] in decision
    odd = projects["odd-classification"].doc("phase-0-scoping/architecture-decision.md")
    assert "**No** (on-premises-only): build" in odd


def test_the_training_spec_lists_every_candidate_and_the_licence_conditions(projects: dict[str, Project]) -> None:
    for project in projects.values():
        if project.skipped("5"):
            continue
        spec = project.doc("phase-2-training/training-spec.md")
        candidates = project.answers["base_model_candidates"]
        assert len(candidates) >= 3 and all(c in spec for c in candidates)
        assert spec.count("**(chosen)**") == 1
        assert all(f"| {e} |" in spec for e in ("E1", "E2", "E3", "E4")), "the error taxonomy is answered"
    odd = projects["odd-classification"].doc("phase-2-training/training-spec.md")
    assert "cleared with conditions: " in odd and "700 million" in odd
    assert "15 person-days × $700 = **$10,500**" in odd
    assert "German banking FAQ set" in odd and "5% of the training examples" in odd


def test_the_ab_test_plan_is_sized_from_the_traffic_stated_at_step_1(projects: dict[str, Project]) -> None:
    for project in projects.values():
        a = project.answers
        p1, mde = a["ab_baseline_pct"] / 100, a["ab_mde_pct"] / 100
        p2 = min(p1 + mde, 0.999)
        per_arm = math.ceil((1.96 + 0.8416) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / mde ** 2)
        daily = a["monthly_requests"] / 30 * a["ab_traffic_pct"] / 100 * a["ab_metric_coverage_pct"] / 100
        days = math.ceil(2 * per_arm / daily)
        ops = project.doc("phase-5-operations/operations-spec.md")
        assert f"| Sample size | {per_arm:,} observed requests per arm" in ops, project.name
        assert f"| Duration | {days:,} days" in ops, project.name
        assert all(g in ops for g in a["ab_guardrail_metrics"])


def test_a_classification_project_is_scored_per_class(projects: dict[str, Project]) -> None:
    for name in ("fine-tuning", "odd-classification"):
        project = projects[name]
        assert project.answers["task_type"] == "classification"
        evaluation = project.doc("phase-4-evaluation/evaluation-spec.md")
        assert "precision, recall and F1 for each class" in evaluation and "not yet among" not in evaluation
    hybrid = projects["hybrid"].doc("phase-4-evaluation/evaluation-spec.md")
    assert "for each class" not in hybrid


def test_drifting_data_is_split_by_time_on_the_named_field(projects: dict[str, Project]) -> None:
    odd = projects["odd-classification"]
    assert odd.answers["data_drift"] == "drifting"
    pipeline = odd.doc("phase-1-feature/data-pipeline-spec.md")
    assert "**time-based** on `posted_at`: records before 2026-09-01 train" in pipeline
    assert "`cairn data split deduplicated.jsonl --by posted_at --before 2026-09-01 -o splits`" in pipeline
    assert "Every training record has posted_at before 2026-09-01" in " ".join(story_criteria(odd))
    review = odd.doc("phase-6-integration/integration-review.md")
    assert "✅ drifting data, time-based split on `posted_at` before 2026-09-01" in review


def test_the_integration_review_names_risk_owners_and_orders_the_plan_by_milestone(
        projects: dict[str, Project]) -> None:
    for project in projects.values():
        review = project.doc("phase-6-integration/integration-review.md")
        risks = dict(sections(review))["4. Risks and owners"]
        owners = project.answers.get("risk_owners") or []
        assert all(r in risks for r in owners)
        if not project.answers.get("risks"):
            assert owners or "No risks were recorded" in risks
        plan = dict(sections(review))["6. Implementation plan"]
        assert plan.index("Milestone 1: Foundations") < plan.index("ARCH-S01")
        assert "Spec: `phase-0-scoping/tech-stack-decision.md`. Implements BUILD-001, ARCH-001, TECH-001." in plan
        total = sum(len(s) for s in project.sidecar["stories"].values())
        assert len(re.findall(r"^\d+\. \*\*[A-Z]+-S\d\d:", plan, re.M)) == total


def test_the_odd_projects_revise_writes_a_revision_request_and_the_return_visit_approves(
        projects: dict[str, Project]) -> None:
    odd = projects["odd-classification"]
    request = odd.doc("phase-6-integration/revision-request.md")
    assert "# Revision request: back to step 9" in request and "7-day window" in request
    assert odd.sidecar["workflow_status"] == "complete" and odd.sidecar["visits"]["9"] == 2
    assert "7-day correction window" in odd.doc("phase-5-operations/operations-spec.md")


# -- the pushback behind those documents: one wrong answer in an example file, and the step refuses --

PUSHBACK = [
    ("fine-tuning", "2a", {"baseline_status": "not-measured"}, "confirm TUNING-WITHOUT-BASELINE"),
    ("odd-classification", "3b", {"split_strategy": "random"}, "confirm DRIFT-RANDOM-SPLIT"),
    ("odd-classification", "5", {"base_model_candidates": ["meta-llama/Llama-3.2-3B-Instruct"]},
     "confirm FEW-BASE-CANDIDATES"),
    ("hybrid", "5", {"preference_pairs": 0}, "check DPO-WITHOUT-PAIRS"),
    ("fine-tuning", "8", {"generation_metrics": ["exact-match"]}, "confirm CLASSIFICATION-WITHOUT-PER-CLASS"),
    ("fine-tuning", "9", {"drift_checks": ["input-topic-mix", "retrieval-score"]},
     "check RETRIEVAL-SIGNALS-WITHOUT-RETRIEVAL"),
]


@pytest.mark.parametrize(("name", "step_id", "change", "expected"), PUSHBACK,
                         ids=[p[3].split()[1] for p in PUSHBACK])
def test_one_wrong_answer_makes_its_step_refuse_continue_with_the_named_check(
        name: str, step_id: str, change: dict[str, Any], expected: str, out: Path,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import yaml

    from workflow.errors import AnswersRefused

    monkeypatch.chdir(REPO)
    answers = yaml.safe_load((EXAMPLES / f"answers-{name}.yaml").read_text(encoding="utf-8"))
    entry = answers[step_id]
    (entry[0] if isinstance(entry, list) else entry).update(change)
    custom = tmp_path / "answers.yaml"
    custom.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    create_project(out, "p", user="facilitator")
    console, _ = quiet_console()
    session = open_session(out, "p")
    try:
        with pytest.raises(AnswersRefused) as refused:
            run_chat(session, console, StreamReader(io.StringIO(""), console), AnswerPlan.from_file(custom, yes=True))
    finally:
        session.close()
    assert f"step {step_id} (" in str(refused.value) and f"  - {expected}:" in str(refused.value)
