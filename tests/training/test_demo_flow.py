"""The documented demo: design with the shipped pack, approve at step 5, then `cairn train`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def cairn(args: list[str], out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config = out.parent / "no-knowledge.yaml"
    config.write_text("knowledge: {enabled: false}\n", encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "workflow", "--output", str(out), "--config", str(config), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_chat_approves_the_spec_then_train_runs_it_and_marks_the_phase_trained(
        tiny_model: Path, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    out = tmp_path / "output"
    assert cairn(["new", "demo"], out, subprocess_env).returncode == 0
    chat = cairn(["chat", "demo", "--answers", "examples/answers-fine-tuning.yaml", "--set",
                  f"base_model={tiny_model}", "--set", "5.max_length=128", "--yes"], out, subprocess_env)
    assert chat.returncode == 0, chat.stderr
    sidecar = yaml.safe_load((out / "demo" / "sidecar.yaml").read_text(encoding="utf-8"))
    assert sidecar["training"]["approved"] is True

    spec = out / "demo" / "phase-2-training" / "training-spec.yaml"
    edited = spec.read_text(encoding="utf-8")
    spec.write_text(edited + "\n# edited by hand\n", encoding="utf-8")
    refused = cairn(["train", "demo", "--max-steps", "2", "--no-eval"], out, subprocess_env)
    assert refused.returncode == 1 and "approv" in refused.stderr.lower()
    spec.write_text(edited, encoding="utf-8")

    run = cairn(["train", "demo", "--max-steps", "4", "--no-eval"], out, subprocess_env)
    assert run.returncode == 0, run.stderr
    sidecar = yaml.safe_load((out / "demo" / "sidecar.yaml").read_text(encoding="utf-8"))
    assert sidecar["phases"]["phase_2_training"] == "trained"
    run_id = sidecar["training"]["runs"][-1]
    run_dir = out / "demo" / "phase-2-training" / "runs" / run_id
    assert (run_dir / "adapter").is_dir() and (run_dir / "report.md").is_file()
    status = cairn(["status", "demo", "--json"], out, subprocess_env)
    assert yaml.safe_load(status.stdout)["last_run"]["run_id"] == run_id
