from __future__ import annotations

from pathlib import Path

import pytest

from workflow.knowledge import index as index_module
from workflow.knowledge.document import Doc
from workflow.knowledge.index import KnowledgeIndex, cache_root, open_index
from workflow.knowledge.loader import KnowledgeError
from workflow.knowledge.tokens import tokenize

from .helpers import BASE, ENTRY, write


def doc(doc_id: str, title: str, topics: tuple[str, ...] = (), summary: str = "") -> Doc:
    return Doc(id=doc_id, type="pattern", title=title, topics=topics, summary=summary,
               content={"problem": "", "solution": ""},
               source={"id": "s", "title": "S", "url": "https://arxiv.org/abs/1", "path": None})


def test_a_multi_word_topic_ranks_the_matching_decision_first(index: KnowledgeIndex) -> None:
    ranked = index.rank("RAG vs fine-tuning", types=["decision"])
    assert ranked[0][0].id == "dec-rag-vs-fine-tuning"


def test_a_query_sharing_no_word_with_any_document_returns_nothing(index: KnowledgeIndex) -> None:
    assert index.rank("zebra xylophone") == []


def test_a_tag_named_by_the_query_lifts_its_entry_above_a_passing_mention() -> None:
    mention = doc("pat-mention", "Reranking retrieved passages", summary="Mentions chunking once.")
    tagged = doc("pat-tagged", "Cutting documents into pieces", topics=("chunking",))
    ranked = KnowledgeIndex.build([mention, tagged]).rank("chunking")
    assert [d.id for d, _ in ranked] == ["pat-tagged", "pat-mention"]


def test_plural_and_ing_forms_meet_at_the_same_term() -> None:
    assert tokenize("chunking chunks") == tokenize("chunk chunk")
    assert tokenize("rerankers") == tokenize("reranking")
    assert tokenize("fine-tuning") == tokenize("fine tune")


def test_the_gate_words_go_no_and_not_are_kept_and_a_compound_adds_its_joined_form() -> None:
    assert tokenize("no-go") == ["no", "go", "nogo"]
    assert "condition" in tokenize("GO / CONDITIONAL GO / NO-GO") and "nogo" in tokenize("NO-GO")
    assert tokenize("not") == ["not"]


def test_practitioner_shorthand_meets_the_words_the_entries_use() -> None:
    assert tokenize("ft") == tokenize("fine-tuning")
    assert tokenize("orchestration")[0] in tokenize("langchain or langgraph")
    assert tokenize("contamination")[0] in tokenize("benchmark questions leaked")
    assert tokenize("use case") == tokenize("use-case")
    assert "rollback" in tokenize("how do we go back to the old model")


def test_a_rare_one_word_tag_outweighs_a_common_two_word_tag() -> None:
    generic = [doc(f"pat-generic-{n}", f"Generic training advice {n}", topics=("fine-tuning",)) for n in range(6)]
    precise = doc("pat-precise", "Scrub personal data first", topics=("pii",))
    ranked = KnowledgeIndex.build([*generic, precise]).rank("pii scrub before fine-tuning")
    assert ranked[0][0].id == "pat-precise"


def test_type_and_source_filters_restrict_the_ranking(index: KnowledgeIndex) -> None:
    assert {d.type for d, _ in index.rank("rag", types=["warning"])} == {"warning"}
    only = index.rank("rag", source_ids=["arxiv-org-abs-2307-03172"])
    assert [d.id for d, _ in only] == ["warn-lost-in-the-middle"]


def test_a_second_open_reuses_the_cache_without_reading_the_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_index(BASE, None, tmp_path)

    def no_rebuild(*args: object, **kwargs: object) -> KnowledgeIndex:
        raise AssertionError("the cached index should have been used")

    monkeypatch.setattr(index_module, "build_index", no_rebuild)
    second = open_index(BASE, None, tmp_path)
    assert second.key == first.key
    assert [d.id for d, _ in second.rank("lora rank")] == [d.id for d, _ in first.rank("lora rank")]


def test_editing_an_entry_file_changes_the_cache_key(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write(folder / "a.yaml", ENTRY)
    before = open_index(folder, None, tmp_path / "cache")
    write(folder / "a.yaml", ENTRY.replace("An example pattern", "A renamed pattern"))
    after = open_index(folder, None, tmp_path / "cache")
    assert before.key != after.key
    assert after.get("pat-example") is not None and after.get("pat-example").title == "A renamed pattern"


def test_an_invalid_entry_stops_the_build(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "a.yaml", ENTRY.replace("type: pattern", "type: recipe"))
    with pytest.raises(KnowledgeError):
        open_index(tmp_path / "kb", None, tmp_path / "cache")


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = write(tmp_path / "not-a-folder", "a file where the cache folder should be")
    built = open_index(BASE, None, blocker)
    assert built.get("dec-rag-vs-fine-tuning") is not None
    assert "not cached" in capsys.readouterr().err


def test_the_cache_location_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CAIRN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "cairn"
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_root() == tmp_path / "explicit"
