from __future__ import annotations

import pytest

from workflow.config import Config, LlmConfig
from workflow.errors import ConfigError, MissingExtra
from workflow.llm.models import build_chat_model, resolve_llm
from workflow.llm.terminal import model_for_session


def test_no_model_configured_means_the_scripted_facilitator() -> None:
    assert resolve_llm(Config()) is None
    assert model_for_session(Config(), None, answers_file=False) is None


def test_llm_option_overrides_the_model_and_keeps_the_other_settings() -> None:
    config = Config(llm=LlmConfig(model="openai:gpt-4.1-mini", base_url="http://127.0.0.1:9/v1", timeout_s=5))
    chosen = resolve_llm(config, "openai:qwen2.5")
    assert chosen is not None and chosen.model == "openai:qwen2.5" and chosen.base_url == "http://127.0.0.1:9/v1"
    assert resolve_llm(config, "scripted") is None


def test_an_answers_file_always_runs_scripted() -> None:
    config = Config(llm=LlmConfig(model="openai:gpt-4.1-mini", base_url="http://127.0.0.1:9/v1"))
    assert model_for_session(config, None, answers_file=True) is None


def test_a_local_base_url_needs_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = build_chat_model(LlmConfig(model="openai:qwen2.5", base_url="http://127.0.0.1:9/v1", timeout_s=3))
    assert str(model.openai_api_base) == "http://127.0.0.1:9/v1" and model.request_timeout == 3


def test_a_hosted_model_without_its_key_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_chat_model(LlmConfig(model="openai:gpt-4.1-mini"))


def test_a_provider_whose_package_is_missing_gives_the_install_hint() -> None:
    try:
        import langchain_anthropic  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtra, match=r"cairn\[anthropic\]"):
            build_chat_model(LlmConfig(model="anthropic:claude-sonnet-4-5"))
    else:
        assert build_chat_model(LlmConfig(model="anthropic:claude-sonnet-4-5")) is not None


def test_an_unknown_provider_is_one_line_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        build_chat_model(LlmConfig(model="bogus:model"))
    assert "\n" not in str(info.value) and "llm.model 'bogus:model'" in str(info.value)


def test_a_missing_api_key_env_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match="MY_KEY"):
        build_chat_model(LlmConfig(model="openai:gpt-4.1-mini", api_key_env="MY_KEY"))
