"""Token lengths of the data against `max_length`, counted with the tokenizer before any model is
loaded, so what TRL will truncate or drop is known (and reported) up front.

TRL truncates every tokenized example to `max_length` (keeping the start) and then drops the ones
with no loss token left: an SFT example whose prompt (everything before the first answer token)
fills `max_length` when the loss is on answers only, a DPO pair whose prompt does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workflow.data.formats import DatasetFormat
from workflow.errors import TrainingError

__all__ = ["LengthCount", "check_lengths", "count_lengths"]

CHAT = (DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT)


@dataclass(frozen=True, kw_only=True)
class LengthCount:
    examples: int
    truncated: int  # longer than max_length: cut, still trained on
    dropped: int  # nothing left to learn after the cut: TRL removes them
    longest: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _ids(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _chat(tokenizer: Any, messages: list[dict[str, Any]], *, generation_prompt: bool) -> int:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    return _ids(tokenizer, str(text))


def _prompt_and_total(tokenizer: Any, row: dict[str, Any], fmt: DatasetFormat, answers_only: bool) -> tuple[int, int]:
    """(tokens before the first loss token, tokens in all) of one example; the first is 0 when
    every token is a loss token."""
    if fmt in CHAT:
        messages = row["messages"]
        total = _chat(tokenizer, messages, generation_prompt=False)
        first = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), None)
        if not answers_only or not first:
            return 0, total
        return _chat(tokenizer, messages[:first], generation_prompt=True), total
    if fmt == DatasetFormat.PROMPT_COMPLETION:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list):
            head = _chat(tokenizer, prompt, generation_prompt=True)
            return head, _chat(tokenizer, prompt + completion, generation_prompt=False)
        head = _ids(tokenizer, prompt)
        return head, head + _ids(tokenizer, completion) + 1
    if fmt == DatasetFormat.TEXT:
        return 0, _ids(tokenizer, row["text"])
    chosen, rejected = row["chosen"], row["rejected"]
    prompt = row.get("prompt")
    if isinstance(chosen, list):
        prompt_messages = prompt if prompt is not None else chosen[:-1]
        answers = (chosen, rejected) if prompt is not None else (chosen[-1:], rejected[-1:])
        head = _chat(tokenizer, prompt_messages, generation_prompt=True) if prompt_messages else 0
        longest = max(_chat(tokenizer, prompt_messages + a, generation_prompt=False) for a in answers)
        return head, longest
    head = _ids(tokenizer, prompt or "")
    return head, head + max(_ids(tokenizer, chosen), _ids(tokenizer, rejected)) + 1


def count_lengths(tokenizer: Any, rows: list[dict[str, Any]], fmt: DatasetFormat, max_length: int, *,
                  answers_only: bool) -> LengthCount:
    """How many `rows` TRL will truncate and drop at `max_length`."""
    truncated = dropped = longest = 0
    for row in rows:
        head, total = _prompt_and_total(tokenizer, row, fmt, answers_only)
        longest = max(longest, total)
        if head and head >= max_length:
            dropped += 1
        elif total > max_length:
            truncated += 1
    return LengthCount(examples=len(rows), truncated=truncated, dropped=dropped, longest=longest)


def check_lengths(tokenizer: Any, plan: Any, *, max_length: int, answers_only: dict[str, bool]
                  ) -> tuple[dict[str, dict[str, dict[str, int]]], list[str]]:
    """Counts per stage and split (train, eval), and a warning for each split that loses examples.

    Raises:
        TrainingError: every training example of a stage would be dropped (the fix: max_length).
    """
    counts: dict[str, dict[str, dict[str, int]]] = {}
    warnings: list[str] = []
    for stage in plan.stages:
        only = answers_only.get(stage.stage, True)
        counts[stage.stage] = {}
        for split in ("train", "eval"):
            data = getattr(stage, split)
            if data is None or not data.rows:
                continue
            found = count_lengths(tokenizer, data.rows, stage.format, max_length, answers_only=only)
            counts[stage.stage][split] = found.to_dict()
            if split == "train" and found.dropped == found.examples:
                raise TrainingError(
                    f"{stage.stage} {split}: all {found.examples} examples have a prompt of at least max_length "
                    f"{max_length} tokens, so TRL would drop every one and nothing would train; raise "
                    f"hyperparameters.max_length (the longest example has {found.longest} tokens)")
            if found.dropped or found.truncated:
                warnings.append(
                    f"{stage.stage} {split}: {found.dropped} of {found.examples} examples are dropped by TRL (no "
                    f"answer token left within max_length {max_length}) and {found.truncated} more are truncated; "
                    f"the longest has {found.longest} tokens")
    return counts, warnings
