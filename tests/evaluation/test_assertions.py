from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from workflow.evaluation.assertions import check_outcome
from workflow.evaluation.cases import Case
from workflow.evaluation.targets import Outcome


def _case(*assertions: dict[str, Any], expected: Any = None) -> Case:
    return Case.model_validate({"input": "q", "expected": expected, "assertions": list(assertions)})


def _passed(case: Case, output: Any, **outcome: Any) -> list[bool]:
    return [c.passed for c in check_outcome(Outcome(output=output, **outcome), case)]


def test_equals_compares_text_stripped_and_structures_exactly() -> None:
    assert _passed(_case({"type": "equals", "value": "Paris"}), " Paris\n") == [True]
    assert _passed(_case({"type": "equals", "value": "Paris"}), "paris") == [False]
    assert _passed(_case({"type": "equals", "value": "Paris", "ignore_case": True}), "paris") == [True]
    assert _passed(_case({"type": "equals", "value": {"a": [1, 2]}}), {"a": [1, 2]}) == [True]
    assert _passed(_case({"type": "equals", "value": {"a": [1, 2]}}), {"a": [2, 1]}) == [False]


def test_equals_and_contains_fall_back_to_the_case_expected_value() -> None:
    assert _passed(_case({"type": "equals"}, expected="4"), "4") == [True]
    assert _passed(_case({"type": "contains"}, expected="lyon"), "Lyon and lyon") == [True]
    assert _passed(_case(expected=7), 7) == [True]
    assert _passed(_case(expected=7), 8) == [False]


def test_contains_and_regex_look_at_json_text_of_structured_output() -> None:
    assert _passed(_case({"type": "contains", "value": '"city": "Oslo"'}), {"city": "Oslo"}) == [True]
    assert _passed(_case({"type": "regex", "pattern": r"^\d{3}-\d{4}$"}), "555-1234") == [True]
    assert _passed(_case({"type": "regex", "pattern": r"^\d{3}$"}), "12a") == [False]


def test_an_invalid_regex_fails_the_check_and_says_why() -> None:
    [check] = check_outcome(Outcome(output="x"), _case({"type": "regex", "pattern": "("}))
    assert not check.passed and "invalid pattern" in check.detail


def test_json_schema_validates_parsed_text_and_names_the_failing_field() -> None:
    schema = {"type": "object", "required": ["score"], "properties": {"score": {"type": "number"}}}
    case = _case({"type": "json-schema", "schema": schema})
    assert _passed(case, '{"score": 0.5}') == [True]
    assert _passed(case, "not json") == [False]
    [check] = check_outcome(Outcome(output={"score": "high"}), case)
    assert not check.passed and check.detail.startswith("score:")


def test_max_latency_checks_the_measured_call_time() -> None:
    case = _case({"type": "max-latency-ms", "value": 100})
    assert _passed(case, "x", latency_ms=99.0) == [True]
    assert _passed(case, "x", latency_ms=250.0) == [False]


def test_every_output_check_fails_when_the_target_failed() -> None:
    case = _case({"type": "contains", "value": ""}, {"type": "max-latency-ms", "value": 1000})
    checks = check_outcome(Outcome(error="boom", latency_ms=5.0), case)
    assert [c.passed for c in checks] == [False, True]
    assert checks[0].detail == "target failed"


def test_llm_judge_passes_and_fails_on_the_judge_verdict() -> None:
    case = _case({"type": "llm-judge", "rubric": "Is polite."})
    judge = FakeListChatModel(responses=['{"pass": true, "reason": "polite"}',
                                         'Sure: {"pass": false, "reason": "rude"}'])
    first = check_outcome(Outcome(output="Thank you!"), case, judge)
    second = check_outcome(Outcome(output="Go away."), case, judge)
    assert (first[0].passed, first[0].detail) == (True, "polite")
    assert (second[0].passed, second[0].detail) == (False, "rude")


@pytest.mark.parametrize("reply", ["PASS", '{"pass": "yes"}', "{not json}"])
def test_an_llm_judge_reply_without_a_boolean_verdict_fails_the_check(reply: str) -> None:
    [check] = check_outcome(Outcome(output="x"), _case({"type": "llm-judge", "rubric": "r"}),
                            FakeListChatModel(responses=[reply]))
    assert not check.passed and "not understood" in check.detail


def test_not_contains_and_is_json_check_what_promptfoo_users_expect() -> None:
    assert _passed(_case({"type": "not-contains", "value": "sorry"}), "Here you go") == [True]
    assert _passed(_case({"type": "not-contains", "value": "SORRY", "ignore_case": True}), "so sorry") == [False]
    assert _passed(_case({"type": "is-json"}), '{"a": 1}') == [True]
    assert _passed(_case({"type": "is-json"}), {"a": 1}) == [True]
    assert _passed(_case({"type": "is-json"}), "not json") == [False]


def test_json_path_reads_a_dotted_path_and_compares_or_requires_it() -> None:
    output = {"answer": {"category": "billing", "items": [{"name": "refund"}]}}
    assert _passed(_case({"type": "json-path", "path": "answer.category", "value": "billing"}), output) == [True]
    assert _passed(_case({"type": "json-path", "path": "answer.items.0.name", "value": "refund"}), output) == [True]
    assert _passed(_case({"type": "json-path", "path": "answer.items.-1.name"}), output) == [True]
    [check] = check_outcome(Outcome(output=output), _case({"type": "json-path", "path": "answer.tone"}))
    assert (check.passed, check.detail) == (False, "no 'tone' in the output (path answer.tone)")
    [check] = check_outcome(Outcome(output='{"a": 2}'), _case({"type": "json-path", "path": "a", "value": 3}))
    assert (check.passed, check.detail) == (False, "a is '2', expected '3'")


def test_a_python_assertion_calls_the_named_function_with_the_output_and_case(
        write_module, app_dir) -> None:
    mod = write_module(
        "def short(output, case):\n    return len(output) < 10\n\n"
        "def polite(output, case):\n    return {'pass': 'please' in output, 'reason': 'asked ' + case['input']}\n\n"
        "def broken(output, case):\n    raise KeyError('x')\n")
    assert _passed(_case({"type": "python", "function": f"{mod}:short"}), "tiny") == [True]
    [check] = check_outcome(Outcome(output="no"), _case({"type": "python", "function": f"{mod}:polite"}))
    assert (check.passed, check.detail) == (False, "asked q")
    [check] = check_outcome(Outcome(output="no"), _case({"type": "python", "function": f"{mod}:broken"}))
    assert not check.passed and check.detail.startswith(f"{mod}:broken raised KeyError")


def test_weights_and_a_case_threshold_decide_a_pass_from_the_weighted_share() -> None:
    from workflow.evaluation.assertions import case_passed

    case = Case.model_validate({"input": "q", "threshold": 0.75, "assertions": [
        {"type": "contains", "value": "[billing]", "weight": 3}, {"type": "regex", "pattern": "^\\[", "weight": 1}]})
    checks = check_outcome(Outcome(output="answer [billing]"), case)
    assert [(c.passed, c.weight) for c in checks] == [(True, 3.0), (False, 1.0)]
    assert case_passed(checks, case.threshold)  # 3 of 4 = 0.75
    assert not case_passed(checks, None)  # without a threshold every check must pass
    assert not case_passed(checks, 0.8)


def test_a_similar_assertion_without_a_reference_fails_and_its_threshold_is_a_similarity() -> None:
    (check,) = check_outcome(Outcome(output="anything"), _case({"type": "similar"}))
    assert not check.passed and "no reference text" in check.detail
    with pytest.raises(ValueError, match="threshold"):
        _case({"type": "similar", "value": "x", "threshold": 1.5})
