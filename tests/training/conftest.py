from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflow.training.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny local model (hidden 64, 2 layers), built once per test process."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", hidden=64, layers=2, seed=0)


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for `cairn` subprocesses: one CPU thread each, as the runner picks for tiny models."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
