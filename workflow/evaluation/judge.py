"""The LLM judge's chat model, built from config.yaml's `llm` section only when a case
asks for an llm-judge assertion."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workflow.config import LlmConfig
from workflow.errors import ConfigError, MissingExtra
from workflow.evaluation.assertions import ChatModelLike

__all__ = ["CachedJudge", "build_judge"]


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
    elif llm.base_url and not os.environ.get("OPENAI_API_KEY"):
        # A local OpenAI-compatible server (vLLM, Ollama, LM Studio) needs no key, but the
        # client refuses to start without one.
        kwargs["api_key"] = "not-needed"
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
    except Exception as exc:  # ValueError, or a provider client refusing its settings
        raise ConfigError(f"config.yaml llm.model '{llm.model}': {type(exc).__name__}: {exc}") from None


class CachedJudge:
    """A judge whose replies are kept on disk by (model settings, prompt): re-grading an
    unchanged output costs nothing. Failed calls raise and are not kept."""

    def __init__(self, judge: ChatModelLike, directory: Path, identity: str) -> None:
        self.judge, self.directory, self.identity = judge, directory, identity
        self.hits = 0

    def invoke(self, input: Any) -> Any:
        from workflow.fileio import atomic_write_text

        key = hashlib.sha256(f"{self.identity}\0{input}".encode()).hexdigest()
        path = self.directory / key[:2] / f"{key}.json"
        try:
            content = json.loads(path.read_text(encoding="utf-8"))["content"]
            self.hits += 1
            return SimpleNamespace(content=content)
        except (OSError, ValueError, KeyError, TypeError):  # a missing or damaged entry is a miss
            pass
        reply = self.judge.invoke(input)
        content = getattr(reply, "content", reply)
        atomic_write_text(path, json.dumps({"content": content}, ensure_ascii=False))
        return reply
