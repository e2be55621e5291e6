"""Answers as people type them (issue: input that works for people): numbers with separators
and suffixes, choices spelled loosely, list items that keep their commas, optional fields that
stay empty."""

from __future__ import annotations

import pytest

from workflow.forms import FieldValueError, answer_value, coerce
from workflow.pack_model import FormField

INT = FormField(type="int", min=0)
FLOAT = FormField(type="float")
FRACTION = FormField(type="float", min=0, max=0.5)


@pytest.mark.parametrize(("text", "spec", "value"), [
    ("40000", INT, 40000), ("40,000", INT, 40000), ("40k", INT, 40000), ("40K", INT, 40000),
    ("1.5M", INT, 1500000), ("2bn", INT, 2000000000), ("$3,000", INT, 3000), ("1_000", INT, 1000),
    ("3%", FLOAT, 3.0), ("10%", FRACTION, 0.1), ("0.9", FLOAT, 0.9), ("1e-4", FLOAT, 0.0001),
    ("1,234.5", FLOAT, 1234.5),
])
def test_numbers_accept_separators_suffixes_and_percentages(text: str, spec: FormField, value: float) -> None:
    assert coerce("n", spec, text) == value
    assert type(coerce("n", spec, text)) is type(value)


@pytest.mark.parametrize(("text", "message"), [
    ("lots", "n: 'lots' is not a whole number (write e.g. 40000, 40,000 or 40k)"),
    ("1.5", "n: '1.5' is not a whole number (write e.g. 40000, 40,000 or 40k)"),
    ("40,00", "n: '40,00' is not a whole number (write e.g. 40000, 40,000 or 40k)"),
])
def test_a_number_that_is_not_one_is_refused_with_an_example(text: str, message: str) -> None:
    with pytest.raises(FieldValueError) as refused:
        coerce("n", INT, text)
    assert str(refused.value) == message


def test_choices_match_ignoring_case_spaces_dashes_and_underscores() -> None:
    spec = FormField(type="choice", choices=["near duplicate", "exact", "CONDITIONAL GO"])
    assert coerce("c", spec, "Near-Duplicate") == "near duplicate"
    assert coerce("c", spec, "near_duplicate") == "near duplicate"
    assert coerce("c", spec, "conditional-go") == "CONDITIONAL GO"
    assert coerce("c", spec, "2") == "exact"
    with pytest.raises(FieldValueError, match="'nearly' is not one of"):
        coerce("c", spec, "nearly")


def test_list_items_are_lines_and_a_comma_inside_a_phrase_or_number_never_splits_one() -> None:
    spec = FormField(type="list")
    assert coerce("l", spec, "macro-F1 >= 0.90 on the 1,000-email held-out set") == [
        "macro-F1 >= 0.90 on the 1,000-email held-out set"]
    assert coerce("l", spec, "first, with a comma\n- second\n\n") == ["first, with a comma", "second"]
    assert coerce("l", spec, "q_proj, v_proj") == ["q_proj", "v_proj"], "a list of single words still splits"
    assert coerce("l", spec, "[a, b c]") == ["a", "b c"]
    assert coerce("l", spec, "a; b c") == ["a", "b c"]
    assert coerce("l", spec, "40,000") == ["40,000"]


@pytest.mark.parametrize(("spec", "earlier"), [
    (FormField(type="str", required=False), ""), (FormField(type="list", required=False, default=[]), []),
    (FormField(type="text", required=False), ""), (FormField(type="choice", choices=["a"], required=False), ""),
])
def test_enter_on_a_revisited_empty_optional_field_keeps_it_empty(spec: FormField, earlier: object) -> None:
    assert answer_value("f", spec, "", earlier) == earlier


def test_enter_on_a_required_field_with_an_empty_earlier_answer_is_still_refused() -> None:
    with pytest.raises(FieldValueError, match="an answer is required"):
        answer_value("f", FormField(type="str"), "", "")
