"""Checks for the optional training stack, so a missing package is an install hint, not a traceback."""

from __future__ import annotations

import importlib.util

from workflow.errors import MissingExtra, TrainingError

# Import names of the `train` extra, in the order a user would install them.
TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers")
TRACKER_PACKAGES = {"mlflow": "mlflow", "wandb": "wandb", "tensorboard": "tensorboard"}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def require_training_stack() -> None:
    """Raise MissingExtra naming the first package of the `train` extra that is not installed."""
    for name in TRAIN_PACKAGES:
        if not _installed(name):
            raise MissingExtra("train", name)


def require_4bit() -> None:
    """QLoRA loads the base model in 4 bits through bitsandbytes. Raises TrainingError with the fix."""
    if not _installed("bitsandbytes"):
        raise TrainingError(
            "adapter qlora needs 4-bit loading, but bitsandbytes is not installed: "
            "pip install bitsandbytes (a CUDA GPU or its CPU build), or set adapter.kind to lora"
        )


def require_trackers(names: list[str]) -> None:
    """report_to is passed through to the Trainer; each tracker must be importable."""
    for name in names:
        if not _installed(TRACKER_PACKAGES[name]):
            raise TrainingError(
                f"evaluation.report_to lists {name}, but {name} is not installed: "
                f"pip install {TRACKER_PACKAGES[name]}, or remove it from report_to"
            )
