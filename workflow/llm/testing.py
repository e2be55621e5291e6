"""A chat model for tests and benchmarks (like pydantic-ai's TestModel): replies come from a
queue, prompts are recorded, streaming splits on whitespace, structured output parses the next
queued reply as JSON (a queued string is sent as it is, so malformed JSON can be tested), and a
queued exception is raised in the middle of a turn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_messages
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import PrivateAttr

from workflow.llm.prompting import count_tokens


class FakeChatModel(GenericFakeChatModel):
    """`FakeChatModel(replies=[...])`: each reply is text, a dict (a structured proposal), or
    an exception instance to raise. Every call's messages are kept in `prompts`, and each reply
    reports usage (prompt tokens counted with `count_tokens`)."""

    _queue: list[Any] = PrivateAttr(default_factory=list)
    _prompts: list[list[BaseMessage]] = PrivateAttr(default_factory=list)

    def __init__(self, replies: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(messages=iter(()), **kwargs)
        self._queue = list(replies or [])
        self._prompts = []

    @property
    def prompts(self) -> list[list[BaseMessage]]:
        return self._prompts

    def queue(self, *replies: Any) -> None:
        self._queue.extend(replies)

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self._prompts.append(list(messages))
        if not self._queue:
            raise AssertionError("FakeChatModel: no reply queued for this call")
        reply = self._queue.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        text = json.dumps(reply) if isinstance(reply, dict) else str(reply)
        prompt = sum(count_tokens(str(m.content)) for m in messages)
        return AIMessage(content=text, usage_metadata={"input_tokens": prompt, "output_tokens": count_tokens(text),
                                                       "total_tokens": prompt + count_tokens(text)})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        from langchain_core.outputs import ChatGeneration

        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        message = self._next(messages)
        words = str(message.content).split(" ")
        for i, word in enumerate(words):
            if i == 1 and self._queue and isinstance(self._queue[0], _MidStream):
                raise self._queue.pop(0).error
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=message.usage_metadata))

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        def parse(value: Any) -> Any:
            messages = value.to_messages() if hasattr(value, "to_messages") else convert_to_messages(value)
            raw = self._next(messages)
            try:  # a pydantic class validates the whole object, as a provider's parser does
                parsed: Any = json.loads(str(raw.content)) if isinstance(schema, dict) else \
                    schema.model_validate_json(str(raw.content))
                error = None
            except ValueError as exc:
                if not include_raw:
                    raise
                parsed, error = None, exc
            return {"raw": raw, "parsed": parsed, "parsing_error": error} if include_raw else parsed

        return RunnableLambda(parse)


class _MidStream:
    """Queued right after a text reply: the stream fails after its first word."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def fails_mid_stream(error: BaseException) -> _MidStream:
    """Queue this after a text reply to make the stream break after its first chunk."""
    return _MidStream(error)
