"""`cairn train` and `cairn tiny-model` through the real entry point: output, exit codes, messages."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn

from .helpers import write_spec

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cairn(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    """Run `cairn ARGS...` in process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("CAIRN_OUTPUT", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        return run_cairn(list(args), capsys, monkeypatch)

    return run


def test_help_lists_train_and_tiny_model(cairn: Run) -> None:
    code, out, _ = cairn("--help")
    assert code == 0 and "train" in out and "tiny-model" in out
    code, out, _ = cairn("train", "--help")
    for option in ("--spec", "--dry-run", "--estimate", "--max-steps", "--resume", "--merge", "--no-eval",
                   "--fail-on-regression"):
        assert option in out


def test_training_cli_module_imports_only_typer_at_top_level() -> None:
    import subprocess

    code = ("import sys, workflow.training.cli; "
            "print(sorted(m for m in ('torch','transformers','trl','peft','datasets','matplotlib','numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tiny_model_builds_a_chat_model_with_generation_markers(cairn: Run, tmp_path: Path) -> None:
    code, out, _ = cairn("tiny-model", str(tmp_path / "tiny"), "--hidden", "32", "--layers", "1")
    assert code == 0 and "tiny model written to" in out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "tiny")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "tiny")
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
    chat = [{"role": "user", "content": "my card was charged twice"}, {"role": "assistant", "content": "billing"}]
    encoded = tokenizer.apply_chat_template(chat, return_dict=True, return_assistant_tokens_mask=True)
    answer = [t for t, m in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(answer) == "billing<|im_end|>"


def test_dry_run_prints_configs_and_estimate_without_loading_a_model(cairn: Run, tmp_path: Path,
                                                                     tiny_model: Path) -> None:
    weightless = tmp_path / "weightless"
    shutil.copytree(tiny_model, weightless, ignore=shutil.ignore_patterns("*.safetensors"))
    spec = write_spec(tmp_path, weightless)
    code, out, err = cairn("train", "--spec", str(spec), "--dry-run")
    assert code == 0, err
    assert "# Dry run: nothing was loaded or trained" in out
    assert "  sft:\n    trl:\n" in out and "assistant_only_loss: true" in out and "lora_alpha: 16" in out
    assert "sft_train: 160" in out and "test: 32" in out
    assert "accelerate launch --multi_gpu --num_processes GPUS_PER_NODE -m workflow --output " in out
    assert f"train --spec {spec.resolve()} --run-id" in out
    assert "### Cost estimate" in out and not (tmp_path / "runs").exists()
    code, out, _ = cairn("train", "--spec", str(spec), "--dry-run", "--json")
    data = json.loads(out)
    assert data["stages"]["sft"]["peft"]["target_modules"] == "all-linear" and data["accelerate"]


def test_estimate_uses_params_and_monthly_requests_options(cairn: Run, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "some/model")
    code, out, _ = cairn("train", "--spec", str(spec), "--estimate", "--params", "1000000000",
                         "--monthly-requests", "5000")
    assert code == 0
    assert "Parameters (N): 1,000,000,000 (given with --params)" in out and "12 months at 5,000 requests" in out


def test_bad_spec_is_one_line_error_and_exit_1(cairn: Run, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "m", hyperparameters={"learning_rate": 3.0})
    code, out, err = cairn("train", "--spec", str(spec), "--dry-run")
    assert code == 1 and out == ""
    assert err.startswith(f"error: {spec}: field 'hyperparameters.learning_rate': 3 is outside the sane range")
    assert "Traceback" not in err


def test_bad_data_is_reported_before_any_model_is_loaded(cairn: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
                   '{"text": 3}\n', encoding="utf-8")
    spec = write_spec(tmp_path, tmp_path / "no-model-here", datasets={"train_file": str(bad)})
    code, _, err = cairn("train", "--spec", str(spec))
    assert code == 1 and err.startswith(f"error: {bad} line 2: ") and "cannot load" not in err


def test_nothing_to_train_without_project_or_spec(cairn: Run) -> None:
    code, _, err = cairn("train")
    assert code == 1 and "error: nothing to train: give a PROJECT, or --spec FILE" in err


def test_missing_train_extra_gives_the_install_hint(cairn: Run, tmp_path: Path, tiny_model: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.training import deps

    monkeypatch.setattr(deps, "_installed", lambda name: name != "trl")
    spec = write_spec(tmp_path, tiny_model)
    code, _, err = cairn("train", "--spec", str(spec))
    hint = "error: trl is not installed. Install the 'train' extra: pip install 'cairn[train]'"
    assert code == 1 and err.strip() == hint
    code, _, err = cairn("tiny-model", str(tmp_path / "t"))
    assert code == 1 and "pip install 'cairn[train]'" in err


def test_bad_run_id_is_refused(cairn: Run, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "m")
    code, _, err = cairn("train", "--spec", str(spec), "--run-id", "../escape")
    assert code == 1 and "--run-id '../escape': use letters, digits and '-'" in err


def test_report_to_option_reaches_trl_and_is_checked(cairn: Run, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.training import deps

    installed = deps._installed
    monkeypatch.setattr(deps, "_installed", lambda name: name != "tensorboard" and installed(name))
    spec = write_spec(tmp_path, "m")
    code, out, err = cairn("train", "--spec", str(spec), "--dry-run", "--json", "--report-to", "tensorboard")
    assert code == 0, err
    data = json.loads(out)
    assert data["stages"]["sft"]["trl"]["report_to"] == ["tensorboard"]
    assert any("tensorboard is not installed" in note for note in data["notes"])
    code, _, err = cairn("train", "--spec", str(spec), "--dry-run", "--report-to", "neptune")
    assert code == 1 and "--report-to neptune: use mlflow, wandb or tensorboard" in err


def test_several_processes_without_a_shared_run_id_are_refused(cairn: Run, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = cairn("train", "--spec", str(write_spec(tmp_path, "m")))
    assert code == 1 and "need one shared run id: add --run-id" in err


def test_tiny_model_from_a_missing_gguf_says_what_to_install(cairn: Run, tmp_path: Path) -> None:
    code, _, err = cairn("tiny-model", str(tmp_path / "m"), "--from-gguf", str(tmp_path / "nope.gguf"))
    assert code == 1 and "nope.gguf: no such file" in err and "Traceback" not in err
    code, _, err = cairn("tiny-model", str(tmp_path / "m"), "--from-gguf", "llm-not-a-real-package")
    assert code == 1 and "pip install llm-not-a-real-package" in err
