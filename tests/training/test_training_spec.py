"""TrainingSpec: loading, the step-5 answers mapping, and one test per kind of mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow.errors import TrainingError
from workflow.training.spec import dump_spec_yaml, load_spec, spec_from_answers

from .helpers import PAIRS, TRAIN, spec_dict, write_spec

ANSWERS = {
    "base_model": "Qwen/Qwen2.5-0.5B-Instruct", "base_model_why": "small", "license": "apache-2.0",
    "method": "sft", "adapter": "lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05,
    "target_modules": ["q_proj", "v_proj"], "learning_rate": 2e-4, "num_epochs": 2.0, "max_steps": -1,
    "batch_size": 4, "grad_accum": 2, "warmup_ratio": 0.05, "weight_decay": 0.01, "max_length": 512,
    "packing": False, "dpo_beta": 0.1, "dataset_format": "messages", "train_file": str(TRAIN),
    "eval_file": "", "test_file": None, "preference_file": None, "val_fraction": 0.1, "test_fraction": 0.1,
    "eval_steps": 20, "save_steps": 40, "early_stopping_patience": 2, "seed": 7, "precision": "auto",
}


def _error(**answers: object) -> str:
    with pytest.raises(TrainingError) as caught:
        spec_from_answers({**ANSWERS, **answers})
    return str(caught.value)


def test_spec_module_imports_without_torch() -> None:
    code = ("import sys; import workflow.training.spec, workflow.training.estimate; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_step5_answers_map_onto_every_section_of_the_spec() -> None:
    spec = spec_from_answers(ANSWERS)
    assert spec.adapter.r == 8 and spec.adapter.target_modules == ["q_proj", "v_proj"]
    assert spec.hyperparameters.grad_accum == 2 and spec.hyperparameters.warmup_ratio == 0.05
    assert spec.datasets.train_file == TRAIN and spec.datasets.eval_file is None
    assert spec.evaluation.save_steps == 40 and spec.evaluation.early_stopping_patience == 2
    assert (spec.seed, spec.precision, spec.license) == (7, "auto", "apache-2.0")


def test_missing_optional_answers_take_the_spec_defaults() -> None:
    spec = spec_from_answers({"base_model": "m", "train_file": str(TRAIN), "adapter": "none"})
    assert spec.adapter.kind == "none"
    assert spec.hyperparameters.learning_rate == 2e-4
    assert spec.evaluation.eval_steps == 50


def test_dumped_yaml_loads_back_to_the_same_spec(tmp_path: Path) -> None:
    spec = spec_from_answers({**ANSWERS, "method": "sft-then-dpo", "preference_file": str(PAIRS)})
    path = tmp_path / "training-spec.yaml"
    path.write_text(dump_spec_yaml(spec), encoding="utf-8")
    assert load_spec(path) == spec


def test_relative_dataset_paths_resolve_against_the_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = write_spec(tmp_path / "specs", "m", datasets={"train_file": "../data/train.jsonl", "eval_file": None,
                                                         "test_file": None})
    assert load_spec(path).datasets.train_file == (tmp_path / "data" / "train.jsonl").resolve()


def test_unknown_key_names_the_field_and_says_to_remove_it(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "m", hyperparameters={"learning_rte": 1e-4})
    with pytest.raises(TrainingError, match=r"spec.yaml: field 'hyperparameters.learning_rte': unknown key; remove"):
        load_spec(path)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("base_model: m\nmethod: [sft\n", encoding="utf-8")
    with pytest.raises(TrainingError, match=r"spec.yaml line \d+: not valid YAML"):
        load_spec(path)


def test_missing_spec_file_says_to_finish_step_5(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no such spec file; finish step 5 or pass --spec"):
        load_spec(tmp_path / "nope.yaml")


def test_qlora_without_target_modules_asks_for_adapter_settings() -> None:
    message = _error(adapter="qlora", target_modules=[])
    assert "'adapter'" in message and "qlora needs adapter settings" in message and '["all-linear"]' in message


def test_save_steps_must_be_a_multiple_of_eval_steps_when_early_stopping() -> None:
    message = _error(eval_steps=20, save_steps=30)
    assert "save_steps (30) must be a multiple of eval_steps (20)" in message
    assert "set save_steps to 40 or early_stopping_patience to 0" in message
    assert spec_from_answers({**ANSWERS, "save_steps": 30, "early_stopping_patience": 0}).evaluation.save_steps == 30


def test_dpo_without_preference_data_says_where_to_put_it() -> None:
    assert "method dpo needs preference data: set dataset_format to preference" in _error(method="dpo")
    assert "needs preference data for its DPO stage: set preference_file" in _error(method="sft-then-dpo")


def test_sft_on_preference_pairs_is_refused() -> None:
    assert "put the preference pairs in preference_file" in _error(dataset_format="preference")


def test_packing_is_refused_for_dpo() -> None:
    message = _error(method="dpo", dataset_format="preference", packing=True)
    assert "packing applies to SFT only" in message


def test_fractions_out_of_range_or_summing_to_one_are_refused() -> None:
    assert "step 5 answer 'val_fraction'" in _error(val_fraction=1.5)
    assert "val_fraction + test_fraction = 1 leaves no training data" in _error(val_fraction=0.5, test_fraction=0.5)


def test_learning_rate_outside_the_sane_range_suggests_typical_values() -> None:
    message = _error(learning_rate=0.5)
    assert message.startswith("step 5 answer 'learning_rate': 0.5 is outside the sane range")
    assert "LoRA usually uses 1e-4..3e-4" in message


def test_formats_trl_cannot_read_point_to_cairn_data_convert() -> None:
    message = _error(dataset_format="alpaca")
    assert "'alpaca' is not read by TRL directly; run `cairn data convert" in message


def test_early_stopping_without_an_eval_split_is_refused() -> None:
    message = _error(val_fraction=0.0, eval_file=None)
    assert "early stopping needs an eval split" in message


def test_nothing_to_train_is_refused() -> None:
    assert "nothing to train" in _error(num_epochs=0, max_steps=-1)


def test_missing_required_answer_is_named() -> None:
    answers = dict(ANSWERS)
    del answers["train_file"]
    with pytest.raises(TrainingError, match="step 5 answer 'train_file': required; answer it"):
        spec_from_answers(answers)


def test_all_linear_must_stand_alone(tmp_path: Path) -> None:
    raw = spec_dict("m", adapter={"target_modules": ["all-linear", "q_proj"]})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(TrainingError, match="all-linear\" already covers every linear layer"):
        load_spec(path)
