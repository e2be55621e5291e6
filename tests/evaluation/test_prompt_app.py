"""The README's four-phase loop on examples/prompt-app, offline with its simulated model:
inspect -> baseline run -> change one prompt -> run -> compare."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prompt-app"


def _cairn(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMPT_APP_FAKE": "1", "PROMPT_APP_SEED": "7", "CAIRN_OUTPUT": str(cwd / "output")}
    return subprocess.run([sys.executable, "-m", "workflow", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=300)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    dest = tmp_path / "prompt-app"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_example_loop_finds_both_model_nodes_and_measures_the_prompt_fix(app: Path) -> None:
    inspected = _cairn(["eval", "inspect", ".", "--json"], app)
    assert inspected.returncode == 0, inspected.stderr
    nodes = {n["node"]: n for n in json.loads(inspected.stdout)}
    assert set(nodes) == {"classify", "answer"}
    assert nodes["classify"]["model_calls"][0]["model"]["model"].startswith("openai:gpt-4o-mini")
    assert {"kind": "file", "text": "prompt_app/prompts/answer.txt"}.items() <= \
        nodes["answer"]["model_calls"][0]["prompts"][0].items()

    run = ["eval", "run", "--target", "prompt_app.graph:graph", "--cases", "cases.jsonl", "--output-key", "reply",
           "--repeat", "3", "--concurrency", "4", "--cache-env", "PROMPT_APP_FAKE", "--json"]
    baseline = _cairn([*run, "-o", "runs/baseline"], app)
    assert baseline.returncode == 0, baseline.stderr
    base_summary = json.loads(baseline.stdout)
    assert base_summary["n_records"] == 60 and base_summary["errors"] == 0
    assert base_summary["metrics"]["input_tokens"]["mean"] > 0  # the simulated model reports usage

    prompt = app / "prompt_app" / "prompts" / "classify.txt"
    prompt.write_text(prompt.read_text(encoding="utf-8").replace(
        "billing, technical, account", "billing, technical, account, shipping"), encoding="utf-8")
    changed = _cairn([*run, "-o", "runs/iter-1"], app)
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["cached"] == 0  # the prompt change invalidated the cache

    compared = _cairn(["eval", "compare", "runs/baseline", "runs/iter-1", "--json", "--metric", "pass_rate",
                       "--fail-on-regression"], app)
    assert compared.returncode == 0, compared.stderr
    [pass_rate] = json.loads(compared.stdout)["metrics"]
    # The eight shipping cases flip from fail to pass: exact sign-flip p = 2 / 2^8 plus the slips.
    assert pass_rate["verdict"] == "improved" and pass_rate["p_value"] < 0.05
    assert pass_rate["mean_diff"] == pytest.approx(8 / 20, abs=0.1)
