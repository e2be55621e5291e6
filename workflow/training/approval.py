"""The project side of training: the approved spec (DESIGN 8) and recording runs in the sidecar."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from workflow.errors import CairnError, TrainingError
from workflow.training.runs import PHASE_FOLDER

__all__ = ["check_approval", "file_sha256", "monthly_requests", "record_run", "spec_path_of"]

SPEC_FILE = "training-spec.yaml"
PHASE_KEY = "phase_2_training"


def spec_path_of(project_dir: Path) -> Path:
    return project_dir / PHASE_FOLDER / SPEC_FILE


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise TrainingError(f"{path}: cannot read the spec ({exc.strerror}); finish step 5 or pass --spec FILE") \
            from None


def check_approval(project_dir: Path, sidecar: dict[str, Any], spec_path: Path) -> str:
    """The sha256 of an approved, unedited spec. Raises TrainingError saying how to approve it."""
    name = project_dir.name
    training = sidecar.get("training") or {}
    if not spec_path.is_file():
        raise TrainingError(f"{spec_path} does not exist: design the training at step 5 (`cairn chat {name}`), "
                            "or pass --spec FILE")
    digest = file_sha256(spec_path)
    if not training.get("approved"):
        raise TrainingError(f"the training spec of '{name}' is not approved: continue past step 5 in "
                            f"`cairn chat {name}` to approve it, or pass --spec {spec_path} to run it explicitly")
    if training.get("spec_sha256") != digest:
        raise TrainingError(f"{spec_path} was edited after it was approved (sha256 differs): reopen step 5 in "
                            f"`cairn chat {name}` to approve it again, or pass --spec {spec_path} to run it as is")
    return digest


def record_run(project_dir: Path, run_id: str) -> str | None:
    """Append the run to sidecar training.runs and mark the phase trained. Returns a warning, or None.

    A locked or broken sidecar does not undo a finished run: the caller shows the warning.
    """
    from workflow.store import update_sidecar

    def mutate(data: dict[str, Any]) -> None:
        training = data.setdefault("training", {})
        runs = training.setdefault("runs", [])
        if run_id not in runs:
            runs.append(run_id)
        data.setdefault("phases", {})[PHASE_KEY] = "trained"

    try:
        update_sidecar(project_dir, mutate)
    except CairnError as exc:
        return f"run {run_id} finished but sidecar.yaml was not updated: {exc}"
    return None


def monthly_requests(sidecar: dict[str, Any]) -> int | None:
    """The request volume step 1 recorded (answers field `monthly_requests`), if any."""
    for answers in (sidecar.get("answers") or {}).values():
        value = answers.get("monthly_requests") if isinstance(answers, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return int(value)
    return None
