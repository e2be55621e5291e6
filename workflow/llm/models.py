"""Building the chat model from `config.yaml`'s `llm` section (or `cairn chat --llm`), through
LangChain's `init_chat_model`. API keys come from the provider's usual environment variables."""

from __future__ import annotations

import os
from typing import Any

from workflow.config import Config, LlmConfig
from workflow.errors import ConfigError, MissingExtra

# `--llm scripted` forces the scripted facilitator even when config.yaml names a model.
SCRIPTED = frozenset({"scripted", "none", "off"})
# Provider prefix -> (extra, package) for the install hint when its LangChain package is missing.
_EXTRAS = {"openai": ("llm", "langchain-openai"), "anthropic": ("anthropic", "langchain-anthropic")}


def resolve_llm(config: Config, override: str | None = None) -> LlmConfig | None:
    """The model settings for one session: `override` (a model spec from `--llm`) replaces the
    configured model and keeps the other `llm` settings; None means the scripted facilitator."""
    if override is not None:
        spec = override.strip()
        if spec.lower() in SCRIPTED:
            return None
        if not spec:
            raise ConfigError("--llm: give a model spec such as 'openai:gpt-4.1-mini', or 'scripted'")
        if config.llm is not None:
            return config.llm.model_copy(update={"model": spec})
        return LlmConfig(model=spec)
    return config.llm


def build_chat_model(llm: LlmConfig) -> Any:
    """A LangChain chat model for `llm`. Nothing is sent until the first turn. `local:PATH_OR_PACKAGE`
    runs a transformers model in this process (see `workflow.llm.local`).

    Raises MissingExtra when LangChain or the provider's package is not installed, and
    ConfigError for a spec LangChain does not understand or a missing `api_key_env` variable.
    """
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise MissingExtra("llm", "langchain") from None
    provider = llm.model.split(":", 1)[0] if ":" in llm.model else "openai"
    if provider == "local":
        from workflow.llm.local import load_local_model

        return load_local_model(llm.model.split(":", 1)[1], max_tokens=llm.max_tokens or 256,
                                temperature=llm.temperature)
    # The client does not retry: the facilitator does, announcing each retry (llm.max_retries).
    kwargs: dict[str, Any] = {"temperature": llm.temperature, "timeout": llm.timeout_s, "max_retries": 0}
    if llm.max_tokens:
        kwargs["max_tokens"] = llm.max_tokens
    if llm.api_key_env:
        key = os.environ.get(llm.api_key_env)
        if not key:
            raise ConfigError(f"config.yaml: llm.api_key_env names {llm.api_key_env}, which is not set; "
                              f"export {llm.api_key_env}=... or remove the key")
        kwargs["api_key"] = key
    if llm.base_url:
        kwargs["base_url"] = llm.base_url
        # Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) take any key, but the client
        # refuses to start without one.
        if provider == "openai" and "api_key" not in kwargs and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"
    if provider == "openai":
        kwargs["stream_usage"] = True  # token counts on streamed replies too
    try:
        return init_chat_model(llm.model if ":" in llm.model else f"openai:{llm.model}", **kwargs)
    except ImportError:
        extra, package = _EXTRAS.get(provider, ("llm", f"langchain-{provider}"))
        raise MissingExtra(extra, package) from None
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"config.yaml: llm.model '{llm.model}': {first}") from None
    except Exception as exc:  # a provider client refusing its settings (e.g. no API key)
        from workflow.llm.failures import describe

        raise ConfigError(f"llm.model '{llm.model}': {describe(exc, llm)}") from None
