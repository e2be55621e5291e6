"""Pure translation of a TrainingSpec into TRL and PEFT arguments (plain dicts, printed by --dry-run).

The dicts are turned into `SFTConfig` / `DPOConfig` with `HfArgumentParser.parse_dict(...,
allow_extra_keys=False)`, so a key TRL does not know fails loudly instead of being ignored.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workflow.errors import TrainingError
from workflow.training.spec import TrainingSpec

__all__ = ["Device", "build_lora_config", "build_trl_config", "detect_device", "peft_args", "resolve_precision",
           "trl_args"]

Stage = Literal["sft", "dpo"]


@dataclass(frozen=True, kw_only=True)
class Device:
    kind: Literal["cuda", "mps", "cpu", "unknown"]
    name: str
    bf16: bool
    count: int = 0


def detect_device() -> Device:
    """The accelerator torch sees; `unknown` when torch is not installed (dry runs may still print)."""
    if importlib.util.find_spec("torch") is None:
        return Device(kind="unknown", name="torch not installed", bf16=False)
    import torch

    if torch.cuda.is_available():
        return Device(kind="cuda", name=torch.cuda.get_device_name(0), bf16=torch.cuda.is_bf16_supported(),
                      count=torch.cuda.device_count())
    if torch.backends.mps.is_available():
        return Device(kind="mps", name="Apple MPS", bf16=False, count=1)
    return Device(kind="cpu", name="CPU", bf16=False)


def resolve_precision(spec: TrainingSpec, device: Device) -> Literal["bf16", "fp16", "fp32"]:
    """`auto` picks bf16 where the GPU supports it, fp16 on other GPUs, fp32 on CPU.

    Raises TrainingError when the spec asks for a precision the device cannot do.
    """
    wanted = spec.precision
    accelerated = device.kind in ("cuda", "mps")
    if wanted == "auto":
        if device.kind == "cuda":
            return "bf16" if device.bf16 else "fp16"
        return "fp32"
    if wanted == "bf16" and not device.bf16 and device.kind != "unknown":
        raise TrainingError(f"precision bf16 needs a GPU with bf16 support, and this machine has {device.name}; "
                            "set precision to auto (or fp32 on CPU, fp16 on older GPUs)")
    if wanted == "fp16" and not accelerated and device.kind != "unknown":
        raise TrainingError(f"precision fp16 needs a GPU, and this machine has {device.name}; "
                            "set precision to auto or fp32")
    return wanted


def trl_args(spec: TrainingSpec, *, stage: Stage, output_dir: Path, device: Device, has_eval: bool,
             max_steps: int | None = None, assistant_only_loss: bool = False) -> dict[str, Any]:
    """Keyword arguments of SFTConfig (stage sft) or DPOConfig (stage dpo) for `spec`."""
    hp, ev = spec.hyperparameters, spec.evaluation
    precision = resolve_precision(spec, device)
    on_gpu = device.kind == "cuda"
    early = ev.early_stopping_patience > 0 and has_eval
    args: dict[str, Any] = {
        "output_dir": str(output_dir),
        "seed": spec.seed,
        "data_seed": spec.seed,
        "learning_rate": (hp.dpo_learning_rate or hp.learning_rate) if stage == "dpo" else hp.learning_rate,
        "num_train_epochs": hp.num_epochs,
        "max_steps": max_steps if max_steps is not None else hp.max_steps,
        "per_device_train_batch_size": hp.batch_size,
        "per_device_eval_batch_size": hp.batch_size,
        "gradient_accumulation_steps": hp.grad_accum,
        # warmup_ratio is gone from TrainingArguments: a float below 1 in warmup_steps is read as a ratio.
        "warmup_steps": hp.warmup_ratio,
        "weight_decay": hp.weight_decay,
        "lr_scheduler_type": "linear",
        "max_length": hp.max_length,
        "logging_steps": 1,
        "logging_first_step": True,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": ev.eval_steps,
        "save_strategy": "steps",
        "save_steps": ev.save_steps,
        "save_total_limit": 3,
        "load_best_model_at_end": early,
        "metric_for_best_model": "eval_loss" if early else None,
        "greater_is_better": False if early else None,
        "report_to": list(ev.report_to) or "none",
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": device.kind in ("cpu", "unknown"),
        # TRL turns activation checkpointing on by default; it only saves memory on a GPU, and costs time.
        "activation_checkpointing": on_gpu,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
    if stage == "sft":
        args["packing"] = hp.packing
        args["assistant_only_loss"] = assistant_only_loss
    else:
        args["beta"] = hp.dpo_beta
    return args


def peft_args(spec: TrainingSpec) -> dict[str, Any] | None:
    """Keyword arguments of peft.LoraConfig, or None for a full fine-tune."""
    if not spec.uses_peft:
        return None
    targets = spec.adapter.target_modules
    return {
        "r": spec.adapter.r,
        "lora_alpha": spec.adapter.alpha,
        "lora_dropout": spec.adapter.dropout,
        "target_modules": "all-linear" if targets == ["all-linear"] else list(targets),
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


def build_trl_config(stage: Stage, args: dict[str, Any]) -> Any:
    """SFTConfig / DPOConfig from `args`, rejecting unknown keys. Raises TrainingError."""
    from transformers import HfArgumentParser
    from trl import DPOConfig, SFTConfig

    cls = SFTConfig if stage == "sft" else DPOConfig
    try:
        (config,) = HfArgumentParser(cls).parse_dict(args, allow_extra_keys=False)
    except ValueError as exc:
        raise TrainingError(f"TRL rejected the {stage} settings: {exc}") from None
    return config


def build_lora_config(args: dict[str, Any]) -> Any:
    from peft import LoraConfig

    return LoraConfig(**args)
