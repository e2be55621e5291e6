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
from workflow.training.baselines import Distribution, answer_metrics, collapsed, distribution
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
    """Base vs tuned on the test split, with the trivial baselines, the answer distributions and,
    for a multi-stage run, every stage's results."""

    n: int
    rows: list[MetricRow]
    base_perplexity: float
    tuned_perplexity: float
    examples: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> metric -> mean
    distributions: dict[str, Distribution] = field(default_factory=dict)  # reference / base / tuned
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # base and each stage -> metric -> mean
    best_stage: str | None = None
    collapsed: bool = False
    below_trivial: list[str] = field(default_factory=list)  # metrics where tuned is under the best baseline

    @property
    def regressed(self) -> list[str]:
        return [r.name for r in self.rows if r.verdict == "regressed"]

    @property
    def failures(self) -> list[str]:
        """What --fail-on-regression fails on: regressions, a collapse, worse than a trivial baseline."""
        out = [f"worse than the base on {name}" for name in self.regressed]
        if self.collapsed:
            top = self.distributions["tuned"]
            out.append(f"collapsed: {top.top[0][1]} of {top.n} answers are {top.top[0][0]!r}")
        out += [f"worse than a trivial baseline on {name}" for name in self.below_trivial]
        return out

    @property
    def verdict(self) -> str:
        if self.regressed:
            return "regressed"
        if self.collapsed:
            return "collapsed"
        if self.below_trivial:
            return "worse than a trivial baseline"
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


def _means(scores: ModelScores, references: list[str] | None) -> dict[str, float]:
    out = {"loss": sum(scores.losses) / len(scores.losses)} if scores.losses else {}
    if scores.pair_correct:
        out["pair accuracy"] = sum(scores.pair_correct) / len(scores.pair_correct)
    if scores.answers is not None and references is not None:
        out |= {name: sum(v) / len(v) for name, v in answer_metrics(scores.answers, references).items() if v}
    return out


def compare(base: ModelScores, tuned: ModelScores, rows: list[dict[str, Any]], fmt: DatasetFormat, *,
            baselines: dict[str, list[str]] | None = None, stages: dict[str, ModelScores] | None = None
            ) -> Comparison:
    """Paired comparison of every metric both models have (difference = tuned - base), next to the
    trivial `baselines` (name -> answers) and, for several stages, each stage's scores (in order)."""
    table = [_row("loss", base.losses, tuned.losses, higher_is_better=False)]
    if base.pair_correct is not None and tuned.pair_correct is not None:
        table.append(_row("pair accuracy", base.pair_correct, tuned.pair_correct, higher_is_better=True))
    references: list[str] | None = None
    result = Comparison(n=len(rows), rows=table, base_perplexity=base.perplexity, tuned_perplexity=tuned.perplexity)
    if base.answers is not None and tuned.answers is not None:
        references = [ref[1] for ref in (reference_of(row, fmt) for row in rows) if ref is not None]
        base_values, tuned_values = answer_metrics(base.answers, references), answer_metrics(tuned.answers, references)
        for name in base_values:
            table.append(_row(name, base_values[name], tuned_values[name], higher_is_better=True))
        result.examples = [{"reference": r, "base": b, "tuned": t}
                           for r, b, t in zip(references, base.answers, tuned.answers, strict=True)]
        result.baselines = {name: {metric: sum(v) / len(v) for metric, v in answer_metrics(answers, references).items()}
                            for name, answers in (baselines or {}).items()}
        result.distributions = {"reference": distribution(references), "base": distribution(base.answers),
                                "tuned": distribution(tuned.answers)}
        result.collapsed = collapsed(result.distributions["tuned"], result.distributions["reference"])
        tuned_means = {r.name: r.tuned for r in table}
        for metric in ("exact match", "token F1"):
            best = max((b[metric] for b in result.baselines.values()), default=None)
            if best is not None and tuned_means[metric] < best:
                result.below_trivial.append(metric)
    if stages and len(stages) > 1:
        result.stages = {"base": _means(base, references)} | {name: _means(scores, references)
                                                               for name, scores in stages.items()}
        primary, sign = ("exact match", 1) if references is not None else ("loss", -1)
        trained = {name: means for name, means in result.stages.items() if name != "base" and primary in means}
        result.best_stage = max(trained, key=lambda name: sign * trained[name][primary]) if trained else None
    return result
