"""The engine's own strings exist in every language with the same placeholders, and Japanese
yes/no answers are understood."""

from __future__ import annotations

import string

import pytest

from workflow.forms import coerce
from workflow.i18n import _CATALOG, LANGUAGES
from workflow.pack_model import FormField


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_engine_string_is_translated_with_the_same_placeholders(language: str) -> None:
    english, other = _CATALOG["en"], _CATALOG[language]
    assert sorted(set(english) - set(other)) == []
    assert {k: _fields(v) for k, v in other.items()} == {k: _fields(english[k]) for k in other}


def test_japanese_yes_and_no_answer_a_yes_no_question() -> None:
    spec = FormField(type="bool")
    assert coerce("ok", spec, "はい") is True and coerce("ok", spec, "いいえ") is False
