"""Base vs tuned on the held-out test split (torch imported inside the functions).

Always: per-example loss on the answer tokens, and perplexity. When the examples carry a
reference answer: greedy generations scored by exact match, token F1 and ROUGE-L. Every metric's
tuned-minus-base difference gets a paired bootstrap 95% CI from `workflow.evaluation.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from workflow.data.formats import DatasetFormat
from workflow.training.metrics import exact_match, rouge_l, token_f1
from workflow.training.splits import reference_of

__all__ = ["Comparison", "MetricRow", "ModelScores", "compare", "score_model"]

BATCH = 8


@dataclass(kw_only=True)
class ModelScores:
    losses: list[float]  # mean NLL per example over its answer tokens
    tokens: list[int]
    answers: list[str] | None = None  # greedy generations, when references exist
    pair_correct: list[float] | None = None  # preference data: chosen scored better than rejected

    @property
    def perplexity(self) -> float:
        total = sum(loss * n for loss, n in zip(self.losses, self.tokens, strict=True))
        count = sum(self.tokens)
        return math.exp(min(50.0, total / count)) if count else float("nan")


@dataclass(frozen=True, kw_only=True)
class MetricRow:
    name: str
    higher_is_better: bool
    base: float
    tuned: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str


@dataclass(kw_only=True)
class Comparison:
    n: int
    rows: list[MetricRow]
    base_perplexity: float
    tuned_perplexity: float
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def regressed(self) -> list[str]:
        return [r.name for r in self.rows if r.verdict == "regressed"]

    @property
    def verdict(self) -> str:
        if self.regressed:
            return "regressed"
        return "improved" if any(r.verdict == "improved" for r in self.rows) else "no significant change"


def _chat_text(tokenizer: Any, messages: list[dict[str, Any]], *, generation_prompt: bool) -> str:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    return str(text)


def _pair(tokenizer: Any, prompt: Any, answer: Any) -> tuple[str, str]:
    """(prompt text, answer text) as the model sees them, for strings or chat messages."""
    if isinstance(prompt, list):
        answer_messages = answer if isinstance(answer, list) else [{"role": "assistant", "content": answer}]
        head = _chat_text(tokenizer, prompt, generation_prompt=True)
        full = _chat_text(tokenizer, prompt + answer_messages, generation_prompt=False)
        if full.startswith(head):
            # Templates add a newline after the end-of-turn token that training never scores; drop it.
            return head, full[len(head):].rstrip()
        return "", full
    return str(prompt), str(answer) + (tokenizer.eos_token or "")


def _segments(tokenizer: Any, row: dict[str, Any], fmt: DatasetFormat) -> list[tuple[str, str]]:
    """The (prompt, answer) texts whose answer tokens are scored; two for a preference pair."""
    if fmt in (DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT):
        messages = row["messages"]
        if messages[-1]["role"] == "assistant" and len(messages) > 1:
            return [_pair(tokenizer, messages[:-1], [messages[-1]])]
        return [("", _chat_text(tokenizer, messages, generation_prompt=False))]
    if fmt == DatasetFormat.PROMPT_COMPLETION:
        return [_pair(tokenizer, row["prompt"], row["completion"])]
    if fmt == DatasetFormat.TEXT:
        return [("", row["text"])]
    prompt = row.get("prompt")
    if prompt is None:  # implicit prompt: the shared conversation before the last answer
        chosen, rejected = row["chosen"], row["rejected"]
        return [_pair(tokenizer, chosen[:-1], chosen[-1:]), _pair(tokenizer, rejected[:-1], rejected[-1:])]
    return [_pair(tokenizer, prompt, row["chosen"]), _pair(tokenizer, prompt, row["rejected"])]


def _nll(model: Any, tokenizer: Any, pairs: list[tuple[str, str]], max_length: int) -> list[tuple[float, int]]:
    """(mean NLL, tokens) of each answer given its prompt, truncated to max_length like training."""
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[tuple[float, int]] = []
    for start in range(0, len(pairs), BATCH):
        ids_batch, label_batch = [], []
        for prompt, answer in pairs[start:start + BATCH]:
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
            a = tokenizer(answer, add_special_tokens=False)["input_ids"]
            ids = (p + a)[:max_length]
            labels = ([-100] * len(p) + a)[:max_length]
            ids_batch.append(ids)
            label_batch.append(labels)
        width = max(len(ids) for ids in ids_batch)
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in ids_batch], device=device)
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in ids_batch], device=device)
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for lab in label_batch], device=device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
        shifted, targets = logits[:, :-1], labels[:, 1:]
        mask = targets != -100
        token_nll = torch.nn.functional.cross_entropy(
            shifted.reshape(-1, shifted.size(-1)), targets.clamp(min=0).reshape(-1), reduction="none"
        ).view(targets.shape) * mask
        for total, count in zip(token_nll.sum(1).tolist(), mask.sum(1).tolist(), strict=True):
            out.append((total / count if count else 0.0, int(count)))
    return out


def _generate(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> list[str]:
    import torch

    device = next(model.parameters()).device
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only generation continues from the right edge
    answers: list[str] = []
    try:
        for start in range(0, len(prompts), BATCH):
            batch = tokenizer(prompts[start:start + BATCH], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            with torch.no_grad():
                output = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            new = output[:, batch["input_ids"].shape[1]:]
            answers += [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]
    finally:
        tokenizer.padding_side = side
    return answers


def score_model(model: Any, tokenizer: Any, rows: list[dict[str, Any]], fmt: DatasetFormat, *,
                max_length: int, max_new_tokens: int) -> ModelScores:
    """Loss per example, and generations when the rows carry reference answers."""
    model.eval()
    segments = [_segments(tokenizer, row, fmt) for row in rows]
    first = _nll(model, tokenizer, [s[0] for s in segments], max_length)
    scores = ModelScores(losses=[loss for loss, _ in first], tokens=[n for _, n in first])
    if fmt == DatasetFormat.PREFERENCE:
        second = _nll(model, tokenizer, [s[1] for s in segments], max_length)
        scores.pair_correct = [float(c[0] < r[0]) for c, r in zip(first, second, strict=True)]
    refs = [reference_of(row, fmt) for row in rows]
    if refs and all(ref is not None for ref in refs):
        prompts = [seg[0][0] for seg in segments]
        scores.answers = _generate(model, tokenizer, prompts, max_new_tokens)
    return scores


def _row(name: str, base: list[float], tuned: list[float], higher_is_better: bool) -> MetricRow:
    from workflow.evaluation.stats import paired_bootstrap, verdict

    diff = paired_bootstrap(base, tuned, n_resamples=10_000, level=0.95, seed=0)
    return MetricRow(name=name, higher_is_better=higher_is_better, base=sum(base) / len(base),
                     tuned=sum(tuned) / len(tuned), diff=diff.mean_diff, ci_low=diff.ci_low, ci_high=diff.ci_high,
                     p_value=diff.p_value, verdict=verdict(diff, higher_is_better=higher_is_better))


def compare(base: ModelScores, tuned: ModelScores, rows: list[dict[str, Any]], fmt: DatasetFormat) -> Comparison:
    """Paired comparison of every metric both models have (difference = tuned - base)."""
    table = [_row("loss", base.losses, tuned.losses, higher_is_better=False)]
    if base.pair_correct is not None and tuned.pair_correct is not None:
        table.append(_row("pair accuracy", base.pair_correct, tuned.pair_correct, higher_is_better=True))
    examples: list[dict[str, Any]] = []
    if base.answers is not None and tuned.answers is not None:
        references = [ref[1] for ref in (reference_of(row, fmt) for row in rows) if ref is not None]
        for name, fn in (("exact match", exact_match), ("token F1", token_f1), ("ROUGE-L", rouge_l)):
            table.append(_row(name, [fn(a, r) for a, r in zip(base.answers, references, strict=True)],
                              [fn(a, r) for a, r in zip(tuned.answers, references, strict=True)],
                              higher_is_better=True))
        examples = [{"reference": r, "base": b, "tuned": t}
                    for r, b, t in zip(references, base.answers, tuned.answers, strict=True)]
    return Comparison(n=len(rows), rows=table, base_perplexity=base.perplexity,
                      tuned_perplexity=tuned.perplexity, examples=examples)
