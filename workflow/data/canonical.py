"""Every format to and from one canonical example, so N formats need 2N functions, not N².

Canonical examples are plain dicts: `{"messages": [...]}` for supervised formats,
`{"prompt": [...], "chosen": [...], "rejected": [...]}` for preference formats, `{"text": str}`
for plain text; top-level keys that are not part of the source format travel in `"extra"`.
Messages are `{"role", "content"}` dicts (other message keys such as `tool_calls` survive only
between `messages` and `openai-chat`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.data.formats import DatasetFormat as F

PREFERENCE = frozenset({F.PREFERENCE, F.OPENAI_PREFERENCE})
# Targets that keep unknown top-level keys; OpenAI and Vertex files get exactly their schema.
KEEPS_EXTRA = frozenset({F.MESSAGES, F.SHAREGPT, F.ALPACA, F.PROMPT_COMPLETION, F.PREFERENCE, F.TEXT})

OWN_KEYS: dict[F, frozenset[str]] = {
    F.MESSAGES: frozenset({"messages"}),
    F.OPENAI_CHAT: frozenset({"messages", "tools", "functions", "parallel_tool_calls"}),
    F.SHAREGPT: frozenset({"conversations", "system"}),
    F.VERTEX: frozenset({"contents", "systemInstruction"}),
    F.ALPACA: frozenset({"instruction", "input", "output", "system", "history"}),
    F.PROMPT_COMPLETION: frozenset({"prompt", "completion"}),
    F.PREFERENCE: frozenset({"prompt", "chosen", "rejected"}),
    F.OPENAI_PREFERENCE: frozenset({"input", "preferred_output", "non_preferred_output"}),
    F.TEXT: frozenset({"text"}),
}

_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system", "observation": "tool", "tool": "tool"}
_SHAREGPT_FROM = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation"}


class ConversionError(ValueError):
    """One example cannot be converted; the message says why (the caller adds the line number)."""


def conversion_refusal(source: F, target: F) -> str | None:
    """Why `source` can never become `target`, or None when lines may convert."""
    if source == F.TEXT and target != F.TEXT:
        return f"plain text has no turns, so it cannot become {target}"
    if target in PREFERENCE and source not in PREFERENCE:
        return f"{source} has no rejected response, so it cannot become {target}"
    return None


def _message(value: Any, where: str, *, keep_all: bool = False) -> dict[str, Any]:
    if type(value) is not dict or type(value.get("role")) is not str:
        raise ConversionError(f"{where} is not a message with a role")
    content = value.get("content")
    if type(content) is not str and not (keep_all and content is None):
        raise ConversionError(f"{where} has no string content")
    if keep_all:
        return dict(value)
    extra = value.keys() - {"role", "content"}
    if extra:
        raise ConversionError(f"{where} has {', '.join(sorted(extra))}, which only messages/openai-chat can hold")
    return {"role": value["role"], "content": content}


def _messages(value: Any, where: str, *, keep_all: bool = False) -> list[dict[str, Any]]:
    if type(value) is not list or not value:
        raise ConversionError(f"{where} is not a non-empty list of messages")
    return [_message(m, f"{where}[{i}]", keep_all=keep_all) for i, m in enumerate(value)]


def _text(obj: dict[str, Any], key: str, *, optional: bool = False) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if type(value) is not str:
        raise ConversionError(f"{key!r} is missing or not a string")
    return value


def _side(value: Any, key: str, role: str) -> list[dict[str, Any]]:
    if type(value) is str:
        return [{"role": role, "content": value}]
    return _messages(value, key)


def _vertex_text(value: Any, where: str) -> str:
    parts = value.get("parts") if type(value) is dict else None
    if type(parts) is not list or not parts or not all(type(p) is dict and type(p.get("text")) is str
                                                       for p in parts):
        raise ConversionError(f"{where} needs parts [{{text}}]")
    return "".join(p["text"] for p in parts)


def _from_chat(obj: dict[str, Any], source: F) -> dict[str, Any]:
    return {"messages": _messages(obj.get("messages"), "messages", keep_all=True)}


def _from_sharegpt(obj: dict[str, Any], source: F) -> dict[str, Any]:
    turns = obj.get("conversations")
    if type(turns) is not list or not turns:
        raise ConversionError("conversations is not a non-empty list")
    messages = []
    if obj.get("system"):
        messages.append({"role": "system", "content": _text(obj, "system")})
    for i, turn in enumerate(turns):
        if type(turn) is not dict or type(turn.get("value")) is not str or turn.get("from") not in _SHAREGPT_ROLES:
            raise ConversionError(f"conversations[{i}] needs from (human/gpt/system/observation) and a string value")
        messages.append({"role": _SHAREGPT_ROLES[turn["from"]], "content": turn["value"]})
    return {"messages": messages}


def _from_vertex(obj: dict[str, Any], source: F) -> dict[str, Any]:
    messages = []
    if obj.get("systemInstruction") is not None:
        messages.append({"role": "system", "content": _vertex_text(obj["systemInstruction"], "systemInstruction")})
    contents = obj.get("contents")
    if type(contents) is not list or not contents:
        raise ConversionError("contents is not a non-empty list")
    for i, turn in enumerate(contents):
        role = turn.get("role") if type(turn) is dict else None
        if role not in ("user", "model"):
            raise ConversionError(f"contents[{i}] role must be user or model")
        messages.append({"role": "assistant" if role == "model" else "user",
                         "content": _vertex_text(turn, f"contents[{i}]")})
    return {"messages": messages}


def _from_alpaca(obj: dict[str, Any], source: F) -> dict[str, Any]:
    messages = []
    if obj.get("system"):
        messages.append({"role": "system", "content": _text(obj, "system")})
    history = obj.get("history") or []
    if type(history) is not list:
        raise ConversionError("history is not a list of [instruction, response] pairs")
    for i, pair in enumerate(history):
        if type(pair) is not list or len(pair) != 2 or not all(type(x) is str for x in pair):
            raise ConversionError(f"history[{i}] is not an [instruction, response] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    instruction, extra_input = _text(obj, "instruction"), _text(obj, "input", optional=True)
    user = f"{instruction}\n\n{extra_input}" if extra_input else instruction
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": _text(obj, "output")}]
    return {"messages": messages}


def _from_prompt_completion(obj: dict[str, Any], source: F) -> dict[str, Any]:
    return {"messages": _side(obj.get("prompt"), "prompt", "user")
            + _side(obj.get("completion"), "completion", "assistant")}


def _from_preference(obj: dict[str, Any], source: F) -> dict[str, Any]:
    chosen = _side(obj.get("chosen"), "chosen", "assistant")
    rejected = _side(obj.get("rejected"), "rejected", "assistant")
    if "prompt" in obj:
        prompt = _side(obj["prompt"], "prompt", "user")
    else:
        # Implicit prompt (TRL): both sides repeat the conversation and differ in the last turn.
        if len(chosen) < 2 or chosen[:-1] != rejected[:-1]:
            raise ConversionError("without 'prompt', chosen and rejected must share all turns but the last")
        prompt, chosen, rejected = chosen[:-1], chosen[-1:], rejected[-1:]
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def _from_openai_preference(obj: dict[str, Any], source: F) -> dict[str, Any]:
    source_input = obj.get("input")
    if type(source_input) is not dict:
        raise ConversionError("input is not an object with messages")
    return {"prompt": _messages(source_input.get("messages"), "input.messages"),
            "chosen": _messages(obj.get("preferred_output"), "preferred_output"),
            "rejected": _messages(obj.get("non_preferred_output"), "non_preferred_output")}


def _from_text(obj: dict[str, Any], source: F) -> dict[str, Any]:
    return {"text": _text(obj, "text")}


READERS: dict[F, Callable[[dict[str, Any], F], dict[str, Any]]] = {
    F.MESSAGES: _from_chat, F.OPENAI_CHAT: _from_chat, F.SHAREGPT: _from_sharegpt, F.VERTEX: _from_vertex,
    F.ALPACA: _from_alpaca, F.PROMPT_COMPLETION: _from_prompt_completion, F.PREFERENCE: _from_preference,
    F.OPENAI_PREFERENCE: _from_openai_preference, F.TEXT: _from_text,
}


def to_canonical(obj: Any, source: F) -> dict[str, Any]:
    """The canonical example for one parsed line of `source`.

    Raises:
        ConversionError: the line does not have the shape `source` needs.
    """
    if type(obj) is not dict:
        raise ConversionError("the line is not a JSON object")
    canonical = READERS[source](obj, source)
    extra = {k: v for k, v in obj.items() if k not in OWN_KEYS[source]}
    if extra:
        canonical["extra"] = extra
    return canonical


def _chat_of(canonical: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" in canonical:
        return list(canonical["messages"])
    if "prompt" in canonical:
        # Preference to supervised: train on the preferred response (the rejected one is dropped).
        return canonical["prompt"] + canonical["chosen"]
    raise ConversionError("plain text has no turns")


def _plain(messages: list[dict[str, Any]], target: F) -> list[dict[str, Any]]:
    for i, m in enumerate(messages):
        extra = m.keys() - {"role", "content"}
        if extra:
            raise ConversionError(f"message {i + 1} has {', '.join(sorted(extra))}, which {target} cannot hold")
        if type(m.get("content")) is not str:
            raise ConversionError(f"message {i + 1} has no string content")
    return messages


def _to_messages(c: dict[str, Any]) -> dict[str, Any]:
    messages = []
    for i, m in enumerate(_chat_of(c)):
        if "weight" in m or "function_call" in m:
            if m.get("weight", 1) == 0:
                raise ConversionError(f"message {i + 1} has weight 0 (not trained on), which messages cannot say")
            if "function_call" in m:
                raise ConversionError(f"message {i + 1} has function_call, which messages cannot hold")
            # weight 1 is the default: dropping it loses nothing.
            m = {k: v for k, v in m.items() if k != "weight"}
        messages.append(m)
    return {"messages": messages}


def _alternating(messages: list[dict[str, Any]], target: F) -> tuple[str | None, list[dict[str, Any]]]:
    messages = _plain(messages, target)
    system = None
    if messages and messages[0]["role"] == "system":
        system, messages = messages[0]["content"], messages[1:]
    roles = [m["role"] for m in messages]
    if not roles or len(roles) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise ConversionError(f"{target} needs alternating user/assistant turns ending with assistant "
                              "(after an optional first system message)")
    return system, messages


def _to_sharegpt(c: dict[str, Any]) -> dict[str, Any]:
    turns = []
    for i, m in enumerate(_plain(_chat_of(c), F.SHAREGPT)):
        if m["role"] not in _SHAREGPT_FROM:
            raise ConversionError(f"message {i + 1} role {m['role']!r} has no sharegpt equivalent")
        turns.append({"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]})
    return {"conversations": turns}


def _to_vertex(c: dict[str, Any]) -> dict[str, Any]:
    messages = _plain(_chat_of(c), F.VERTEX)
    out: dict[str, Any] = {}
    if messages and messages[0]["role"] == "system":
        out["systemInstruction"] = {"role": "system", "parts": [{"text": messages[0]["content"]}]}
        messages = messages[1:]
    contents = []
    for i, m in enumerate(messages):
        if m["role"] not in ("user", "assistant"):
            raise ConversionError(f"message {i + 1} role {m['role']!r} has no vertex equivalent")
        contents.append({"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]})
    out["contents"] = contents
    return out


def _to_alpaca(c: dict[str, Any]) -> dict[str, Any]:
    system, messages = _alternating(_chat_of(c), F.ALPACA)
    out: dict[str, Any] = {"instruction": messages[-2]["content"], "input": "", "output": messages[-1]["content"]}
    if system is not None:
        out["system"] = system
    if len(messages) > 2:
        out["history"] = [[messages[i]["content"], messages[i + 1]["content"]] for i in range(0, len(messages) - 2, 2)]
    return out


def _standard(parts: list[tuple[list[dict[str, Any]], str]]) -> list[str | list[dict[str, Any]]]:
    """TRL's standard (string) form when every part is one plain message of the expected role,
    else the conversational (list) form for all of them: TRL wants one form per example."""
    if all(len(msgs) == 1 and msgs[0].get("role") == role and msgs[0].keys() == {"role", "content"}
           for msgs, role in parts):
        return [str(msgs[0]["content"]) for msgs, _ in parts]
    return [msgs for msgs, _ in parts]


def _to_prompt_completion(c: dict[str, Any]) -> dict[str, Any]:
    messages = _chat_of(c)
    if messages[-1].get("role") != "assistant":
        raise ConversionError("the last message must be the assistant's completion")
    prompt, completion = _standard([(messages[:-1], "user"), (messages[-1:], "assistant")])
    return {"prompt": prompt, "completion": completion}


def _preference_of(c: dict[str, Any]) -> dict[str, Any]:
    if "chosen" not in c:
        raise ConversionError("no rejected response")
    return c


def _to_preference(c: dict[str, Any]) -> dict[str, Any]:
    p = _preference_of(c)
    prompt, chosen, rejected = _standard([(p["prompt"], "user"), (p["chosen"], "assistant"),
                                          (p["rejected"], "assistant")])
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def _to_openai_preference(c: dict[str, Any]) -> dict[str, Any]:
    p = _preference_of(c)
    return {"input": {"messages": _plain(p["prompt"], F.OPENAI_PREFERENCE)},
            "preferred_output": _plain(p["chosen"], F.OPENAI_PREFERENCE),
            "non_preferred_output": _plain(p["rejected"], F.OPENAI_PREFERENCE)}


def render_text(messages: list[dict[str, Any]]) -> str:
    """Chat as plain text: `Role: content` blocks separated by blank lines."""
    return "\n\n".join(f"{str(m.get('role', '')).capitalize()}: {m.get('content') or ''}" for m in messages)


def _to_text(c: dict[str, Any]) -> dict[str, Any]:
    return {"text": c["text"] if "text" in c else render_text(_chat_of(c))}


WRITERS: dict[F, Callable[[dict[str, Any]], dict[str, Any]]] = {
    F.MESSAGES: _to_messages,
    F.OPENAI_CHAT: lambda c: {"messages": _chat_of(c)},
    F.SHAREGPT: _to_sharegpt, F.VERTEX: _to_vertex, F.ALPACA: _to_alpaca,
    F.PROMPT_COMPLETION: _to_prompt_completion, F.PREFERENCE: _to_preference,
    F.OPENAI_PREFERENCE: _to_openai_preference, F.TEXT: _to_text,
}


def from_canonical(canonical: dict[str, Any], target: F) -> dict[str, Any]:
    """One line of `target` for a canonical example.

    Raises:
        ConversionError: the example cannot be written as `target` (the message says why).
    """
    out = WRITERS[target](canonical)
    extra = canonical.get("extra")
    if extra and target in KEEPS_EXTRA:
        for key, value in extra.items():
            out.setdefault(key, value)
    return out


def texts(obj: Any, source: F) -> tuple[str, str]:
    """(prompt text, response text) of one example; ("", "") when it has no usable shape."""
    try:
        canonical = to_canonical(obj, source)
    except (ConversionError, RecursionError):
        return "", ""
    if "text" in canonical:
        return "", canonical["text"]
    if "chosen" in canonical:
        prompt, response = canonical["prompt"], canonical["chosen"]
    else:
        messages = canonical["messages"]
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
        prompt, response = messages[:last], messages[last:last + 1]
    return ("\n".join(str(m.get("content") or "") for m in prompt),
            "\n".join(str(m.get("content") or "") for m in response))
