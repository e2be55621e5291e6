"""The shipped pack's checks: every expression is validated at load time, and every check that
names a knowledge query finds the entry that backs its pushback in the shipped base."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.knowledge.client import InProcessKnowledgeClient
from workflow.knowledge.index import open_index
from workflow.knowledge.tools import KnowledgeTools
from workflow.packs import check_pack, load_pack
from workflow.resources import knowledge_dir

BACKING = {
    "FEW-LABELLED": "dec-data-volume-threshold",
    "GO-WITH-TOO-FEW-EXAMPLES": "dec-data-volume-threshold",
    "FEW-TRAINING-EXAMPLES": "dec-data-volume-threshold",
    "TRAIN-FILE-SMALL": "dec-data-volume-threshold",
    "HOSTED-SENSITIVE-DATA": "dec-data-residency-deployment",
    "HOSTED-EMBEDDINGS-PRIVACY": "dec-embedding-model-choice",
    "LORA-ALPHA-RATIO": "meth-lora-configuration",
    "EVAL-CADENCE": "pat-early-stopping",
    "NO-INJECTION-DEFENCES": "chk-prompt-injection-defences",
    "DATA-REVIEW-FAILED": "meth-deduplication",
    "GO-DESPITE-FAILED-REVIEW": "meth-deduplication",
    "TUNING-WITHOUT-BASELINE": "pat-prompt-then-rag-then-tune",
    "FEW-BASE-CANDIDATES": "dec-base-model-selection",
    "LICENCE-NOT-CHECKED": "warn-model-licence-restrictions",
    "DPO-WITHOUT-PAIRS": "dec-sft-dpo-or-both",
    "NO-FORGETTING-MEASURE": "meth-forgetting-regression-check",
    "HYBRID-OVERLAP-UNKNOWN": "dec-hybrid-rag-fine-tuning",
    "DRIFT-RANDOM-SPLIT": "warn-split-leakage",
    "AB-TEST-TOO-LONG": "dec-deployment-strategy",
    "RISKS-WITHOUT-OWNERS": "chk-production-readiness-review",
}


def test_every_check_query_of_the_shipped_pack_finds_its_backing_entry(tmp_path: Path) -> None:
    client = InProcessKnowledgeClient(KnowledgeTools(open_index(knowledge_dir(), None, tmp_path / "cache")))
    pack = load_pack(None)
    queried = {c.id: c.knowledge for s in pack.steps.values() for c in s.meta.checks if c.knowledge}
    assert set(BACKING) <= set(queried), "every labelled check declares a query"
    for check_id, query in queried.items():
        results = client.call("search_knowledge", {"query": query, "limit": 3})["results"]
        assert results, f"{check_id}: '{query}' finds nothing"
        if check_id in BACKING:
            assert BACKING[check_id] in [r["id"] for r in results], (check_id, [r["id"] for r in results])


def test_validate_names_the_step_file_and_key_of_a_broken_check(tmp_path: Path) -> None:
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(Path(__file__).parent / "fixtures" / "packs" / "checked", pack)
    step = pack / "steps" / "2-training" / "step-02-train.md"
    text = step.read_text(encoding="utf-8")
    step.write_text(text.replace('when: "lora_r > 128"', 'when: "lora_r >> 128"')
                    .replace("id: TINY-BASE", "id: RANK-HUGE"), encoding="utf-8")
    _, problems = check_pack(pack)
    assert any(p.startswith(f"{step}: checks[0].when: cannot parse expression") for p in problems), problems
    assert any("checks[1].id: 'RANK-HUGE' is used twice" in p for p in problems), problems


@pytest.mark.parametrize("severity", ["warn", ""])
def test_a_check_with_an_unknown_severity_is_refused(tmp_path: Path, severity: str) -> None:
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(Path(__file__).parent / "fixtures" / "packs" / "checked", pack)
    step = pack / "steps" / "2-training" / "step-02-train.md"
    step.write_text(step.read_text(encoding="utf-8").replace("severity: block", f"severity: '{severity}'"),
                    encoding="utf-8")
    _, problems = check_pack(pack)
    assert any("checks" in p and "severity" in p for p in problems), problems
