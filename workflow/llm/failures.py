"""Turning a failed model call into one clear line. Provider SDKs raise their own classes
(openai.RateLimitError, anthropic.AuthenticationError...); they share names and a
`status_code`, so they are recognised without importing any provider package."""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["timeout", "rate_limit", "auth", "connection", "other"]
_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


class ModelFailure(Exception):
    """A model call failed; the message is the line shown to the user."""

    def __init__(self, *, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def kind_of(exc: BaseException) -> Kind:
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    if names & {"APITimeoutError", "TimeoutException", "ReadTimeout", "TimeoutError"} or isinstance(exc, TimeoutError):
        return "timeout"
    if "RateLimitError" in names or status == 429:
        return "rate_limit"
    if names & {"AuthenticationError", "PermissionDeniedError"} or status in (401, 403) \
            or "Missing credentials" in str(exc) or "api_key" in str(exc):
        return "auth"
    if names & {"APIConnectionError", "ConnectError", "ConnectionError"} or isinstance(exc, ConnectionError):
        return "connection"
    return "other"


def describe(exc: BaseException, llm: Any = None) -> str:
    """One line naming what went wrong and what to do about it."""
    model = getattr(llm, "model", "the model")
    provider = model.split(":", 1)[0] if ":" in model else "openai"
    kind = kind_of(exc)
    if kind == "timeout":
        limit = getattr(llm, "timeout_s", None)
        after = f" after {limit:g}s" if limit else ""
        return f"{model} did not answer{after} (timeout); raise llm.timeout_s in config.yaml or retry"
    if kind == "rate_limit":
        return f"{model} refused the request: rate limit or quota reached at the provider; wait and retry"
    if kind == "auth":
        env = getattr(llm, "api_key_env", None) or _ENV.get(provider, f"{provider.upper()}_API_KEY")
        return f"{model}: authentication failed; check that {env} holds a valid key"
    if kind == "connection":
        where = getattr(llm, "base_url", None) or provider
        return f"{model}: cannot reach {where}; check the server is running and llm.base_url"
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{model} call failed ({type(exc).__name__}: {first})"


def failure(exc: BaseException, llm: Any = None) -> ModelFailure:
    return ModelFailure(kind=kind_of(exc), message=describe(exc, llm))
