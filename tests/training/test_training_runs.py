"""Real CPU training runs on the tiny model: SFT, DPO, SFT then DPO, early stopping, merge, full fine-tune."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from workflow.errors import TrainingError
from workflow.training.launch import TrainRequest, train

from .helpers import PAIRS, write_spec

pytestmark = pytest.mark.slow


def _metrics(run_dir: Path, stage: str) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["stage"] == stage]


def test_sft_lora_run_writes_the_run_layout_and_beats_the_base_with_a_ci(tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model)
    result = train(TrainRequest(spec_file=spec, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    assert run_dir.parent == tmp_path / "runs" and result.data["status"] == "finished"
    for name in ("resolved-config.yaml", "metrics.jsonl", "report.md", "adapter/adapter_model.safetensors",
                 "checkpoints/sft/checkpoint-20/trainer_state.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    train_losses = [r["loss"] for r in _metrics(run_dir, "sft") if "loss" in r]
    assert len(train_losses) == 20 and train_losses[-1] < train_losses[0]
    resolved = yaml.safe_load((run_dir / "resolved-config.yaml").read_text(encoding="utf-8"))
    assert resolved["stages"]["sft"]["trl"]["assistant_only_loss"] is True
    assert resolved["stages"]["sft"]["trl"]["use_cpu"] is True and resolved["precision"] == "fp32"
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    loss_row = next(line for line in report.splitlines() if line.startswith("| loss (lower is better)"))
    cells = [c.strip() for c in loss_row.split("|")[1:-1]]
    base, tuned, diff = float(cells[1]), float(cells[2]), float(cells[3])
    low, high = (float(x) for x in cells[4].strip("[]").split(","))
    assert tuned < base and low <= diff <= high < 0 and cells[6] == "improved"
    assert "| exact match (higher is better)" in report and "| ROUGE-L (higher is better)" in report
    # Lower loss, but 20 steps on a 0.1M-parameter model answer 'shipping' to most items: the report says so.
    assert result.data["verdict"] == "collapsed" and "![loss curves](loss.png)" in report
    assert "COLLAPSE: the tuned model answers 'shipping' for 12 of 16 test items" in report
    assert "| metric | most frequent train answer ('shipping', 29% of train) | copy of the prompt | base | tuned |" \
        in report
    assert "WORSE THAN TRIVIAL: tuned exact match 0.1250 is below the baseline most frequent train answer" in report


def test_dpo_run_starts_from_the_base_as_its_own_reference(tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, method="dpo",
                      datasets={"format": "preference", "train_file": str(PAIRS), "eval_file": None,
                                "test_file": None, "val_fraction": 0.1, "test_fraction": 0.15},
                      evaluation={"eval_steps": 2, "save_steps": 2})
    result = train(TrainRequest(spec_file=spec, max_steps=3, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    first = _metrics(run_dir, "dpo")[0]
    # A fresh LoRA is zero at step 1, so policy == reference (base with the adapter disabled): loss = ln 2.
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert "| pair accuracy (higher is better)" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_sft_then_dpo_uses_the_sft_policy_as_the_dpo_reference(tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, method="sft-then-dpo",
                      datasets={"preference_file": str(PAIRS), "val_fraction": 0.1},
                      evaluation={"eval_steps": 3, "save_steps": 3, "max_test_examples": 8})
    result = train(TrainRequest(spec_file=spec, max_steps=6, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    assert result.data["stages"]["sft"]["steps"] == 6 and result.data["stages"]["dpo"]["steps"] == 6
    # The SFT adapter has moved away from the base; DPO still starts at ln 2, so its reference is the
    # SFT policy (a frozen copy), not the base.
    assert _metrics(run_dir, "dpo")[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert (run_dir / "sft-adapter" / "adapter_model.safetensors").is_file()
    assert not (run_dir / "adapter" / "ref").exists()  # TRL's frozen copy is not part of the result
    resolved = yaml.safe_load((run_dir / "resolved-config.yaml").read_text(encoding="utf-8"))
    assert resolved["stages"]["dpo"]["reference_model"].startswith("frozen copy of the SFT adapter")
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "- sft: 6 of 6 steps" in report and "- dpo: 6 of 6 steps" in report
    # Every stage is tested, next to the trivial baselines, and the better one named.
    header = next(line for line in report.splitlines() if line.startswith("| metric | most frequent train answer"))
    assert header.endswith("| copy of the prompt | base | sft | dpo |")
    assert "Best stage: **" in report
    for name in ("torch", "transformers", "trl", "peft"):
        assert f"{name} " in next(line for line in report.splitlines() if line.startswith("- Libraries:"))


def test_early_stopping_ends_the_run_when_eval_loss_stops_improving(tmp_path: Path, tiny_model: Path) -> None:
    # A threshold no step can beat: after the first evaluation every one counts as "no improvement".
    spec = write_spec(tmp_path, tiny_model, hyperparameters={"num_epochs": 5},
                      evaluation={"eval_steps": 2, "save_steps": 2, "early_stopping_patience": 2,
                                  "early_stopping_threshold": 100.0})
    result = train(TrainRequest(spec_file=spec, evaluate=False, show_bar=False))
    sft = result.data["stages"]["sft"]
    assert sft["stopped_early"] is True and sft["steps"] == 6 and sft["max_steps"] == 100
    run_dir = Path(result.data["run_dir"])
    assert "(stopped early)" in (run_dir / "report.md").read_text(encoding="utf-8")
    evals = [r["eval_loss"] for r in _metrics(run_dir, "sft") if "eval_loss" in r]
    assert len(evals) == 3 and sft["best_eval_loss"] == pytest.approx(min(evals))
    # The best checkpoint is put back before saving; the report quotes its loss, not the last one.
    assert sft["restored_checkpoint"] == f"checkpoint-{2 * (evals.index(min(evals)) + 1)}"
    assert sft["saved_eval_loss"] == pytest.approx(min(evals))
    assert f"restored {sft['restored_checkpoint']} (the best eval loss)" in (run_dir / "report.md").read_text(
        encoding="utf-8")


def test_merge_saves_a_model_equal_to_base_plus_adapter(tmp_path: Path, tiny_model: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    spec = write_spec(tmp_path, tiny_model)
    result = train(TrainRequest(spec_file=spec, max_steps=3, merge=True, evaluate=False, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    ids = torch.tensor([[5, 6, 7, 8]])
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "merged")
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), run_dir / "adapter")
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        got, want, untouched = (m(ids).logits for m in (merged, adapted, base))
    assert torch.allclose(got, want, atol=1e-4) and not torch.allclose(got, untouched, atol=1e-3)


def test_full_fine_tune_saves_the_whole_model_and_compares_it(tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, adapter={"kind": "none"},
                      hyperparameters={"learning_rate": 0.003}, evaluation={"max_test_examples": 6})
    result = train(TrainRequest(spec_file=spec, max_steps=4, merge=True, show_bar=False))
    run_dir = Path(result.data["run_dir"])
    assert (run_dir / "model" / "model.safetensors").is_file() and not (run_dir / "adapter").exists()
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "Test split: 6 examples" in report and "--merge: nothing to merge" in report


def test_qlora_without_bitsandbytes_stops_at_start_with_an_install_hint(tmp_path: Path, tiny_model: Path) -> None:
    spec = write_spec(tmp_path, tiny_model, adapter={"kind": "qlora"})
    with pytest.raises(TrainingError, match="bitsandbytes is not installed: pip install bitsandbytes"):
        train(TrainRequest(spec_file=spec, show_bar=False))
    assert not (tmp_path / "runs").exists()  # nothing half-started to resume
