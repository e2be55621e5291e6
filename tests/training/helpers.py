"""Spec files for training tests: small, fast settings on the tiny model and the example data."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
TRAIN = EXAMPLES / "tickets-train.jsonl"
EVAL = EXAMPLES / "tickets-eval.jsonl"
TEST = EXAMPLES / "tickets-test.jsonl"
PAIRS = EXAMPLES / "tickets-preference.jsonl"


def spec_dict(base_model: Path | str, **overrides: Any) -> dict[str, Any]:
    """A valid spec (SFT LoRA, one epoch of 20 steps) with `overrides` merged in section by section."""
    spec: dict[str, Any] = {
        "base_model": str(base_model),
        "method": "sft",
        "adapter": {"kind": "lora", "r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["all-linear"]},
        "hyperparameters": {"learning_rate": 0.01, "num_epochs": 1, "batch_size": 8, "grad_accum": 1,
                            "warmup_ratio": 0.0, "max_length": 96},
        "datasets": {"format": "messages", "train_file": str(TRAIN), "eval_file": str(EVAL),
                     "test_file": str(TEST)},
        "evaluation": {"eval_steps": 10, "save_steps": 10, "early_stopping_patience": 0, "max_new_tokens": 4,
                       "max_test_examples": 16},
        "seed": 42,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = copy.deepcopy(value)
    return spec


def write_spec(folder: Path, base_model: Path | str, name: str = "spec.yaml", **overrides: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(spec_dict(base_model, **overrides), sort_keys=False), encoding="utf-8")
    return path
