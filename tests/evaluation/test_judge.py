from __future__ import annotations

import pytest

from workflow.config import LlmConfig
from workflow.errors import ConfigError
from workflow.evaluation.judge import build_judge


def test_the_judge_is_built_from_config_llm_at_temperature_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    judge = build_judge(LlmConfig(model="openai:gpt-4o-mini", api_key_env="JUDGE_KEY", temperature=0.9))
    assert type(judge).__name__ == "ChatOpenAI"
    assert (judge.model_name, judge.temperature) == ("gpt-4o-mini", 0.0)  # type: ignore[attr-defined]


def test_without_an_llm_section_the_judge_cannot_be_built() -> None:
    with pytest.raises(ConfigError, match="add 'llm: {model: provider:name}' to config.yaml"):
        build_judge(None)


def test_an_unset_api_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_KEY_MISSING", raising=False)
    with pytest.raises(ConfigError, match="llm.api_key_env: environment variable JUDGE_KEY_MISSING is not set"):
        build_judge(LlmConfig(model="openai:gpt-4o-mini", api_key_env="JUDGE_KEY_MISSING"))


def test_an_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="llm.model 'nosuchprovider:x'"):
        build_judge(LlmConfig(model="nosuchprovider:x"))
