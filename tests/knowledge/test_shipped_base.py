"""The shipped knowledge base, loaded through the production loader and index."""

from __future__ import annotations

from collections import Counter

import pytest

from workflow.knowledge.entry import ALLOWED_HOSTS, ENTRY_TYPES, Entry, url_problem
from workflow.knowledge.index import KnowledgeIndex, open_index
from workflow.knowledge.loader import load_entries
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
