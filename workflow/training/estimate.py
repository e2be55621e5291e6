"""The training cost estimate (`cairn train --estimate`, and `{{ cost_estimate }}` at step 5). No torch.

Assumptions, all stated in the markdown:
- tokens ≈ characters / 4 (BPE tokenizers on English text), plus 4 tokens of chat markup per
  message, each example capped at max_length;
- training FLOPs ≈ 6 × N × tokens for full fine-tuning (forward 2N, backward 4N). With LoRA or
  QLoRA the frozen weights need no weight gradients, but the backward pass still propagates
  activation gradients through them: ≈ 4 × N × tokens (2/3 of full); adapter FLOPs are
  negligible at small rank. DPO runs the policy on chosen and rejected answers and adds a
  reference forward pass (2 × N per token);
  QLoRA runs with activation checkpointing (that is how it fits), which recomputes the forward
  pass: ≈ 6 × N × tokens, at no more than 20% model FLOPs utilisation (dequantising the 4-bit
  weights on every matmul), the realistic planning figure;
- GPU time = FLOPs / (peak dense bf16 FLOP/s × model FLOPs utilisation from config.yaml).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workflow.config import CostConfig
from workflow.data.formats import DatasetFormat
from workflow.training.params import count_params
from workflow.training.spec import TrainingSpec

__all__ = ["CostEstimate", "GPU_SPECS", "GpuEstimate", "estimate_cost", "estimate_markdown"]

CHARS_PER_TOKEN = 4.0
QLORA_UTILISATION = 0.20
TOKENS_PER_MESSAGE = 4
HOURS_PER_MONTH = 730.0
# Peak dense bf16 (fp16 where the card has no bf16) tensor TFLOP/s and memory in GB, from vendor sheets.
GPU_SPECS: dict[str, tuple[float, float]] = {
    "T4": (65.0, 16.0), "V100": (125.0, 16.0), "L4": (121.0, 24.0), "A10G": (70.0, 24.0), "A10": (125.0, 24.0),
    "RTX4090": (165.0, 24.0), "L40S": (362.0, 48.0), "A100-40GB": (312.0, 40.0), "A100-80GB": (312.0, 80.0),
    "A100": (312.0, 80.0), "H100": (989.0, 80.0), "H200": (989.0, 141.0),
}
# Training memory per parameter (weights, gradients, optimizer state), activations excluded.
_TRAIN_BYTES = {"none": 16.0, "lora": 2.0, "qlora": 0.6}
_SERVE_BYTES = 2.0  # bf16 weights for inference
_OVERHEAD = 1.2


@dataclass(frozen=True, kw_only=True)
class GpuEstimate:
    gpu: str
    peak_tflops: float | None
    hours: float | None
    cost_usd: float | None
    fits: bool | None  # weights and optimizer state fit on one card


@dataclass(frozen=True, kw_only=True)
class CostEstimate:
    params: int | None
    params_source: str
    train_tokens: int | None
    tokens_source: str
    flops: float | None
    flops_per_token_factor: float
    utilisation: float
    gpus: list[GpuEstimate] = field(default_factory=list)
    monthly_requests: int | None = None
    api_usd_per_request: float = 0.0
    api_12_months_usd: float | None = None
    serving_gpu: str | None = None
    serving_12_months_usd: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _content_chars(value: Any) -> tuple[int, int]:
    """(characters, messages) of a string or a list of chat messages."""
    if isinstance(value, str):
        return len(value), 0
    if isinstance(value, list):
        chars = sum(len(m.get("content") or "") for m in value if isinstance(m, dict)
                    if isinstance(m.get("content", ""), str))
        return chars, len(value)
    return 0, 0


def _approx_tokens(value: Any) -> int:
    chars, messages = _content_chars(value)
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * messages


def _example_tokens(obj: dict[str, Any], fmt: DatasetFormat, max_length: int) -> int:
    """Tokens the trainer runs per example (for preference data: prompt twice, both answers)."""
    if fmt == DatasetFormat.PREFERENCE:
        prompt = _approx_tokens(obj.get("prompt", ""))
        chosen = min(max_length, prompt + _approx_tokens(obj.get("chosen", "")))
        rejected = min(max_length, prompt + _approx_tokens(obj.get("rejected", "")))
        return chosen + rejected
    if fmt == DatasetFormat.PROMPT_COMPLETION:
        total = _approx_tokens(obj.get("prompt", "")) + _approx_tokens(obj.get("completion", ""))
    elif fmt == DatasetFormat.TEXT:
        total = _approx_tokens(obj.get("text", ""))
    else:
        total = _approx_tokens(obj.get("messages", []))
    return min(max_length, total)


def _file_tokens(path: Path, fmt: DatasetFormat, max_length: int) -> tuple[int, int]:
    """(examples, tokens) of a JSONL file; unparseable lines are skipped (validation reports them)."""
    examples = tokens = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                examples += 1
                tokens += _example_tokens(obj, fmt, max_length)
    return examples, tokens


def _stage_tokens(spec: TrainingSpec, path: Path, fmt: DatasetFormat, *, carve: float) -> tuple[int, int]:
    """(examples, tokens) the stage trains on over all epochs or max_steps."""
    hp = spec.hyperparameters
    examples, tokens = _file_tokens(path, fmt, hp.max_length)
    examples = max(0, round(examples * (1.0 - carve)))
    per_epoch = tokens * (1.0 - carve)
    if hp.max_steps > 0:
        seen = hp.max_steps * hp.batch_size * hp.grad_accum
        mean = hp.max_length if hp.packing else (per_epoch / examples if examples else 0.0)
        return examples, int(seen * mean)
    return examples, int(per_epoch * hp.num_epochs)


def _token_plan(spec: TrainingSpec) -> tuple[int | None, int, str]:
    """(sft_tokens, dpo_tokens, how they were counted); None when a file cannot be read."""
    data = spec.datasets
    sft = dpo = 0
    carve_sft = (0.0 if data.eval_file else data.val_fraction) + (0.0 if data.test_file else data.test_fraction)
    pref = spec.preference_path
    try:
        if spec.method != "dpo":
            _, sft = _stage_tokens(spec, data.train_file, data.format, carve=carve_sft)
        if spec.method != "sft" and pref is not None:
            carve = carve_sft if pref == data.train_file else data.val_fraction
            _, dpo = _stage_tokens(spec, pref, DatasetFormat.PREFERENCE, carve=carve)
    except (OSError, UnicodeDecodeError) as exc:
        where = getattr(exc, "filename", None) or "a dataset file"
        return None, 0, f"cannot read {where} yet: {getattr(exc, 'strerror', None) or exc}"
    return sft, dpo, (f"counted from the dataset files at ~{CHARS_PER_TOKEN:g} characters per token "
                      f"(+{TOKENS_PER_MESSAGE} per chat message), capped at max_length, times epochs or steps")


def _cheapest(costs: CostConfig, gigabytes: float) -> str | None:
    fitting = [(price, gpu) for gpu, price in costs.gpu_hourly_usd.items()
               if gpu in GPU_SPECS and GPU_SPECS[gpu][1] >= gigabytes]
    return min(fitting)[1] if fitting else None


def estimate_cost(spec: TrainingSpec, *, costs: CostConfig, params: int | None = None,
                  monthly_requests: int | None = None, spec_dir: Path | None = None) -> CostEstimate:
    """Tokens, FLOPs, GPU hours and cost of `spec`, and the 12-month API comparison.

    Never raises for a validated spec: what cannot be known is None with a note.
    """
    count = count_params(spec.base_model, override=params, spec_dir=spec_dir)
    sft_tokens, dpo_tokens, tokens_source = _token_plan(spec)
    factor = {"none": 6.0, "lora": 4.0, "qlora": 6.0}[spec.adapter.kind]
    notes: list[str] = []
    utilisation = costs.utilisation
    if spec.adapter.kind == "qlora":
        utilisation = min(utilisation, QLORA_UTILISATION)
        notes.append(f"QLoRA: activation checkpointing recomputes the forward pass (6 × N × tokens) and the 4-bit "
                     f"weights are dequantised on every matmul, so at most {QLORA_UTILISATION:.0%} model FLOPs "
                     "utilisation is assumed.")
    train_tokens = None if sft_tokens is None else sft_tokens + dpo_tokens
    flops = None
    if count.params is not None and sft_tokens is not None:
        # DPO adds a reference forward pass (2N per token) on top of the policy's forward and backward.
        flops = count.params * (factor * sft_tokens + (factor + 2.0) * dpo_tokens)
    gpus: list[GpuEstimate] = []
    need_gb = count.params * _TRAIN_BYTES[spec.adapter.kind] * _OVERHEAD / 1e9 if count.params else None
    for gpu, price in costs.gpu_hourly_usd.items():
        peak, memory = GPU_SPECS.get(gpu, (None, None))
        hours = flops / (peak * 1e12 * utilisation) / 3600.0 if flops is not None and peak else None
        fits = None if need_gb is None or memory is None else need_gb <= memory
        gpus.append(GpuEstimate(gpu=gpu, peak_tflops=peak, hours=hours,
                                cost_usd=None if hours is None else hours * price, fits=fits))
    per_request = (costs.tokens_per_request_in / 1000.0 * costs.api_usd_per_1k_input_tokens
                   + costs.tokens_per_request_out / 1000.0 * costs.api_usd_per_1k_output_tokens)
    api_12 = serving_12 = None
    serving_gpu = None
    if monthly_requests is not None:
        api_12 = per_request * monthly_requests * 12
        if count.params is not None:
            serving_gpu = _cheapest(costs, count.params * _SERVE_BYTES * _OVERHEAD / 1e9)
            if serving_gpu is not None:
                serving_12 = costs.gpu_hourly_usd[serving_gpu] * HOURS_PER_MONTH * 12
    return CostEstimate(
        params=count.params, params_source=count.source, train_tokens=train_tokens, tokens_source=tokens_source,
        flops=flops, flops_per_token_factor=factor, utilisation=utilisation, gpus=gpus,
        monthly_requests=monthly_requests, api_usd_per_request=per_request, api_12_months_usd=api_12,
        serving_gpu=serving_gpu, serving_12_months_usd=serving_12, notes=notes,
    )


def _sig(value: float | None, digits: int = 3) -> str:
    """Significant digits, plain notation for everyday sizes, scientific for huge or tiny ones."""
    if value is None:
        return "unknown"
    if value == 0:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.{digits - 1}e}"
    return f"{value:,.{max(0, digits - 1 - math.floor(math.log10(abs(value))))}f}"


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if value >= 1 else f"${_sig(value, 2)}"


def _cheapest_training(est: CostEstimate) -> GpuEstimate | None:
    priced = [g for g in est.gpus if g.cost_usd is not None and g.fits is not False]
    return min(priced, key=lambda g: g.cost_usd or 0.0) if priced else None


def _comparison(est: CostEstimate, costs: CostConfig) -> list[str]:
    if est.monthly_requests is None:
        return ["", "Request volume unknown (step 1 gave none): pass `--monthly-requests N` to compare 12 months "
                "of the fine-tuned model against the prompting/RAG alternative."]
    best = _cheapest_training(est)
    train = best.cost_usd if best else None
    lines = ["", f"12 months at {est.monthly_requests:,} requests a month "
             f"({costs.tokens_per_request_in} tokens in, {costs.tokens_per_request_out} out per request):", "",
             "| option | one-off | 12 months of use | total |", "| --- | --- | --- | --- |",
             f"| prompting/RAG via API (${est.api_usd_per_request:.5f} a request) | $0 | "
             f"{_usd(est.api_12_months_usd)} | {_usd(est.api_12_months_usd)} |"]
    if est.serving_12_months_usd is not None and train is not None:
        lines.append(f"| fine-tuned, trained on {best.gpu if best else '?'}, served on one {est.serving_gpu} "
                     f"around the clock | {_usd(train)} | {_usd(est.serving_12_months_usd)} | "
                     f"{_usd(train + est.serving_12_months_usd)} |")
        lines += ["", "Serving assumes one GPU around the clock with capacity to spare; busier traffic needs more "
                  "replicas, and retraining adds the one-off cost again."]
    else:
        lines.append("| fine-tuned | unknown | unknown | unknown |")
    return lines


def estimate_markdown(spec: TrainingSpec, *, costs: CostConfig, params: int | None = None,
                      monthly_requests: int | None = None, spec_dir: Path | None = None) -> str:
    """The estimate as a markdown section (no heading level above ###). Never raises for a validated spec."""
    est = estimate_cost(spec, costs=costs, params=params, monthly_requests=monthly_requests, spec_dir=spec_dir)
    method = {"none": "full fine-tuning: 6 × N × tokens", "lora": "LoRA: ≈ 4 × N × tokens — the frozen weights "
              "need no weight gradients, but the backward pass still runs through them (≈ 2/3 of full fine-tuning)",
              "qlora": "QLoRA: ≈ 6 × N × tokens — LoRA's 4 × N plus 2 × N to recompute activations"}
    lines = [
        "### Cost estimate", "",
        f"- Parameters (N): {_count(est.params)} ({est.params_source})",
        f"- Training tokens: {_count(est.train_tokens)} ({est.tokens_source})",
        f"- FLOPs: {_sig(est.flops)} ({method[spec.adapter.kind]}"
        + ("; DPO adds a reference forward pass, 2 × N per token, on chosen and rejected answers" if
           spec.method != "sft" else "") + ")",
        f"- GPU time at {est.utilisation:.0%} model FLOPs utilisation (config.yaml `costs.utilisation`"
        + (", capped for QLoRA" if spec.adapter.kind == "qlora" else "") + "):", "",
        "| GPU | peak bf16 TFLOP/s | hours | cost (USD) | fits on one card |", "| --- | --- | --- | --- | --- |",
    ]
    for g in est.gpus:
        fits = {True: "yes", False: "no", None: "unknown"}[g.fits]
        lines.append(f"| {g.gpu} | {_sig(g.peak_tflops)} | {_sig(g.hours)} | {_usd(g.cost_usd)} | {fits} |")
    lines += ["", "Memory rule of thumb for \"fits\": 16 bytes a parameter for full fine-tuning with Adam, 2 for "
              "LoRA on bf16 weights, 0.6 for QLoRA, plus 20%; activations come on top."]
    lines += [f"- {note}" for note in est.notes]
    lines += _comparison(est, costs)
    return "\n".join(lines) + "\n"
