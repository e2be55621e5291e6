"""Every knowledge query the shipped pack declares finds an entry that answers it.

EXPECTED labels, for each declared query, the entries a practitioner in that step would want
to see; the query passes when one of them is in its top three. A query added to a step file
needs a label here, so a step cannot quietly ask for something the base does not cover.
"""

from __future__ import annotations

import pytest

from workflow.knowledge.client import InProcessKnowledgeClient
from workflow.knowledge.index import open_index
from workflow.knowledge.tools import KnowledgeTools
from workflow.packs import load_pack
from workflow.resources import knowledge_dir

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("1", "requirements"): {"meth-use-case-requirements", "chk-success-metrics"},
    ("1", "success metrics"): {"warn-no-baseline"},
    ("1", "scoping"): {"pat-prompt-then-rag-then-tune", "pat-api-first-then-own"},
    ("1", "LLM project success metrics latency accuracy cost budget"): {"chk-success-metrics"},
    ("2a", "build vs buy"): {"dec-build-vs-buy"},
    ("2a", "RAG vs fine-tuning"): {"dec-prompting-rag-fine-tuning", "dec-hybrid-rag-fine-tuning"},
    ("2a", "fine-tuning"): {"warn-fine-tuning-for-facts", "warn-openai-fine-tuning-wind-down",
                            "warn-cohere-fine-tuning-deprecated"},
    ("2a", "hybrid RAG fine-tuning"): {"pat-prompt-then-rag-then-tune"},
    ("2a", "when to fine-tune versus retrieval augmented generation prompting"): {
        "dec-prompting-rag-fine-tuning", "pat-prompt-then-rag-then-tune", "dec-hybrid-rag-fine-tuning"},
    ("2b", "tech stack"): {"dec-tech-stack-layers"},
    ("2b", "vector database"): {"dec-vector-store-choice"},
    ("2b", "LLM serving"): {"pat-continuous-batching-kv-cache", "pat-speculative-decoding"},
    ("2b", "orchestration framework"): {"warn-orchestration-framework-lock-in"},
    ("2b", "LLM application stack orchestration vector store serving monitoring"): {"dec-tech-stack-layers"},
    ("3a", "data requirements"): {
        "meth-data-requirements-spec", "chk-data-quality-dimensions", "meth-manual-data-review"},
    ("3a", "data quality"): {"warn-label-noise", "warn-synthetic-imitation"},
    ("3a", "PII"): {"warn-pii-memorization"},
    ("3a", "synthetic data"): {"dec-synthetic-or-human-data"},
    ("3a", "training data volume quality labelling feasibility LLM"): {
        "dec-data-feasibility", "chk-data-quality-dimensions", "dec-data-volume-threshold"},
    ("3b", "data pipeline"): {"meth-deduplication", "chk-quality-gates", "meth-train-val-test-split"},
    ("3b", "deduplication"): {"pat-data-pipeline-stages"},
    ("3b", "data leakage"): {"warn-split-leakage", "warn-eval-contamination"},
    ("3b", "train validation test split leakage near-duplicate MinHash quality gates"): {
        "meth-train-val-test-split", "warn-split-leakage", "meth-deduplication"},
    ("3b", "time-based split drifting data leakage"): {"warn-split-leakage", "meth-train-val-test-split"},
    ("4", "chunking"): {"dec-chunk-size-overlap", "dec-chunking-strategy"},
    ("4", "embedding model"): {"dec-embedding-model-choice"},
    ("4", "vector index"): {"pat-quantized-index-rescoring", "pat-metadata-filtering"},
    ("4", "embeddings"): {"warn-embedding-model-mismatch", "warn-leaderboard-embedding-choice"},
    ("4", "chunk size overlap HNSW parameters embedding model selection"): {
        "dec-chunk-size-overlap", "meth-tune-hnsw-parameters", "dec-embedding-model-choice"},
    ("5", "fine-tuning"): {
        "chk-hyperparameter-starting-points", "meth-gpu-memory-estimation", "meth-lora-configuration"},
    ("5", "lora"): {"dec-adapter-choice", "dec-lora-target-modules"},
    ("5", "SFT vs DPO"): {"dec-sft-dpo-or-both"},
    ("5", "catastrophic forgetting"): {"warn-catastrophic-forgetting"},
    ("5", "overfitting"): {"warn-overfitting"},
    ("5", "LoRA rank alpha target modules learning rate"): {"meth-lora-configuration", "warn-lora-alpha-scaling"},
    ("5", "open-weight base model families licences 2026"): {
        "chk-open-model-families-2026", "dec-base-model-selection", "warn-model-licence-restrictions"},
    ("6", "retrieval strategy"): {"dec-retrieval-strategy"},
    ("6", "hybrid search"): {"pat-hybrid-search-rrf"},
    ("6", "reranking"): {"pat-retrieve-then-rerank"},
    ("6", "RAG"): {"warn-lost-in-the-middle", "warn-indirect-prompt-injection", "warn-fine-tuning-for-facts",
                   "warn-leaderboard-embedding-choice", "warn-chunks-break-structure"},
    ("6", "hybrid retrieval reciprocal rank fusion reranking cross-encoder recall@k MRR"): {
        "pat-hybrid-search-rrf", "dec-reranker-choice", "pat-retrieve-then-rerank"},
    ("7", "prompt engineering"): {"pat-structured-system-prompt", "pat-prompt-versioning"},
    ("7", "structured output"): {"pat-constrained-decoding"},
    ("7", "prompt injection"): {"warn-direct-prompt-injection", "warn-indirect-prompt-injection"},
    ("7", "prompt iteration"): {"meth-prompt-iteration-loop"},
    ("7", "system prompt guardrails prompt injection defence structured output JSON schema"): {
        "chk-prompt-injection-defences", "dec-output-format", "pat-constrained-decoding"},
    ("8", "evaluation"): {"meth-golden-dataset-sizing", "chk-evaluation-spec-review"},
    ("8", "llm-as-judge"): {"warn-judge-position-bias", "warn-judge-verbosity-bias"},
    ("8", "evaluation metrics"): {"dec-generation-metric-choice"},
    ("8", "regression testing"): {"pat-base-vs-tuned-regression-suite"},
    ("8", "LLM as judge bias human agreement paired bootstrap McNemar golden dataset"): {
        "meth-judge-human-agreement", "warn-judge-position-bias", "meth-paired-bootstrap"},
    ("8", "base vs tuned regression set forgetting budget"): {
        "pat-base-vs-tuned-regression-suite", "meth-forgetting-regression-check"},
    ("9", "deployment"): {"meth-staged-rollout", "meth-rollback-procedure"},
    ("9", "drift"): {"warn-silent-quality-degradation"},
    ("9", "monitoring"): {"pat-llm-tracing"},
    ("9", "canary release"): {"pat-canary-release-gates"},
    ("9", "LLM production monitoring drift detection canary rollback retraining triggers"): {
        "meth-retraining-triggers", "meth-drift-detection", "pat-canary-release-gates", "meth-rollback-procedure"},
    ("9", "A/B test canary shadow deployment rollout"): {"dec-deployment-strategy", "meth-staged-rollout"},
    ("10", "architecture review"): {"chk-architecture-review"},
    ("10", "deployment"): {"warn-big-bang-deployment"},
    ("10", "production readiness"): {"warn-launch-without-readiness-review"},
    ("10", "LLM system design review consistency production readiness checklist"): {
        "chk-architecture-review", "chk-production-readiness-review"},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> InProcessKnowledgeClient:
    cache = tmp_path_factory.mktemp("cache")
    return InProcessKnowledgeClient(KnowledgeTools(open_index(knowledge_dir(), None, cache)))


def _declared() -> list[tuple[str, str, str, dict[str, object]]]:
    return [(step_id, query.tool, query.text, query.arguments())
            for step_id, step in load_pack().steps.items() for query in step.meta.knowledge]


def test_every_declared_step_query_has_labelled_expected_entries() -> None:
    declared = {(step_id, text) for step_id, _, text, _ in _declared()}
    assert declared, "the shipped pack declares no knowledge queries"
    assert sorted(declared - set(EXPECTED)) == [], "label the new queries in EXPECTED"


def test_every_labelled_entry_exists_in_the_shipped_base(client: InProcessKnowledgeClient) -> None:
    known = {doc.id for doc in client.tools.index.docs}
    assert sorted(set().union(*EXPECTED.values()) - known) == []


def test_every_declared_step_query_returns_an_expected_entry_in_its_top_three(
    client: InProcessKnowledgeClient,
) -> None:
    misses = []
    for step_id, tool, text, arguments in _declared():
        top = [result["id"] for result in client.call(tool, arguments)["results"][:3]]
        if not EXPECTED.get((step_id, text), set()) & set(top):
            misses.append(f"step {step_id}: {tool}({text!r}) -> {top}")
    assert misses == []


@pytest.mark.parametrize("tool", ["get_decisions", "get_patterns", "get_warnings", "get_methodologies"])
def test_an_empty_topic_lists_every_entry_of_the_type(client: InProcessKnowledgeClient, tool: str) -> None:
    assert len(client.call(tool, {})["results"]) >= 20
