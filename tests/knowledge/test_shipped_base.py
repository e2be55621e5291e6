"""The shipped knowledge base, loaded through the production loader and index."""

from __future__ import annotations

from collections import Counter

import pytest

from workflow.knowledge.entry import ALLOWED_HOSTS, ENTRY_TYPES, Entry, url_problem
from workflow.knowledge.index import KnowledgeIndex, open_index
from workflow.knowledge.loader import load_entries
from workflow.knowledge.tools import KnowledgeTools
from workflow.resources import knowledge_dir

# Every topic the shipped pack asks about (issue 3), with a word the top result must mention.
COVERAGE = [
    ("build vs buy", "buy"), ("prompting vs RAG vs fine-tuning", "fine-tun"), ("how much training data", "data"),
    ("SFT vs DPO", "dpo"), ("LoRA rank alpha target modules", "lora"), ("QLoRA", "qlora"),
    ("learning rate and epochs", "learning rate"), ("catastrophic forgetting", "forget"),
    ("overfitting", "overfit"), ("data quality", "quality"), ("benchmark contamination", "contamina"),
    ("PII", "pii"), ("synthetic data", "synthetic"), ("chunking strategies", "chunk"),
    ("embedding model choice", "embedding"), ("vector database", "vector"), ("hybrid search", "hybrid"),
    ("reranking", "rerank"), ("context assembly", "context"), ("prompt design", "prompt"),
    ("structured output formats", "output"), ("guardrails", "guardrail"), ("prompt injection", "injection"),
    ("evaluation metrics", "metric"), ("LLM-as-judge biases", "judge"), ("statistical comparison", "statistic"),
    ("quality gates", "gate"), ("monitoring", "monitor"), ("drift", "drift"), ("shadow deployment", "shadow"),
    ("A/B testing", "ab testing"), ("canary release", "canary"), ("rollback", "roll"), ("model serving", "serv"),
    ("cost", "cost"),
]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return load_entries(knowledge_dir())


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    return open_index(knowledge_dir(), None, tmp_path_factory.mktemp("cache"))


def test_the_base_holds_at_least_150_entries_of_all_five_types(entries: list[Entry]) -> None:
    counts = Counter(entry.type for entry in entries)
    assert len(entries) >= 150, counts
    assert set(counts) == set(ENTRY_TYPES)


def test_every_citation_is_https_on_an_allowed_host_with_a_path(entries: list[Entry]) -> None:
    bad = {entry.id: url_problem(entry.source.url) for entry in entries if url_problem(entry.source.url)}
    assert bad == {}
    assert {entry.source.url.split("/")[2] for entry in entries} <= ALLOWED_HOSTS


def test_ids_are_unique_and_prefixed_by_type(entries: list[Entry]) -> None:
    assert len({entry.id for entry in entries}) == len(entries)


@pytest.mark.parametrize(("topic", "word"), COVERAGE)
def test_every_pack_topic_finds_a_relevant_entry(shipped: KnowledgeIndex, topic: str, word: str) -> None:
    ranked = shipped.rank(topic, limit=3)
    assert ranked, f"nothing for {topic!r}"
    text = " ".join(
        f"{doc.title} {' '.join(doc.topics)} {doc.summary}".lower().replace("-", " ") for doc, _ in ranked)
    assert word.replace("-", " ") in text, [doc.id for doc, _ in ranked]


def test_every_entry_is_found_by_its_own_title(shipped: KnowledgeIndex) -> None:
    missed = [doc.id for doc in shipped.docs if doc.id not in {d.id for d, _ in shipped.rank(doc.title, limit=3)}]
    assert missed == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("no-go", {"dec-data-feasibility", "meth-quality-gate-decision"}),
        ("pii scrub before finetune", {"meth-pii-detection", "dec-pii-handling", "warn-pii-memorization"}),
        ("langchain or langgraph", {"warn-orchestration-framework-lock-in"}),
        ("benchmark questions in training data", {"meth-ngram-contamination-check", "warn-benchmark-contamination"}),
        ("GRPO vs PPO", {"dec-rl-post-training-method"}),
        ("EU AI Act obligations", {"chk-eu-ai-act-general-purpose", "chk-eu-ai-act-high-risk"}),
        ("is OpenAI fine-tuning still available", {"warn-openai-fine-tuning-wind-down"}),
    ],
)
def test_queries_the_issue_reported_now_rank_their_entry_in_the_top_three(
    shipped: KnowledgeIndex, query: str, expected: set[str]
) -> None:
    assert expected & {doc.id for doc, _ in shipped.rank(query, limit=3)}


@pytest.mark.parametrize(
    "query", ["best pizza in naples", "how do I renew my passport", "tax deductions for home office"])
def test_a_question_outside_the_base_gets_no_entries(shipped: KnowledgeIndex, query: str) -> None:
    response = KnowledgeTools(shipped).search(query)
    assert response.results == [] and response.metadata.answered is False


def test_entries_about_current_platforms_and_regulation_carry_their_dates(entries: list[Entry]) -> None:
    by_id = {entry.id: entry for entry in entries}
    assert "7 May 2026" in by_id["warn-openai-fine-tuning-wind-down"].summary
    assert "15 September 2025" in by_id["warn-cohere-fine-tuning-deprecated"].summary
    assert "2 August 2026" in by_id["chk-eu-ai-act-high-risk"].summary
