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


def test_a_local_server_without_a_key_builds_a_judge_instead_of_crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    judge = build_judge(LlmConfig(model="openai:qwen2.5", base_url="http://127.0.0.1:9/v1"))
    assert type(judge).__name__ == "ChatOpenAI"


def test_judge_replies_are_cached_by_prompt(tmp_path) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from workflow.evaluation.judge import CachedJudge

    fake = FakeListChatModel(responses=['{"pass": true, "reason": "first"}', '{"pass": false, "reason": "second"}'])
    judge = CachedJudge(fake, tmp_path, "openai:gpt-4o-mini")
    assert judge.invoke("grade A").content == '{"pass": true, "reason": "first"}'
    assert judge.invoke("grade A").content == '{"pass": true, "reason": "first"}'  # not asked again
    assert judge.hits == 1
    assert CachedJudge(fake, tmp_path, "openai:gpt-4o").invoke("grade A").content.endswith('"second"}')
