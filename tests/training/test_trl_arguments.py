"""Spec -> TRL / PEFT arguments: device-safe settings, early stopping wiring, trackers, strict keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.errors import TrainingError
from workflow.training.configs import Device, build_trl_config, peft_args, resolve_precision, trl_args
from workflow.training.deps import require_trackers
from workflow.training.spec import TrainingSpec, spec_from_answers

from .helpers import TRAIN

CPU = Device(kind="cpu", name="CPU", bf16=False)
AMPERE = Device(kind="cuda", name="A100", bf16=True, count=1)
TURING = Device(kind="cuda", name="T4", bf16=False, count=1)


def _spec(**answers: object) -> TrainingSpec:
    return spec_from_answers({"base_model": "m", "train_file": str(TRAIN), **answers})


def test_cpu_runs_get_fp32_without_activation_checkpointing_and_trl_accepts_them(tmp_path: Path) -> None:
    args = trl_args(_spec(), stage="sft", output_dir=tmp_path, device=CPU, has_eval=True)
    assert (args["use_cpu"], args["bf16"], args["fp16"], args["activation_checkpointing"]) == (True, False, False,
                                                                                              False)
    config = build_trl_config("sft", args)
    assert config.use_cpu and not config.bf16 and config.report_to == []


def test_auto_precision_is_bf16_on_gpus_that_support_it_and_fp16_on_older_ones() -> None:
    assert resolve_precision(_spec(), AMPERE) == "bf16" and resolve_precision(_spec(), TURING) == "fp16"
    args = trl_args(_spec(), stage="sft", output_dir=Path("x"), device=AMPERE, has_eval=False)
    assert args["bf16"] and not args["use_cpu"] and args["activation_checkpointing"]


def test_asking_for_bf16_on_a_cpu_says_what_to_set_instead() -> None:
    with pytest.raises(TrainingError, match="precision bf16 needs a GPU with bf16 support.*set precision to auto"):
        resolve_precision(_spec(precision="bf16"), CPU)
    with pytest.raises(TrainingError, match="precision fp16 needs a GPU"):
        resolve_precision(_spec(precision="fp16"), CPU)


def test_early_stopping_turns_on_best_model_tracking_on_eval_loss() -> None:
    args = trl_args(_spec(early_stopping_patience=2, eval_steps=5, save_steps=10), stage="sft",
                    output_dir=Path("x"), device=CPU, has_eval=True)
    assert args["load_best_model_at_end"] and args["metric_for_best_model"] == "eval_loss"
    assert args["greater_is_better"] is False and (args["eval_steps"], args["save_steps"]) == (5, 10)
    quiet = trl_args(_spec(early_stopping_patience=2), stage="sft", output_dir=Path("x"), device=CPU,
                     has_eval=False)
    assert quiet["eval_strategy"] == "no" and not quiet["load_best_model_at_end"]


def test_dpo_stage_gets_beta_and_its_own_learning_rate() -> None:
    spec = _spec(method="sft-then-dpo", preference_file=str(TRAIN), dpo_beta=0.3)
    spec.hyperparameters.dpo_learning_rate = 5e-6
    dpo = trl_args(spec, stage="dpo", output_dir=Path("x"), device=CPU, has_eval=False)
    sft = trl_args(spec, stage="sft", output_dir=Path("x"), device=CPU, has_eval=False)
    assert (dpo["beta"], dpo["learning_rate"], sft["learning_rate"]) == (0.3, 5e-6, 2e-4)
    assert "packing" not in dpo and build_trl_config("dpo", dpo).beta == 0.3


def test_warmup_ratio_travels_as_a_fraction_in_warmup_steps() -> None:
    args = trl_args(_spec(warmup_ratio=0.1), stage="sft", output_dir=Path("x"), device=CPU, has_eval=False)
    assert args["warmup_steps"] == 0.1 and "warmup_ratio" not in args


def test_report_to_passes_trackers_through_and_a_missing_one_gets_an_install_hint() -> None:
    spec = _spec()
    spec.evaluation.report_to = ["tensorboard"]
    assert trl_args(spec, stage="sft", output_dir=Path("x"), device=CPU, has_eval=False)["report_to"] == [
        "tensorboard"]
    with pytest.raises(TrainingError, match="report_to lists mlflow, but mlflow is not installed: pip install mlflow"):
        require_trackers(["mlflow"])


def test_unknown_trl_keys_are_rejected_not_ignored(tmp_path: Path) -> None:
    args = trl_args(_spec(), stage="sft", output_dir=tmp_path, device=CPU, has_eval=False)
    with pytest.raises(TrainingError, match="TRL rejected the sft settings"):
        build_trl_config("sft", {**args, "max_seq_length": 128})


def test_peft_arguments_keep_all_linear_as_a_string_and_none_means_full_fine_tuning() -> None:
    assert peft_args(_spec(target_modules=["all-linear"]))["target_modules"] == "all-linear"  # type: ignore[index]
    assert peft_args(_spec(target_modules=["q_proj", "v_proj"]))["target_modules"] == ["q_proj", "v_proj"]  # type: ignore[index]
    assert peft_args(_spec(adapter="none")) is None


def test_a_dpo_stage_without_its_own_learning_rate_is_warned_about(tiny_model: Path, tmp_path: Path) -> None:
    from tests.training.helpers import PAIRS, write_spec
    from workflow.training.launch import TrainRequest, train

    spec = write_spec(tmp_path / "a", tiny_model, method="sft-then-dpo", datasets={"preference_file": str(PAIRS)})
    warnings = train(TrainRequest(spec_file=spec, dry_run=True)).data["warnings"]
    assert any(w.startswith("dpo_learning_rate is not set, so DPO trains at the SFT learning rate 0.01")
               for w in warnings)
    spec = write_spec(tmp_path / "b", tiny_model, method="sft-then-dpo", datasets={"preference_file": str(PAIRS)},
                      hyperparameters={"dpo_learning_rate": 0.001})
    assert not any("dpo_learning_rate" in w for w in train(TrainRequest(spec_file=spec, dry_run=True)).data["warnings"])
