"""A facilitator run killed with SIGKILL mid-step, then run again, ends like an uninterrupted run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from tests.conftest import MINI

VOLATILE = {"created", "lastContinued", "approved_at", "date"}


def cairn(out: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CAIRN_OUTPUT": str(out)}
    return subprocess.Popen([sys.executable, "-m", "workflow", *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def snapshot(folder: Path) -> dict:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".cairn" not in path.parts:
            rel = path.relative_to(folder).as_posix()
            text = path.read_text(encoding="utf-8")
            if rel == "sidecar.yaml":
                files[rel] = strip(yaml.safe_load(text))
            else:
                files[rel] = re.sub(r"\d{4}-\d{2}-\d{2}(T[\d:]+Z)?", "DATE", text)
    return files


def run_to_end(out: Path, name: str, answers: Path) -> None:
    proc = cairn(out, "chat", name, "--answers", str(answers), "--yes")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout + stderr


def test_sigkill_mid_run_then_rerun_ends_identical_to_an_uninterrupted_run(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text('use_case: triage\narchitecture: hybrid\n"4": {decision: GO}\n"1": {notes: [check]}\n',
                       encoding="utf-8")
    partial = tmp_path / "partial.yaml"  # everything up to step 4, each menu answered explicitly
    partial.write_text('use_case: triage\narchitecture: hybrid\nmonthly_requests: 1000\nbase_model: tiny\n'
                       'lora_r: 8\ntop_k: 5\n"1": {notes: [check], menu: [C]}\n"2": {menu: [C]}\n'
                       '"3": {menu: [C]}\n', encoding="utf-8")
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    for out in (out_a, out_b):
        subprocess.run([sys.executable, "-m", "workflow", "--output", str(out), "new", "p", "--pack", str(MINI),
                        "--user", "u"], check=True, capture_output=True)
    run_to_end(out_a, "p", answers)

    # Without --yes the run asks on stdin for what the file lacks: it blocks at step 4's first question.
    proc = cairn(out_b, "chat", "p", "--answers", str(partial))
    assert proc.stdout is not None
    watchdog = threading.Timer(90, proc.kill)  # a missing line fails the test instead of hanging it
    watchdog.start()
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Blockers?"):
            break
    assert any("Step 3 (Retrieval) complete" in line for line in seen), "".join(seen)
    watchdog.cancel()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert yaml.safe_load((out_b / "p" / "sidecar.yaml").read_text(encoding="utf-8"))["currentStep"] == "4"

    run_to_end(out_b, "p", answers)
    assert snapshot(out_b / "p") == snapshot(out_a / "p")


def test_ctrl_c_saves_exits_130_and_the_next_chat_resumes_at_the_same_question(tmp_path: Path) -> None:
    out = tmp_path / "o"
    subprocess.run([sys.executable, "-m", "workflow", "--output", str(out), "new", "p", "--pack", str(MINI)],
                   check=True, capture_output=True)
    proc = cairn(out, "chat", "p")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("support bot\n")
    proc.stdin.flush()
    watchdog = threading.Timer(90, proc.kill)
    watchdog.start()
    for line in proc.stdout:
        if line.startswith("Architecture?"):
            break
    watchdog.cancel()
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "progress saved" in stdout
    again = cairn(out, "chat", "p")
    stdout, _ = again.communicate("", timeout=60)
    lines = stdout.splitlines()
    first_question = next(line for line in lines if "?" in line and not line.startswith(("│", "╭")))
    assert first_question.startswith("Architecture?"), stdout


def test_a_run_killed_on_a_return_visit_goes_on_with_that_visits_answers(tmp_path: Path) -> None:
    # Step 4 sends the project back to step 1 on the first visit and says GO on the return. The
    # second entry lacks `blockers`, so without --yes the run waits on stdin there: it is killed.
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        'use_case: triage\narchitecture: rag-only\nmonthly_requests: 1000\ntop_k: 5\n'
        '"1": {menu: [C]}\n"3": {menu: [C]}\n'
        '"4": [{blockers: [], decision: REVISE, revise_to: "1", menu: [C]}, {decision: GO, menu: [C]}]\n',
        encoding="utf-8")
    out = tmp_path / "o"
    subprocess.run([sys.executable, "-m", "workflow", "--output", str(out), "new", "p", "--pack", str(MINI)],
                   check=True, capture_output=True)
    proc = cairn(out, "chat", "p", "--answers", str(answers))
    assert proc.stdout is not None
    watchdog = threading.Timer(90, proc.kill)
    watchdog.start()
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if sum(s.startswith("Blockers?") for s in seen) == 2:  # step 4's return visit waits here
            break
    watchdog.cancel()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    sidecar = yaml.safe_load((out / "p" / "sidecar.yaml").read_text(encoding="utf-8"))
    assert sidecar["currentStep"] == "4" and sidecar["visits"]["4"] == 1, "".join(seen)

    again = cairn(out, "chat", "p", "--answers", str(answers))
    stdout, stderr = again.communicate("\n", timeout=120)  # Enter: no blockers
    assert again.returncode == 0, stdout + stderr
    sidecar = yaml.safe_load((out / "p" / "sidecar.yaml").read_text(encoding="utf-8"))
    assert sidecar["workflow_status"] == "complete"
    assert sidecar["answers"]["4"]["decision"] == "GO"
    assert sidecar["visits"]["4"] == 2 and sidecar["visits"]["1"] == 2, "no second REVISE on the rerun"
    assert not (out / "p" / ".cairn" / "answers-run.json").exists(), "a finished run leaves nothing to resume"
