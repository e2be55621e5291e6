from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from workflow.knowledge.entry import ENTRY_ADAPTER, ENTRY_TYPES, url_problem


def decision(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "dec-example",
        "type": "decision",
        "title": "Example decision",
        "topics": ["rag", "fine-tuning"],
        "summary": "Why it matters.",
        "question": "Which one?",
        "options": [
            {"name": "A", "when": "sometimes", "tradeoffs": "some"},
            {"name": "B", "when": "other times", "tradeoffs": "others"},
        ],
        "considerations": ["volume"],
        "recommended_approach": "A first.",
        "source": {"title": "A paper", "url": "https://arxiv.org/abs/2005.11401"},
    }
    raw.update(changes)
    return {key: value for key, value in raw.items() if value is not None}


def error_keys(raw: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        ENTRY_ADAPTER.validate_python(raw)
    return {".".join(str(part) for part in err["loc"][1:]) for err in caught.value.errors()}


def test_a_complete_decision_validates_into_its_type() -> None:
    entry = ENTRY_ADAPTER.validate_python(decision())
    assert entry.type == "decision"
    assert [option.name for option in entry.options] == ["A", "B"]


def test_unknown_keys_are_rejected() -> None:
    assert "colour" in error_keys(decision(colour="blue"))


def test_a_field_of_another_type_is_rejected() -> None:
    assert "problem" in error_keys(decision(problem="belongs to a pattern"))


def test_a_field_required_by_the_type_is_required() -> None:
    assert "recommended_approach" in error_keys(decision(recommended_approach=None))


def test_a_decision_needs_at_least_two_options() -> None:
    assert "options" in error_keys(decision(options=[{"name": "A", "when": "w", "tradeoffs": "t"}]))


def test_the_id_prefix_must_match_the_type() -> None:
    with pytest.raises(ValidationError, match="must start with 'dec-'"):
        ENTRY_ADAPTER.validate_python(decision(id="pat-example"))


def test_topics_must_be_kebab_case_tags() -> None:
    assert "topics.0" in error_keys(decision(topics=["Fine Tuning"]))


def test_a_warning_severity_is_one_of_three_levels() -> None:
    raw = {key: value for key, value in decision(id="warn-x", type="warning").items()
           if key not in ("question", "options", "considerations", "recommended_approach")}
    raw.update(description="d", prevention=["p"], severity="critical")
    assert "severity" in error_keys(raw)


def test_every_type_has_a_model() -> None:
    assert set(ENTRY_TYPES) == {"decision", "pattern", "warning", "methodology", "checklist"}


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://arxiv.org/abs/1", "https"),
        ("https://medium.com/some-post", "allowlist"),
        ("https://arxiv.org.evil.example/abs/1", "allowlist"),
        ("https://arxiv.org/", "path"),
        ("https://arxiv.org", "path"),
    ],
)
def test_a_citation_url_must_be_https_on_an_allowed_host_with_a_path(url: str, complaint: str) -> None:
    problem = url_problem(url)
    assert problem is not None and complaint in problem
    with pytest.raises(ValidationError):
        ENTRY_ADAPTER.validate_python(decision(source={"title": "t", "url": url}))


def test_a_deep_link_on_an_allowed_host_is_accepted() -> None:
    assert url_problem("https://www.sbert.net/docs/pretrained_models.html") is None
