"""Per-format checks of one parsed line: stable problem codes plus the few numbers analysis needs.

Every check is total over arbitrary JSON: it never raises, it appends `(code, message)` pairs
to `out` and returns an `Shape` (turns, prompt and response characters, empty response) when
the example is usable, or None when it has errors. The chat checks are the hot path of
`validate` / `analyze` on large files: `check_turns` is one flat loop, and `fast_check` parses
and checks a clean chat line in one typed msgspec decode before any of it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import msgspec

from workflow.data.formats import DatasetFormat

# code -> (default severity, what it means); DESIGN 9 fixes the chat codes and their severities.
CODES: dict[str, tuple[str, str]] = {
    "invalid_json": ("error", "the line is not valid JSON (or not UTF-8)"),
    "data_type": ("error", "the line, or a message in it, is not a JSON object"),
    "missing_messages_list": ("error", "the list of turns (messages / conversations / contents) is missing, "
                                       "empty or not a list"),
    "message_missing_key": ("error", "a message has no role (role / from)"),
    "message_unrecognized_key": ("error", "a message has a key the format does not allow"),
    "unrecognized_role": ("error", "a message has a role the format does not allow"),
    "missing_content": ("error", "a message's content is absent, null or not a string"),
    "example_missing_assistant_message": ("error", "no assistant (gpt / model) message"),
    "missing_field": ("error", "a required field is absent or null"),
    "field_type": ("error", "a field has the wrong type"),
    "invalid_weight": ("error", "an openai-chat weight is not 0 or 1"),
    "empty_file": ("error", "the file has no examples"),
    "empty_assistant_content": ("warning", "a response is empty or only whitespace"),
    "missing_system_message": ("warning", "a chat example has no system message"),
    "missing_user_message": ("warning", "a chat example has no user message"),
    "too_many_tokens": ("warning", "an example is over the token limit (an error with --max-tokens)"),
    "blank_line": ("warning", "a blank line (skipped by trainers, counted as no example)"),
    "example_unrecognized_key": ("warning", "an openai-chat example has a top-level key OpenAI does not read"),
    "identical_preference": ("warning", "chosen and rejected are the same"),
}

Out = list[tuple[str, str]]
# turns, prompt characters, response characters, response empty
Shape = tuple[int, int, int, bool]


@dataclass(frozen=True)
class ChatRules:
    """What a list of turns may contain in one chat format."""

    role_key: str
    content_key: str
    roles: frozenset[str]
    keys: frozenset[str]
    assistant: str
    user: str
    system: str
    list_key: str
    check_weight: bool = False
    # OpenAI's cookbook counts: a message lacking role or content also has `message_missing_key`;
    # empty content is `missing_content`; no assistant message is counted whatever else is wrong.
    cookbook: bool = False


_MESSAGES = ChatRules("role", "content", frozenset({"system", "developer", "user", "assistant", "tool"}),
                      frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content",
                                 "thinking"}), "assistant", "user", "system", "messages")
_OPENAI = ChatRules("role", "content", frozenset({"system", "developer", "user", "assistant", "tool", "function"}),
                    frozenset({"role", "content", "name", "weight", "function_call", "tool_calls",
                               "tool_call_id"}), "assistant", "user", "system", "messages", check_weight=True,
                    cookbook=True)
_SHAREGPT = ChatRules("from", "value", frozenset({"system", "human", "gpt", "function_call", "observation",
                                                   "tool"}),
                      frozenset({"from", "value", "weight"}), "gpt", "human", "system", "conversations")
_OPENAI_TOP_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls", "metadata"})


def check_turns(turns: Any, rules: ChatRules, out: Out, need_assistant: bool = True,
                where: str = "") -> Shape | None:
    """Check a list of chat turns; prompt = every turn before the last assistant one."""
    # Fast path for the common clean example: two-key messages with non-blank string content.
    # Anything unusual drops to the slow loop, which names each problem. Plain subscripts and
    # an if-chain measured faster here than map/itemgetter/set tricks.
    if type(turns) is list and turns:
        role_key, content_key, assistant, user, system = (rules.role_key, rules.content_key, rules.assistant,
                                                          rules.user, rules.system)
        chars = last = n_assistant = n_user = n_system = 0
        for message in turns:
            # A non-dict message fails the subscript (TypeError), a non-string content has no
            # isspace (AttributeError): both drop to the slow loop, without a type() call here.
            try:
                role = message[role_key]
                content = message[content_key]
                if len(message) != 2 or not content or content.isspace():
                    break
            except (KeyError, TypeError, AttributeError):
                break
            if role == assistant:
                n_assistant += 1
                chars += last
                last = len(content)
                continue
            if role == user:
                n_user += 1
            elif role == system:
                n_system += 1
            elif type(role) is not str or role not in rules.roles:
                break
            chars += len(content)
        else:
            if n_assistant or not need_assistant:
                if not n_system and need_assistant:
                    out.append(("missing_system_message", "no system message"))
                if not n_user:
                    out.append(("missing_user_message", f"no {user!r} message"))
                return len(turns), chars, last, False
    return _check_turns_slowly(turns, rules, out, need_assistant, where)


def _check_turns_slowly(turns: Any, rules: ChatRules, out: Out, need_assistant: bool,
                        where: str) -> Shape | None:
    if type(turns) is not list or not turns:
        out.append(("missing_messages_list", f"{where or rules.list_key} must be a non-empty list of messages"))
        return None
    role_key, content_key, roles, keys = rules.role_key, rules.content_key, rules.roles, rules.keys
    assistant, user, system = rules.assistant, rules.user, rules.system
    failed = False
    n_user = n_system = n_assistant = 0
    chars = last_chars = 0
    last_empty = False
    for index, message in enumerate(turns, start=1):
        if type(message) is not dict:
            out.append(("data_type", f"message {index} is not an object"))
            failed = True
            continue
        role = message.get(role_key)
        content = message.get(content_key)
        unknown = message.keys() - keys
        if unknown:
            names = ", ".join(sorted(str(k) for k in unknown))
            out.append(("message_unrecognized_key", f"message {index} has unrecognized key(s) {names}"))
            failed = True
        calls = message.get("tool_calls") or message.get("function_call")
        if rules.cookbook and content_key not in message and not calls:
            out.append(("message_missing_key", f"message {index} has no {content_key!r}"))
        if role is None:
            out.append(("message_missing_key", f"message {index} has no {role_key!r}"))
            failed = True
            if rules.cookbook and type(content) is not str:
                out.append(("missing_content", f"message {index} {content_key!r} is missing or not a string"))
            continue
        if type(role) is not str:
            out.append(("unrecognized_role", f"message {index} {role_key!r} must be a string"))
            failed = True
            continue
        if type(content) is not str:
            if not (content is None and calls and role == assistant):
                kind = "missing" if content is None else f"a {type(content).__name__}, not a string"
                out.append(("missing_content", f"message {index} ({role}) {content_key!r} is {kind}"))
                failed = True
                continue
            content = ""
        elif rules.cookbook and not content.strip() and not calls:
            out.append(("missing_content", f"message {index} ({role}) {content_key!r} is empty"))
            failed = True
        if role == assistant:
            n_assistant += 1
            chars += last_chars
            last_chars = len(content)
            last_empty = not content.strip()
            if last_empty:
                out.append(("empty_assistant_content", f"message {index} ({assistant}) is empty"))
            if rules.check_weight and "weight" in message and message["weight"] not in (0, 1):
                out.append(("invalid_weight", f"message {index} weight must be 0 or 1"))
                failed = True
            continue
        if role == user:
            n_user += 1
        elif role == system:
            n_system += 1
        elif role not in roles:
            allowed = ", ".join(sorted(roles))
            out.append(("unrecognized_role", f"message {index} has role {role[:40]!r}; use one of {allowed}"))
            failed = True
            continue
        chars += len(content)
    if need_assistant and n_assistant == 0 and (not failed or rules.cookbook):
        if not (rules.cookbook and any(type(m) is dict and m.get(role_key) == assistant for m in turns)):
            out.append(("example_missing_assistant_message", f"no {assistant!r} message"))
        return None
    if failed:
        return None
    if not n_system and need_assistant:
        out.append(("missing_system_message", "no system message"))
    if not n_user:
        out.append(("missing_user_message", f"no {user!r} message"))
    return len(turns), chars, last_chars, last_empty


def _check_messages(obj: dict[str, Any], out: Out) -> Shape | None:
    return check_turns(obj.get("messages"), _MESSAGES, out)


def _check_openai_chat(obj: dict[str, Any], out: Out) -> Shape | None:
    unknown = obj.keys() - _OPENAI_TOP_KEYS
    if unknown:
        out.append(("example_unrecognized_key", f"unrecognized top-level key(s) {', '.join(sorted(unknown))}"))
    return check_turns(obj.get("messages"), _OPENAI, out)


def _check_sharegpt(obj: dict[str, Any], out: Out) -> Shape | None:
    shape = check_turns(obj.get("conversations"), _SHAREGPT, out)
    if "system" in obj and type(obj["system"]) is not str:
        out.append(("field_type", "system must be a string"))
        return None
    if shape is not None and obj.get("system"):
        # A top-level system prompt counts as the system message.
        out[:] = [p for p in out if p[0] != "missing_system_message"]
    return shape


def _text_parts(parts: Any) -> str | None:
    if type(parts) is not list or not parts:
        return None
    texts = []
    for part in parts:
        if type(part) is not dict or type(part.get("text")) is not str:
            return None
        texts.append(part["text"])
    return "".join(texts)


def _check_vertex(obj: dict[str, Any], out: Out) -> Shape | None:
    contents = obj.get("contents")
    if type(contents) is not list or not contents:
        out.append(("missing_messages_list", "contents must be a non-empty list"))
        return None
    failed = False
    system = obj.get("systemInstruction")
    if system is not None and (type(system) is not dict or _text_parts(system.get("parts")) is None):
        out.append(("field_type", "systemInstruction must be an object with parts [{text}]"))
        failed = True
    n_user = n_model = chars = last_chars = 0
    last_empty = False
    for index, turn in enumerate(contents, start=1):
        if type(turn) is not dict:
            out.append(("data_type", f"contents {index} is not an object"))
            failed = True
            continue
        unknown = turn.keys() - {"role", "parts"}
        if unknown:
            out.append(("message_unrecognized_key", f"contents {index} has unrecognized key(s) "
                                                    f"{', '.join(sorted(str(k) for k in unknown))}"))
            failed = True
        role = turn.get("role")
        if role is None:
            out.append(("message_missing_key", f"contents {index} has no 'role'"))
            failed = True
            continue
        text = _text_parts(turn.get("parts"))
        if text is None:
            out.append(("missing_content", f"contents {index} parts must be a non-empty list of {{text}}"))
            failed = True
            continue
        if role == "model":
            n_model += 1
            chars += last_chars
            last_chars, last_empty = len(text), not text.strip()
            if last_empty:
                out.append(("empty_assistant_content", f"contents {index} (model) is empty"))
        elif role == "user":
            n_user += 1
            chars += len(text)
        else:
            out.append(("unrecognized_role", f"contents {index} has role {str(role)[:40]!r}; use user or model"))
            failed = True
    if failed:
        return None
    if not n_model:
        out.append(("example_missing_assistant_message", "no 'model' turn"))
        return None
    if not n_user:
        out.append(("missing_user_message", "no 'user' turn"))
    if system is None:
        out.append(("missing_system_message", "no systemInstruction"))
    return len(contents) + (system is not None), chars, last_chars, last_empty


def _required_text(obj: dict[str, Any], key: str, out: Out, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if not optional:
            out.append(("missing_field", f"{key!r} is missing"))
        return None
    if type(value) is not str:
        out.append(("field_type", f"{key!r} must be a string, not {type(value).__name__}"))
        return None
    return value


def _check_alpaca(obj: dict[str, Any], out: Out) -> Shape | None:
    before = len(out)
    instruction = _required_text(obj, "instruction", out)
    output = _required_text(obj, "output", out)
    extra = [_required_text(obj, key, out, optional=True) for key in ("input", "system")]
    history = obj.get("history")
    turns = 2
    if history is not None:
        if type(history) is not list or not all(
            type(pair) is list and len(pair) == 2 and all(type(x) is str for x in pair) for pair in history
        ):
            out.append(("field_type", "history must be a list of [instruction, response] string pairs"))
        else:
            turns += 2 * len(history)
            extra.extend(x for pair in history for x in pair)
    if len(out) > before or instruction is None or output is None:
        return None
    if not output.strip():
        out.append(("empty_assistant_content", "output is empty"))
    return turns, len(instruction) + sum(len(x) for x in extra if x), len(output), not output.strip()


def _side(value: Any, key: str, out: Out, *, assistant: bool) -> tuple[int, int, bool] | None:
    """A prompt-completion or preference side: a string or a list of messages (TRL's two shapes)."""
    if value is None:
        out.append(("missing_field", f"{key!r} is missing"))
        return None
    if type(value) is str:
        return 1, len(value), not value.strip()
    if type(value) is list:
        shape = check_turns(value, _MESSAGES, out, need_assistant=assistant, where=key)
        if shape is None:
            return None
        turns, chars, last, empty = shape
        return turns, chars + last, empty if assistant else False
    out.append(("field_type", f"{key!r} must be a string or a list of messages"))
    return None


def _quiet_warnings(out: Out, start: int) -> None:
    # Prompt / completion halves are not whole chats: the system / user warnings do not apply.
    out[start:] = [p for p in out[start:] if p[0] not in ("missing_system_message", "missing_user_message")]


def _check_prompt_completion(obj: dict[str, Any], out: Out) -> Shape | None:
    start = len(out)
    prompt = _side(obj.get("prompt"), "prompt", out, assistant=False)
    completion = _side(obj.get("completion"), "completion", out, assistant=True)
    _quiet_warnings(out, start)
    if prompt is None or completion is None:
        return None
    if completion[2]:
        out.append(("empty_assistant_content", "completion is empty"))
    return prompt[0] + completion[0], prompt[1], completion[1], completion[2]


def _check_preference(obj: dict[str, Any], out: Out) -> Shape | None:
    start = len(out)
    # Implicit-prompt preference data (prompt inside chosen/rejected) is valid TRL input.
    prompt = _side(obj["prompt"], "prompt", out, assistant=False) if "prompt" in obj else (0, 0, False)
    chosen = _side(obj.get("chosen"), "chosen", out, assistant=True)
    rejected = _side(obj.get("rejected"), "rejected", out, assistant=True)
    _quiet_warnings(out, start)
    if prompt is None or chosen is None or rejected is None:
        return None
    if obj.get("chosen") == obj.get("rejected"):
        out.append(("identical_preference", "chosen and rejected are identical"))
    if chosen[2]:
        out.append(("empty_assistant_content", "chosen is empty"))
    return prompt[0] + chosen[0], prompt[1], chosen[1], chosen[2]


def _check_openai_preference(obj: dict[str, Any], out: Out) -> Shape | None:
    start = len(out)
    source = obj.get("input")
    if type(source) is not dict:
        out.append(("missing_field" if source is None else "field_type", "'input' must be an object with messages"))
        return None
    prompt = check_turns(source.get("messages"), _OPENAI, out, need_assistant=False, where="input.messages")
    sides: list[Shape | None] = []
    for key in ("preferred_output", "non_preferred_output"):
        value = obj.get(key)
        if value is None:
            out.append(("missing_field", f"{key!r} is missing"))
            sides.append(None)
            continue
        if type(value) is list and any(type(m) is dict and m.get("role") != "assistant" for m in value):
            out.append(("unrecognized_role", f"{key} may only hold assistant messages"))
            sides.append(None)
            continue
        sides.append(check_turns(value, _OPENAI, out, where=key))
    _quiet_warnings(out, start)
    preferred, rejected = sides
    if prompt is None or preferred is None or rejected is None:
        return None
    if obj.get("preferred_output") == obj.get("non_preferred_output"):
        out.append(("identical_preference", "preferred_output and non_preferred_output are identical"))
    turns, chars, last, _ = prompt
    return turns + preferred[0], chars + last, preferred[2], preferred[3]


def _check_text(obj: dict[str, Any], out: Out) -> Shape | None:
    text = _required_text(obj, "text", out)
    if text is None:
        return None
    if not text.strip():
        out.append(("empty_assistant_content", "text is empty"))
    return 1, 0, len(text), not text.strip()


CHECKS: dict[DatasetFormat, Callable[[dict[str, Any], Out], Shape | None]] = {
    DatasetFormat.MESSAGES: _check_messages,
    DatasetFormat.OPENAI_CHAT: _check_openai_chat,
    DatasetFormat.SHAREGPT: _check_sharegpt,
    DatasetFormat.VERTEX: _check_vertex,
    DatasetFormat.ALPACA: _check_alpaca,
    DatasetFormat.PROMPT_COMPLETION: _check_prompt_completion,
    DatasetFormat.PREFERENCE: _check_preference,
    DatasetFormat.OPENAI_PREFERENCE: _check_openai_preference,
    DatasetFormat.TEXT: _check_text,
}


FastCheck = Callable[[bytes, Out], Shape | None]


def _fast_chat(rules: ChatRules, *, other_top_keys: bool) -> FastCheck:
    """Parse and check a raw line of a clean chat example in one go, or return None.

    msgspec decodes the line straight into typed records that only a clean example fits: the
    turn list and, per message, exactly the role and content keys, a known role, string content.
    Its C validation replaces the dict and type tests of `check_turns`. Whatever does not fit
    (bad JSON, another key, a blank response, no assistant turn) returns None, and the caller
    runs the full check, which names the problem. The result of an example both accept is the
    same (tests/data/test_checks.py holds them to it).
    """
    role_type: Any = Literal[tuple(sorted(rules.roles))]
    message: Any = msgspec.defstruct("Message", [("role", role_type), ("content", str)],
                                     forbid_unknown_fields=True, gc=False,
                                     rename={"role": rules.role_key, "content": rules.content_key})
    example: Any = msgspec.defstruct("Example", [("turns", list[message])], rename={"turns": rules.list_key},
                                     forbid_unknown_fields=not other_top_keys, gc=False)
    decode: Callable[[bytes], Any] = msgspec.json.Decoder(example).decode
    assistant, user, system = rules.assistant, rules.user, rules.system
    missing_user = ("missing_user_message", f"no {user!r} message")
    missing_system = ("missing_system_message", "no system message")

    def check(line: bytes, out: Out) -> Shape | None:
        try:
            turns = decode(line).turns
        except (msgspec.DecodeError, ValueError, RecursionError):
            return None
        chars = last = n_assistant = n_user = n_system = 0
        for turn in turns:
            content = turn.content
            if not content or content.isspace():
                return None
            role = turn.role
            if role == assistant:
                n_assistant += 1
                chars += last
                last = len(content)
                continue
            if role == user:
                n_user += 1
            elif role == system:
                n_system += 1
            chars += len(content)
        if not n_assistant:
            return None
        if not n_system:
            out.append(missing_system)
        if not n_user:
            out.append(missing_user)
        return len(turns), chars, last, False

    return check


@cache
def fast_check(fmt: DatasetFormat) -> FastCheck | None:
    """The one-step parse-and-check for `fmt`'s clean examples, when the format has one.

    openai-chat and sharegpt give meaning to other top-level keys (a warning, a system prompt),
    so for them any other key sends the example to the full check.
    """
    if fmt is DatasetFormat.MESSAGES:
        return _fast_chat(_MESSAGES, other_top_keys=True)
    if fmt is DatasetFormat.OPENAI_CHAT:
        return _fast_chat(_OPENAI, other_top_keys=False)
    if fmt is DatasetFormat.SHAREGPT:
        return _fast_chat(_SHAREGPT, other_top_keys=False)
    return None
