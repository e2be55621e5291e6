"""The shipped AI engineering pack, loaded through the production loaders and run end to end."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import open_session, quiet_console
from workflow import review
from workflow.answers import AnswerPlan
from workflow.chat import StreamReader, run_chat
from workflow.errors import AnswersRefused
from workflow.packs import check_pack, load_pack
from workflow.resources import data_root
from workflow.session import create_project
from workflow.store import read_sidecar

ROOT = data_root()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_every_step_persona_and_template_loads_through_the_production_loaders() -> None:
    pack, problems = check_pack(None)
    assert problems == []
    assert pack is not None
    assert list(pack.steps) == ["1", "2a", "2b", "3a", "3b", "4", "5", "6", "7", "8", "9", "10"]
    used_agents = {step.meta.agent for step in pack.steps.values()}
    assert used_agents == set(pack.personas), "every persona is used and every step's persona exists"
    for persona in pack.personas.values():
        assert persona.name and persona.title and persona.style and persona.principles and persona.body
    used_templates = {o.template for s in pack.steps.values() for o in s.meta.outputs if o.template}
    shipped = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert shipped - used_templates == {"skip-record.md.j2"}
    for step in pack.steps.values():
        assert step.meta.knowledge, f"step {step.id} declares knowledge queries"
        assert step.menu_action("continue") is not None
        assert step.guidance().count("## ") >= 2, f"step {step.id} has real guidance sections"


def test_contract_fields_keep_their_names() -> None:
    pack = load_pack(None)
    assert pack.step("2a").meta.form["architecture"].choices == ["rag-only", "fine-tuning", "hybrid"]
    assert pack.step("2a").meta.form["architecture"].sidecar
    assert pack.step("2a").meta.form["build_vs_buy"].sidecar
    assert {"base_model", "method", "adapter", "lora_r", "train_file"} <= set(pack.step("5").meta.form)
    assert pack.step("5").meta.skip_when == "architecture == 'rag-only'"
    guidance = pack.step("2a").guidance().lower()
    assert "prompting" in guidance and "rag" in guidance and "fine-tuning" in guidance and "|" in guidance
    stories_from = [s.id for s in pack.steps.values() if s.meta.stories]
    assert stories_from == ["2b", "3b", "4", "5", "6", "7", "8", "9"]


def run_example(out: Path, name: str, answers: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(EXAMPLES.parent)  # answers files hold paths relative to the repository
    create_project(out, name, user="facilitator")
    console, _ = quiet_console()
    plan = AnswerPlan.from_file(answers, yes=True)
    import io

    session = open_session(out, name)
    try:
        assert run_chat(session, console, StreamReader(io.StringIO(""), console), plan) == 0
    finally:
        session.close()
    return read_sidecar(out / name)


@pytest.mark.parametrize("kind", ["fine-tuning", "rag-only", "hybrid"])
def test_each_shipped_answers_file_runs_the_whole_pack_to_complete(kind: str, out: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sidecar = run_example(out, kind, EXAMPLES / f"answers-{kind}.yaml", monkeypatch)
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["architecture"] == kind
    assert "5" in sidecar["stepsCompleted"]
    ids = {d["id"] for d in sidecar["decisions"]}
    assert {"REQ-001", "BUILD-001", "ARCH-001", "TECH-001", "INTEG-001"} <= ids
    log = (out / kind / "decision-log.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## ", log, re.M)) == len(sidecar["decisions"])
    assert (out / kind / "phase-6-integration" / "integration-review.md").is_file()


def test_rag_only_writes_the_training_skip_record(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sidecar = run_example(out, "r", EXAMPLES / "answers-rag-only.yaml", monkeypatch)
    assert sidecar["steps"]["5"] == "skipped" and sidecar["phases"]["phase_2_training"] == "skipped"
    record = (out / "r" / "phase-2-training" / "training-spec.md").read_text(encoding="utf-8")
    assert "SKIPPED" in record.upper() and "rag-only" in record
    assert not (out / "r" / "phase-2-training" / "training-spec.yaml").exists()
    assert sidecar["training"]["approved"] is False


def test_continuing_past_step_5_approves_the_written_training_spec(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.training.spec import load_spec

    sidecar = run_example(out, "f", EXAMPLES / "answers-fine-tuning.yaml", monkeypatch)
    spec_file = out / "f" / "phase-2-training" / "training-spec.yaml"
    spec = load_spec(spec_file)
    assert spec.method == sidecar["answers"]["5"]["method"]
    training = sidecar["training"]
    assert training["approved"] and training["approved_by"] == "facilitator"
    assert training["spec_sha256"] == hashlib.sha256(spec_file.read_bytes()).hexdigest()
    spec_md = (out / "f" / "phase-2-training" / "training-spec.md").read_text(encoding="utf-8")
    assert "GPU" in spec_md and "hours" in spec_md.lower(), "the cost estimate is in the training spec"
    assert sidecar["stories"]["step_5_training"][0]["id"] == "TRAIN-S01"
    assert yaml.safe_load(spec_file.read_text(encoding="utf-8"))["base_model"] == sidecar["answers"]["5"]["base_model"]


def test_a_dataset_path_at_step_3a_puts_the_analysis_in_the_document_and_the_decision(
        out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "chat.jsonl"
    import json

    lines = [json.dumps({"messages": [{"role": "user", "content": f"hi {i}"},
                                      {"role": "assistant", "content": "hello"}]}) for i in range(30)]
    data.write_text("\n".join(lines + lines[:10]) + "\nnot json\n", encoding="utf-8")
    answers = yaml.safe_load((EXAMPLES / "answers-fine-tuning.yaml").read_text(encoding="utf-8"))
    answers.setdefault("3a", {})["dataset_path"] = str(data)
    # GO over a failed review is refused (check GO-DESPITE-FAILED-REVIEW): the verdict is conditional
    answers["3a"].update(feasibility="CONDITIONAL GO", go_conditions=["Fix the invalid line and dedup before training"])
    custom = tmp_path / "answers.yaml"
    custom.write_text(yaml.safe_dump(answers), encoding="utf-8")
    sidecar = run_example(out, "d", custom, monkeypatch)
    document = (out / "d" / "phase-1-feature" / "data-requirements.md").read_text(encoding="utf-8")
    assert "41 examples (40 valid)" in document
    assert "Review: FAILED" in document, "one invalid line and 25% duplicates fail the review"
    decision = next(d for d in sidecar["decisions"] if d["id"] == "DATA-REQ-001")
    assert "Dataset check: chat.jsonl has" in decision["rationale"] and "review failed" in decision["rationale"]


@pytest.mark.parametrize("kind", ["fine-tuning", "rag-only", "hybrid"])
def test_pressing_a_then_c_at_every_step_of_each_answers_file_still_finishes(
        kind: str, out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A reopens every question with the earlier answers; Enter (--yes) keeps each one, the empty
    # optional ones included, so the run must finish instead of refusing "an answer is required".
    answers = yaml.safe_load((EXAMPLES / f"answers-{kind}.yaml").read_text(encoding="utf-8"))
    for step_id in ("1", "2a", "2b", "3a", "3b", "4", "5", "6", "7", "8", "9", "10"):
        entry = answers.setdefault(step_id, {})
        for visit in entry if isinstance(entry, list) else [entry]:
            if not visit.get("skip"):
                visit["menu"] = ["A", "C"]
    custom = tmp_path / "answers.yaml"
    custom.write_text(yaml.safe_dump(answers), encoding="utf-8")
    sidecar = run_example(out, kind, custom, monkeypatch)
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["answers"]["1"]["monthly_requests"] == answers["1"]["monthly_requests"]


def test_the_bad_plan_example_stops_with_its_checks_until_each_confirm_is_acknowledged(
        out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    create_project(out, "bad", user="facilitator")
    answers = yaml.safe_load((EXAMPLES / "answers-bad-plan.yaml").read_text(encoding="utf-8"))
    console, _ = quiet_console()
    refused: list[str] = []
    for _ in range(6):  # each rerun goes on from the step that refused (progress is kept)
        session = open_session(out, "bad")
        try:
            run_chat(session, console, StreamReader(io.StringIO(""), console), AnswerPlan(answers, yes=True))
            break
        except AnswersRefused as exc:
            ids = re.findall(r"^  - (?:confirm|check) ([A-Z-]+):", str(exc), re.M)
            assert ids and all(f"  - confirm {i}:" in str(exc) for i in ids), "only confirm checks stand"
            refused += ids
            answers.setdefault("acknowledge", {}).update({i: f"Accepted for the pilot ({i})" for i in ids})
        finally:
            session.close()
    assert sorted(refused) == sorted(["FEW-TRAINING-EXAMPLES", "LABELLED-COUNT-MISMATCH", "LORA-ALPHA-RATIO",
                                      "TRAIN-FILE-SMALL", "EVAL-CADENCE", "TRACKER-NOT-REPORTED",
                                      "REGRESSION-BUDGETS-DIFFER"])
    sidecar = read_sidecar(out / "bad")
    assert sidecar["workflow_status"] == "complete"
    log = (out / "bad" / "decision-log.md").read_text(encoding="utf-8")
    assert all(f"## ACK-{i}: " in log for i in refused)
    # cairn status says the spec is approved, and notices an edit made after the approval
    from workflow.review import project_status

    status = project_status(load_pack(None), sidecar, out / "bad")
    assert status["training_spec"]["approved"] and status["training_spec"]["unchanged"]
    spec = out / "bad" / "phase-2-training" / "training-spec.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert not project_status(load_pack(None), sidecar, out / "bad")["training_spec"]["unchanged"]


def test_revise_to_3a_redrafts_the_training_spec_that_read_the_old_volume(
        out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    answers = yaml.safe_load((EXAMPLES / "answers-fine-tuning.yaml").read_text(encoding="utf-8"))
    first = dict(answers["3a"], training_examples=800)
    answers["3a"] = [first, {"training_examples": 3000}]
    answers["acknowledge"] = {"LABELLED-COUNT-MISMATCH": "Only reviewed tickets count; most of the 150,000 are not."}
    answers["10"] = [{"decision": "REVISE", "revise_to": "3a",
                      "revision_reason": "Step 3a: the export has 3,000 reviewed tickets, not 800."},
                     dict(answers["10"], decision="GO")]
    custom = tmp_path / "answers.yaml"
    custom.write_text(yaml.safe_dump(answers), encoding="utf-8")
    sidecar = run_example(out, "revise", custom, monkeypatch)
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["visits"]["5"] == 2, "step 5 read training_examples, so it was reopened and re-drafted"
    assert sidecar["visits"]["3b"] == 1, "step 3b does not read it and keeps its documents"
    spec = (out / "revise" / "phase-2-training" / "training-spec.md").read_text(encoding="utf-8")
    assert "3000 planned (step 3a)" in spec and "800 planned" not in spec
    assert sidecar["drafted_from"]["5"]["training_examples"] == review.digest(3000)


def test_the_generation_length_is_offered_from_the_training_files_reply_lengths(
        out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from workflow.facts import dataset_facts

    train = tmp_path / "long-replies.jsonl"
    reply = "Thanks for reaching out. " * 40  # about 250 tokens, far over the old fixed 64
    train.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Ticket {i}: where is my parcel?"},
        {"role": "assistant", "content": f"{reply}Case {i}."}]}) + "\n" for i in range(600)), encoding="utf-8")
    answers = yaml.safe_load((EXAMPLES / "answers-fine-tuning.yaml").read_text(encoding="utf-8"))
    answers["5"]["train_file"] = str(train)
    custom = tmp_path / "answers.yaml"
    custom.write_text(yaml.safe_dump(answers), encoding="utf-8")
    sidecar = run_example(out, "long", custom, monkeypatch)
    p95 = dataset_facts(train)["reply_tokens_p95"]
    assert p95 > 200
    spec = yaml.safe_load((out / "long" / "phase-2-training" / "training-spec.yaml").read_text(encoding="utf-8"))
    assert spec["evaluation"]["max_new_tokens"] == p95 + 16
    assert "ACK-GENERATION-LENGTH" not in {d["id"] for d in sidecar["decisions"]}, "the offered value passes"
