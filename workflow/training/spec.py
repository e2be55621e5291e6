"""The training spec (`training-spec.yaml`): what step 5 decides and `cairn train` runs.

Importable without torch: the workflow engine builds and validates it at step 5, long
before (and often on a different machine than) any training happens. Whether 4-bit
loading is available is checked when training starts, not here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workflow.data.formats import DatasetFormat
from workflow.errors import TrainingError
from workflow.yamlerrors import yaml_problem

__all__ = [
    "AdapterSpec",
    "DatasetSpec",
    "EvaluationSpec",
    "Hyperparameters",
    "SFT_FORMATS",
    "TrainingSpec",
    "dump_spec_yaml",
    "load_spec",
    "spec_from_answers",
]

Method = Literal["sft", "dpo", "sft-then-dpo"]
AdapterKind = Literal["lora", "qlora", "none"]
Precision = Literal["auto", "bf16", "fp16", "fp32"]
Tracker = Literal["mlflow", "wandb", "tensorboard"]

# The formats SFTTrainer / DPOTrainer read as they are; the others go through `cairn data convert`.
SFT_FORMATS = frozenset({DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT, DatasetFormat.PROMPT_COMPLETION,
                         DatasetFormat.TEXT})
TRL_FORMATS = SFT_FORMATS | {DatasetFormat.PREFERENCE}

# Outside this range a learning rate is almost certainly a typo (1e-6 .. 1e-3 is the usual span).
MIN_LEARNING_RATE = 1e-7
MAX_LEARNING_RATE = 1e-2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AdapterSpec(_Strict):
    """PEFT adapter. `kind: none` is a full fine-tune (the other fields are then ignored)."""

    kind: AdapterKind = "lora"
    r: int = Field(default=16, ge=1, le=1024, description="LoRA rank")
    alpha: int = Field(default=32, ge=1, description="LoRA alpha (scaling = alpha / r)")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["all-linear"],
                                      description='module names, or ["all-linear"]')

    @model_validator(mode="after")
    def _adapter_needs_targets(self) -> AdapterSpec:
        if self.kind != "none" and not [m for m in self.target_modules if m.strip()]:
            raise ValueError(
                f"{self.kind} needs adapter settings: target_modules is empty; "
                'set it to ["all-linear"] or list module names such as [q_proj, v_proj]'
            )
        if "all-linear" in self.target_modules and len(self.target_modules) > 1:
            raise ValueError('target_modules: "all-linear" already covers every linear layer; use it alone')
        return self


class Hyperparameters(_Strict):
    learning_rate: float = Field(default=2e-4, description="peak learning rate")
    num_epochs: float = Field(default=3.0, ge=0.0)
    max_steps: int = Field(default=-1, ge=-1, description="-1 = train for num_epochs")
    batch_size: int = Field(default=4, ge=1, description="per device")
    grad_accum: int = Field(default=4, ge=1)
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    max_length: int = Field(default=1024, ge=16, description="tokens per example (truncated beyond)")
    packing: bool = False
    dpo_beta: float = Field(default=0.1, gt=0.0, le=10.0)
    dpo_learning_rate: float | None = Field(default=None, description="DPO stage; default: learning_rate")

    @field_validator("learning_rate", "dpo_learning_rate")
    @classmethod
    def _sane_learning_rate(cls, value: float | None) -> float | None:
        if value is not None and not MIN_LEARNING_RATE <= value <= MAX_LEARNING_RATE:
            raise ValueError(
                f"{value:g} is outside the sane range {MIN_LEARNING_RATE:g}..{MAX_LEARNING_RATE:g}; "
                "LoRA usually uses 1e-4..3e-4 and full fine-tuning 1e-5..5e-5"
            )
        return value

    @model_validator(mode="after")
    def _some_training(self) -> Hyperparameters:
        if self.max_steps == 0 or (self.max_steps < 0 and self.num_epochs <= 0):
            raise ValueError("nothing to train: set num_epochs above 0, or max_steps to a positive number")
        return self


class DatasetSpec(_Strict):
    """Data files (JSONL) and how the held-out splits are made when they are not given."""

    format: DatasetFormat = DatasetFormat.MESSAGES
    train_file: Path
    eval_file: Path | None = None
    test_file: Path | None = None
    preference_file: Path | None = Field(default=None, description="DPO pairs (prompt/chosen/rejected)")
    val_fraction: float = Field(default=0.1, ge=0.0, lt=1.0, description="of train, when eval_file is absent")
    test_fraction: float = Field(default=0.1, ge=0.0, lt=1.0, description="of train, when test_file is absent")

    @field_validator("format")
    @classmethod
    def _trl_reads_it(cls, value: DatasetFormat) -> DatasetFormat:
        if value not in TRL_FORMATS:
            readable = ", ".join(sorted(f.value for f in TRL_FORMATS))
            raise ValueError(
                f"'{value.value}' is not read by TRL directly; run `cairn data convert --to messages` "
                f"(or --to preference) and set format to one of: {readable}"
            )
        return value

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> DatasetSpec:
        carved = (0.0 if self.eval_file else self.val_fraction) + (0.0 if self.test_file else self.test_fraction)
        if carved >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction = {carved:g} leaves no training data; keep the sum below 1 "
                "(0.1 + 0.1 is typical) or give eval_file / test_file"
            )
        return self

    @property
    def has_eval_split(self) -> bool:
        return self.eval_file is not None or self.val_fraction > 0

    @property
    def has_test_split(self) -> bool:
        return self.test_file is not None or self.test_fraction > 0


class EvaluationSpec(_Strict):
    """Evaluation during training (eval split) and base-vs-tuned after it (test split)."""

    metric: Literal["eval_loss"] = "eval_loss"
    eval_steps: int = Field(default=50, ge=1)
    save_steps: int = Field(default=50, ge=1)
    early_stopping_patience: int = Field(default=3, ge=0, description="evaluations without improvement; 0 = off")
    early_stopping_threshold: float = Field(default=0.0, ge=0.0, description="smallest eval-loss drop that counts")
    max_new_tokens: int = Field(default=64, ge=1, le=4096, description="generation length for test answers")
    max_test_examples: int = Field(default=200, ge=1, description="cap on test examples generated per model")
    report_to: list[Tracker] = Field(default_factory=list, description="experiment trackers, when installed")
    regression_set: Path | None = Field(default=None, description="general-skills JSONL (the test split's format) "
                                        "scored base vs tuned after training, to measure forgetting")
    forgetting_budget_pct: float = Field(default=5.0, ge=0.0, le=100.0, description="largest relative drop (%) "
                                         "allowed on the regression set, per metric")

    @model_validator(mode="after")
    def _checkpoints_line_up_with_evals(self) -> EvaluationSpec:
        if self.early_stopping_patience > 0 and self.save_steps % self.eval_steps != 0:
            raise ValueError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps ({self.eval_steps}) when "
                f"early stopping is on, so the best evaluation has a checkpoint; set save_steps to "
                f"{self.eval_steps * max(1, round(self.save_steps / self.eval_steps))} or "
                "early_stopping_patience to 0"
            )
        return self


class TrainingSpec(_Strict):
    """Everything `cairn train` needs. Unknown keys are rejected."""

    schema_version: Literal[1] = 1
    base_model: str = Field(description="hub id or local folder")
    base_model_why: str = ""
    license: str = ""
    method: Method = "sft"
    adapter: AdapterSpec = Field(default_factory=AdapterSpec)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    datasets: DatasetSpec
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    seed: int = Field(default=42, ge=0)
    precision: Precision = "auto"

    @field_validator("base_model")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty: give a hub id such as Qwen/Qwen2.5-0.5B-Instruct or a local model folder")
        return value.strip()

    @model_validator(mode="after")
    def _method_matches_data(self) -> TrainingSpec:
        data, fmt = self.datasets, self.datasets.format
        if self.method == "dpo":
            if fmt != DatasetFormat.PREFERENCE and data.preference_file is None:
                raise ValueError(
                    "method dpo needs preference data: set datasets.format to preference "
                    "(prompt/chosen/rejected lines) or give datasets.preference_file"
                )
            if self.hyperparameters.packing:
                raise ValueError("hyperparameters.packing applies to SFT only; set it to false for method dpo")
        else:
            if fmt == DatasetFormat.PREFERENCE:
                raise ValueError(
                    f"method {self.method} trains SFT on datasets.train_file, which must be messages, "
                    "prompt-completion or text; put the preference pairs in datasets.preference_file"
                )
            if self.method == "sft-then-dpo" and data.preference_file is None:
                raise ValueError(
                    "method sft-then-dpo needs preference data for its DPO stage: set datasets.preference_file"
                )
        if self.evaluation.early_stopping_patience > 0 and not data.has_eval_split:
            raise ValueError(
                "early stopping needs an eval split: give datasets.eval_file or a val_fraction above 0, "
                "or set evaluation.early_stopping_patience to 0"
            )
        return self

    @property
    def uses_peft(self) -> bool:
        return self.adapter.kind != "none"

    @property
    def preference_path(self) -> Path | None:
        """The DPO data: preference_file, else train_file when it holds pairs."""
        if self.datasets.preference_file is not None:
            return self.datasets.preference_file
        if self.datasets.format == DatasetFormat.PREFERENCE:
            return self.datasets.train_file
        return None


def _describe(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling against the TrainingSpec fields"
    elif err["type"] == "missing":
        msg = "required; add it"
    # Cross-field checks (loc is a section or empty) already name their fields in the message.
    return f"{source}: field '{field}': {msg}" if field else f"{source}: {msg}"


def _validate(raw: Mapping[str, Any], source: str) -> TrainingSpec:
    try:
        return TrainingSpec.model_validate(raw)
    except ValidationError as exc:
        raise TrainingError(_describe(exc, source)) from None


_PATH_FIELDS = {"datasets": ("train_file", "eval_file", "test_file", "preference_file"),
                "evaluation": ("regression_set",)}


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    for section, keys in _PATH_FIELDS.items():
        data = raw.get(section)
        if not isinstance(data, dict):
            continue
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and value.strip() and not Path(value).expanduser().is_absolute():
                data[key] = str((base / Path(value)).resolve())


def load_spec(path: Path) -> TrainingSpec:
    """Read and validate a training-spec.yaml. Relative dataset paths are resolved against its folder.

    Raises TrainingError naming the file, the field and the fix.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainingError(f"{path}: no such spec file; finish step 5 or pass --spec FILE") from None
    except OSError as exc:
        raise TrainingError(f"{path}: cannot read the spec ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f" line {line}" if line else ""
        raise TrainingError(f"{path}{where}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise TrainingError(f"{path}: expected a mapping of spec fields at the top level")
    _resolve_paths(raw, path.parent.resolve())
    return _validate(raw, str(path))


def dump_spec_yaml(spec: TrainingSpec) -> str:
    """The spec as YAML in field order, the same text `load_spec` reads back."""
    data = spec.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> Any:
    # Form answers may carry NaN for an unanswered float; treat it as not given.
    return None if isinstance(value, float) and math.isnan(value) else value


_ADAPTER_KEYS = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "target_modules": "target_modules"}
_HYPER_KEYS = ("learning_rate", "num_epochs", "max_steps", "batch_size", "grad_accum", "warmup_ratio",
               "weight_decay", "max_length", "packing", "dpo_beta", "dpo_learning_rate")
_DATA_KEYS = {"dataset_format": "format", "train_file": "train_file", "eval_file": "eval_file",
              "test_file": "test_file", "preference_file": "preference_file", "val_fraction": "val_fraction",
              "test_fraction": "test_fraction"}
_EVAL_KEYS = ("eval_steps", "save_steps", "early_stopping_patience", "early_stopping_threshold", "max_new_tokens",
              "report_to", "forgetting_budget_pct")
_TOP_KEYS = ("base_model", "base_model_why", "license", "method", "seed", "precision")


def spec_from_answers(answers: Mapping[str, Any]) -> TrainingSpec:
    """Map the step-5 form answers onto a TrainingSpec; absent or blank answers take the spec defaults.

    Raises TrainingError naming the form field and the fix.
    """

    def pick(keys: Mapping[str, str] | tuple[str, ...]) -> dict[str, Any]:
        pairs = keys.items() if isinstance(keys, Mapping) else ((k, k) for k in keys)
        return {dst: _number(answers[src]) for src, dst in pairs
                if src in answers and not _blank(_number(answers[src]))}

    raw: dict[str, Any] = pick(_TOP_KEYS)
    adapter = pick(_ADAPTER_KEYS)
    if "adapter" in answers and not _blank(answers["adapter"]):
        adapter["kind"] = answers["adapter"]
    if isinstance(adapter.get("target_modules"), str):
        adapter["target_modules"] = [m.strip() for m in adapter["target_modules"].split(",") if m.strip()]
    raw["adapter"] = adapter
    raw["hyperparameters"] = pick(_HYPER_KEYS)
    raw["datasets"] = pick(_DATA_KEYS)
    raw["evaluation"] = pick(_EVAL_KEYS)
    regression = _regression_file(answers.get("regression_set"))
    if regression is not None:
        raw["evaluation"]["regression_set"] = regression
    try:
        return TrainingSpec.model_validate(raw)
    except ValidationError as exc:
        raise TrainingError(_describe_answer(exc)) from None


def _regression_file(value: Any) -> str | None:
    """The step-5 `regression_set` answer as an absolute file path, or None when it names a benchmark.

    The question accepts a JSONL file or a benchmark's name ("IFEval plus 100 support questions"):
    only a file can be scored by `cairn train`, so a name stays in the documents only. Relative
    paths are resolved against the current folder, as the form's path fields are.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if path.suffix.lower() != ".jsonl" and not path.is_file():
        return None
    return str(path.resolve())


_FORM_NAME = {("adapter", v): k for k, v in _ADAPTER_KEYS.items()} | {("adapter", "kind"): "adapter"} | {
    ("datasets", v): k for k, v in _DATA_KEYS.items()}


def _form_name(section: str, field: str) -> str:
    return _FORM_NAME.get((section, field), field)


def _describe_answer(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    # Cross-field messages speak in spec paths (datasets.preference_file); the form calls it preference_file.
    msg = re.sub(r"\b(adapter|hyperparameters|datasets|evaluation)\.(\w+)",
                 lambda m: _form_name(m.group(1), m.group(2)), msg)
    if err["type"] == "missing":
        msg = "required; answer it"
    if len(loc) >= 2:
        return f"step 5 answer '{_form_name(loc[0], loc[1])}': {msg}"
    if len(loc) == 1 and loc[0] in (*_TOP_KEYS, "adapter"):
        return f"step 5 answer '{loc[0]}': {msg}"
    return f"step 5 answers: {msg}"
