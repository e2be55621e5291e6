"""A run killed with SIGKILL after a checkpoint resumes to the same losses as an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow.training.launch import TrainRequest, train
from workflow.training.runs import RunState, status_of

from .helpers import write_spec

pytestmark = pytest.mark.slow

STEPS = 40


def _losses(run_dir: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


def _cairn(*args: str) -> list[str]:
    return [sys.executable, "-m", "workflow", "train", *args]


def test_sigkill_after_a_checkpoint_then_resume_reaches_the_uninterrupted_losses(
        tmp_path: Path, tiny_model: Path, subprocess_env: dict[str, str]) -> None:
    # Dropout on: the resumed run must also restore the random state, not just the weights.
    overrides = {"adapter": {"dropout": 0.1},
                 "hyperparameters": {"max_steps": STEPS, "batch_size": 4},
                 "datasets": {"eval_file": None, "val_fraction": 0.0},
                 "evaluation": {"eval_steps": 5, "save_steps": 5}}
    killed_spec = write_spec(tmp_path / "killed", tiny_model, **overrides)
    proc = subprocess.Popen(_cairn("--spec", str(killed_spec), "--no-eval"), stderr=subprocess.PIPE, text=True,
                            env=subprocess_env, cwd=tmp_path)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "checkpoint saved at step 5" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    (run_dir,) = (tmp_path / "killed" / "runs").iterdir()
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    assert state["status"] == "running" and not (run_dir / "adapter").exists()
    assert status_of(RunState(**state)) == "dead"  # what `cairn status` shows: its process is gone

    resumed = subprocess.run(_cairn("--spec", str(killed_spec), "--resume", "--no-eval"), capture_output=True,
                             text=True, env=subprocess_env, cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"[sft] training for {STEPS} steps from step " in resumed.stderr
    assert f"run {run_dir.name} finished" in resumed.stdout
    assert json.loads((run_dir / "state.json").read_text(encoding="utf-8"))["summary"]["stages"]["sft"][
        "resumed_from"].startswith("checkpoint-")

    reference_spec = write_spec(tmp_path / "reference", tiny_model, **overrides)
    shutil.rmtree(tmp_path / "reference" / "runs", ignore_errors=True)
    reference = Path(train(TrainRequest(spec_file=reference_spec, evaluate=False, show_bar=False)).data["run_dir"])

    got, want = _losses(run_dir), _losses(reference)
    assert sorted(got) == list(range(1, STEPS + 1))  # steps redone after the checkpoint are logged once
    assert got[STEPS] == pytest.approx(want[STEPS], abs=1e-6)
    assert [got[s] for s in range(1, STEPS + 1)] == pytest.approx([want[s] for s in range(1, STEPS + 1)], abs=1e-6)


def test_resume_with_nothing_unfinished_says_to_start_a_new_run(tmp_path: Path, tiny_model: Path) -> None:
    from workflow.errors import TrainingError

    spec = write_spec(tmp_path, tiny_model)
    with pytest.raises(TrainingError, match="nothing to resume: every run in .* finished .* without --resume"):
        train(TrainRequest(spec_file=spec, resume=True, show_bar=False))


def test_resume_takes_a_new_report_to_and_writes_it_into_the_resolved_config(
        tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.training import launch, trainer

    spec = write_spec(tmp_path, tiny_model)
    run_dir = Path(train(TrainRequest(spec_file=spec, max_steps=1, evaluate=False, show_bar=False)).data["run_dir"])
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    (run_dir / "state.json").write_text(json.dumps({**state, "status": "interrupted"}), encoding="utf-8")
    seen: dict[str, object] = {}
    monkeypatch.setattr(launch, "require_trackers", lambda names: seen.setdefault("checked", names))

    def stop(spec: object, **kwargs: object) -> object:
        seen["resolved"] = kwargs["resolved"]
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "execute", stop)
    with pytest.raises(KeyboardInterrupt):
        train(TrainRequest(spec_file=spec, resume=True, report_to=("tensorboard",), show_bar=False))
    assert seen["checked"] == ["tensorboard"]
    assert seen["resolved"]["stages"]["sft"]["trl"]["report_to"] == ["tensorboard"]  # type: ignore[index]
    on_disk = yaml.safe_load((run_dir / "resolved-config.yaml").read_text(encoding="utf-8"))
    assert on_disk["stages"]["sft"]["trl"]["report_to"] == ["tensorboard"]
    assert on_disk["spec"]["evaluation"]["report_to"] == ["tensorboard"]
