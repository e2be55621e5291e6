"""The dataset formats Cairn reads and writes (DESIGN 9), shared with the training spec."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DatasetFormat(StrEnum):
    """One JSON object per line; the value is what users type after `--format` / `--from` / `--to`."""

    MESSAGES = "messages"
    OPENAI_CHAT = "openai-chat"
    OPENAI_PREFERENCE = "openai-preference"
    VERTEX = "vertex"
    ALPACA = "alpaca"
    SHAREGPT = "sharegpt"
    PROMPT_COMPLETION = "prompt-completion"
    PREFERENCE = "preference"
    TEXT = "text"


CHAT_FORMATS = frozenset({DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT})
PREFERENCE_FORMATS = frozenset({DatasetFormat.PREFERENCE, DatasetFormat.OPENAI_PREFERENCE})


def parse_format(value: str) -> DatasetFormat:
    """The enum member for a user-typed name.

    Raises:
        ConfigError: the name is not one of the formats; the message lists them.
    """
    from workflow.errors import ConfigError

    try:
        return DatasetFormat(value.strip().lower())
    except ValueError:
        names = ", ".join(f.value for f in DatasetFormat)
        raise ConfigError(f"unknown dataset format {value!r}: use one of {names}") from None


def detect_example(obj: Any) -> DatasetFormat | None:
    """The format one parsed line looks like, from its keys; None when nothing matches.

    `messages` is returned for chat files: `openai-chat` has the same shape and is only a
    stricter check, so it is never guessed.
    """
    if not isinstance(obj, dict):
        return None
    if "messages" in obj:
        return DatasetFormat.MESSAGES
    if "conversations" in obj:
        return DatasetFormat.SHAREGPT
    if "contents" in obj:
        return DatasetFormat.VERTEX
    if "preferred_output" in obj or "non_preferred_output" in obj:
        return DatasetFormat.OPENAI_PREFERENCE
    if "chosen" in obj and "rejected" in obj:
        return DatasetFormat.PREFERENCE
    if "instruction" in obj and "output" in obj:
        return DatasetFormat.ALPACA
    if "prompt" in obj and "completion" in obj:
        return DatasetFormat.PROMPT_COMPLETION
    if "text" in obj:
        return DatasetFormat.TEXT
    return None


def detect_file(path: Any, *, sample: int = 200) -> DatasetFormat:
    """The format most of the first `sample` parseable lines of a file look like.

    Raises:
        DataError: the file cannot be read, or no line looks like a known format (the
            message suggests passing the format explicitly).
    """
    import json
    from collections import Counter

    from workflow.errors import DataError

    votes: Counter[DatasetFormat] = Counter()
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle):
                if number >= sample * 5 or sum(votes.values()) >= sample:
                    break
                try:
                    found = detect_example(json.loads(raw))
                except (ValueError, RecursionError):
                    continue
                if found is not None:
                    votes[found] += 1
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror or exc}") from None
    if not votes:
        names = ", ".join(f.value for f in DatasetFormat)
        raise DataError(f"cannot tell the format of {path}: no line looks like one of {names}; "
                        "pass the format explicitly (--format / --from)")
    return votes.most_common(1)[0][0]


def resolve_format(value: str | None, path: Any) -> DatasetFormat:
    """`value` as a format, detecting it from the file when it is None or "auto".

    Raises:
        ConfigError: `value` names no format.
        DataError: detection was needed and failed.
    """
    if value is None or value.strip().lower() == "auto":
        return detect_file(path)
    return parse_format(value)


def text_format(value: str | None, path: Any) -> DatasetFormat | None:
    """The format used to pick example text for comparisons; None (every string value) when it
    cannot be told from the file.

    Raises:
        ConfigError: `value` names no format.
        DataError: `value` names a format explicitly and the file cannot be read.
    """
    from workflow.errors import DataError

    try:
        return resolve_format(value, path)
    except DataError:
        if value not in (None, "auto"):
            raise
        return None
