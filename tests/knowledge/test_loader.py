from __future__ import annotations

from pathlib import Path

import pytest

from workflow.knowledge.loader import KnowledgeError, load_entries

from .helpers import BASE, ENTRY, write


def test_fixture_base_loads_every_type() -> None:
    entries = load_entries(BASE)
    assert {entry.type for entry in entries} == {"decision", "pattern", "warning", "methodology", "checklist"}


def test_a_file_may_hold_one_entry_as_a_mapping(tmp_path: Path) -> None:
    write(tmp_path / "one.yaml", ENTRY.replace("- id", "id").replace("\n  ", "\n"))
    assert [entry.id for entry in load_entries(tmp_path)] == ["pat-example"]


def test_a_problem_names_file_line_entry_key_and_fix(tmp_path: Path) -> None:
    write(tmp_path / "area" / "bad.yaml", ENTRY + ENTRY.replace("pat-example", "pat-other").replace(
        "  problem:", "  question: \"wrong type\"\n  problem:"))
    with pytest.raises(KnowledgeError) as caught:
        load_entries(tmp_path)
    [problem] = caught.value.problems
    assert "bad.yaml line 9" in problem
    assert "entry 'pat-other'" in problem
    assert "key 'question'" in problem
    assert "fix: remove it" in problem


def test_a_missing_key_says_what_to_add(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml", ENTRY.replace('  solution: "A solution."\n', ""))
    with pytest.raises(KnowledgeError, match="key 'solution': missing; fix: add 'solution'"):
        load_entries(tmp_path)


def test_an_unknown_type_lists_the_valid_ones(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml", ENTRY.replace("type: pattern", "type: recipe"))
    with pytest.raises(KnowledgeError, match="must be one of decision, pattern"):
        load_entries(tmp_path)


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", ENTRY)
    write(tmp_path / "b.yaml", ENTRY)
    with pytest.raises(KnowledgeError, match="id already used in .*a.yaml"):
        load_entries(tmp_path)


def test_broken_yaml_reports_its_line(tmp_path: Path) -> None:
    write(tmp_path / "x.yaml", ENTRY + "  topics: [unclosed\n")
    with pytest.raises(KnowledgeError, match=r"x.yaml line \d+: not valid YAML"):
        load_entries(tmp_path)


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", ENTRY.replace("topics: [example]", "topics: [Example]"))
    write(tmp_path / "b.yaml", ENTRY.replace("pat-example", "pat-b").replace("https://", "http://"))
    with pytest.raises(KnowledgeError) as caught:
        load_entries(tmp_path)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("2 problems in the knowledge entries")


def test_an_empty_file_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "empty.yaml", "# nothing yet\n")
    with pytest.raises(KnowledgeError, match="empty.yaml: file is empty"):
        load_entries(tmp_path)
