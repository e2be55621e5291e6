"""The LLM judge's chat model, built from config.yaml's `llm` section only when a case
asks for an llm-judge assertion."""

from __future__ import annotations

import os

from workflow.config import LlmConfig
from workflow.errors import ConfigError, MissingExtra
from workflow.evaluation.assertions import ChatModelLike

__all__ = ["build_judge"]


def build_judge(llm: LlmConfig | None) -> ChatModelLike:
    """A LangChain chat model for `llm` via init_chat_model, at temperature 0 so grading
    varies as little as the provider allows.

    Raises ConfigError when no model is configured, the API key variable is unset or the
    provider is unknown; MissingExtra when the provider's package is not installed.
    """
    if llm is None:
        raise ConfigError("an llm-judge assertion needs a chat model: add 'llm: {model: provider:name}' to config.yaml")
    kwargs: dict[str, object] = {"temperature": 0.0, "timeout": llm.timeout_s, "max_retries": llm.max_retries}
    if llm.base_url:
        kwargs["base_url"] = llm.base_url
    if llm.api_key_env:
        key = os.environ.get(llm.api_key_env)
        if not key:
            raise ConfigError(f"config.yaml llm.api_key_env: environment variable {llm.api_key_env} is not set")
        kwargs["api_key"] = key
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise MissingExtra("llm", "langchain") from None
    try:
        return init_chat_model(llm.model, **kwargs)
    except ImportError as exc:
        package = getattr(exc, "name", None) or "the provider package"
        raise ConfigError(f"config.yaml llm.model '{llm.model}': {package} is not installed "
                          f"(pip install {package.replace('_', '-')})") from None
    except ValueError as exc:
        raise ConfigError(f"config.yaml llm.model '{llm.model}': {exc}") from None
