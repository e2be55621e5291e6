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


def test_yaml_and_csv_cases_load_like_json_lines_and_name_their_items_or_lines(tmp_path: Path) -> None:
    yaml_file = tmp_path / "cases.yaml"
    yaml_file.write_text("- id: 1\n  input: hi\n  assertions: [{type: not-contains, value: bye}]\n"
                         "- input: {q: 2}\n  expected: x\n", encoding="utf-8")
    cases = load_cases(yaml_file)
    assert [(c.key, c.line) for c in cases][0] == ("1", 1) and cases[1].input == {"q": 2}
    csv_file = tmp_path / "cases.csv"
    csv_file.write_text('id,input,expected,assertions\n7,hello,,"[{""type"": ""contains"", ""value"": ""he""}]"\n'
                        "8,bye,bye,\n", encoding="utf-8")
    rows = load_cases(csv_file)
    assert [(c.key, c.input, c.expected, c.line) for c in rows] == [("7", "hello", None, 2), ("8", "bye", "bye", 3)]
    assert isinstance(rows[0].assertions[0], Contains)
    yaml_file.write_text("- input: 1\n- input: 2\n  colour: red\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cases.yaml:item 2: field 'colour'"):
        load_cases(yaml_file)
    csv_file.write_text("question\nhi\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cases.csv:1: a CSV cases file needs an 'input' column"):
        load_cases(csv_file)


def test_integer_ids_are_accepted_and_pair_as_text(tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path, '{"id": 1, "input": "a"}\n{"id": 2, "input": "b"}\n'))
    assert [c.key for c in cases] == ["1", "2"]
    with pytest.raises(DataError, match="duplicate case id '1'"):
        load_cases(_write(tmp_path, '{"id": 1, "input": "a"}\n{"id": "1", "input": "b"}\n'))
