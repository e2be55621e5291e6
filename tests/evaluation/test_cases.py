from __future__ import annotations

from pathlib import Path

import pytest

from workflow.errors import DataError
from workflow.evaluation.cases import Contains, Equals, load_cases


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def test_cases_load_with_ids_assertions_and_their_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"id": "a", "input": "hi", "assertions": [{"type": "contains", "value": "h"}]}\n'
                            "\n// a comment line\n"
                            '{"input": {"q": 1}, "expected": "x"}\n')
    cases = load_cases(path)
    assert [c.line for c in cases] == [1, 4]
    assert cases[0].key == "a"
    assert isinstance(cases[0].assertions[0], Contains)
    assert cases[1].key.startswith("c-")


def test_a_case_without_id_keeps_the_same_key_when_lines_move(tmp_path: Path) -> None:
    first = load_cases(_write(tmp_path, '{"input": "same"}\n'))[0].key
    second = load_cases(_write(tmp_path, '{"input": "other"}\n{"input": "same"}\n'))[1].key
    assert first == second


def test_a_case_with_only_expected_is_checked_with_equals(tmp_path: Path) -> None:
    case = load_cases(_write(tmp_path, '{"input": 1, "expected": 2}\n'))[0]
    [assertion] = case.effective_assertions()
    assert isinstance(assertion, Equals) and assertion.value == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"input": 1}\n{"input": 2,}\n', r"cases.jsonl:2: not valid JSON"),
        ('{"prompt": "x"}\n', r"cases.jsonl:1: field 'input': Field required"),
        ('{"input": 1, "extra": 2}\n', r"cases.jsonl:1: field 'extra': Extra inputs are not permitted"),
        ('{"input": 1, "assertions": [{"type": "startswith"}]}\n', r"cases.jsonl:1: .*'startswith'"),
        ('{"input": 1, "assertions": [{"type": "regex"}]}\n', r"cases.jsonl:1: field 'assertions.0.regex.pattern'"),
        ('{"id": "x", "input": 1}\n{"id": "x", "input": 2}\n', r"cases.jsonl:2: duplicate case id 'x' \(also line 1\)"),
        ("[1, 2]\n", r"cases.jsonl:1: expected a JSON object"),
        ("\n\n", r"no cases found"),
    ],
)
def test_bad_cases_files_are_rejected_with_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_cases(_write(tmp_path, text))


def test_a_missing_cases_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cases file not found"):
        load_cases(tmp_path / "nope.jsonl")
