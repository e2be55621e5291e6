"""One training run: SFT and/or DPO with TRL + PEFT, then base vs tuned, merge and the report.

Heavy libraries are imported inside the functions. The DPO reference model follows TRL's rules
(see shared/TRAINING-FACTS.md): a fresh LoRA on the base uses the base with the adapter
disabled; after SFT the SFT adapter is passed as a trainable PeftModel, so TRL keeps a frozen
copy of it (the SFT policy) as the reference; a full fine-tune gets a reference loaded from the
policy's own folder.
"""

from __future__ import annotations

import gc
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.data.formats import DatasetFormat
from workflow.errors import CairnError, TrainingError
from workflow.training.chat_templates import has_generation_markers, training_template
from workflow.training.comparison import Comparison, ModelScores, compare, score_model
from workflow.training.configs import Device, build_lora_config, build_trl_config, peft_args
from workflow.training.deps import require_4bit, require_trackers, require_training_stack
from workflow.training.forgetting import Forgetting, measure_forgetting
from workflow.training.libwarnings import caught_library_warnings
from workflow.training.progress import make_progress_callback
from workflow.training.report import (
    comparison_warnings,
    overfitting_warning,
    plot_losses,
    stage_warnings,
    write_report,
)
from workflow.training.runs import Run, RunState, is_main_process
from workflow.training.spec import TrainingSpec
from workflow.training.splits import DataPlan, StageData

__all__ = ["RunOptions", "RunOutcome", "execute", "has_generation_markers", "load_model", "load_tokenizer",
           "quiet_libraries"]

SMALL_MODEL_PARAMS = 20_000_000
_COLUMNS = {
    DatasetFormat.MESSAGES: ("messages",), DatasetFormat.OPENAI_CHAT: ("messages",),
    DatasetFormat.PROMPT_COMPLETION: ("prompt", "completion"), DatasetFormat.TEXT: ("text",),
    DatasetFormat.PREFERENCE: ("prompt", "chosen", "rejected"),
}


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    max_steps: int | None = None
    merge: bool = False
    evaluate: bool = True
    resume: bool = False
    show_bar: bool | None = None  # None: a bar when stderr is a terminal


@dataclass(kw_only=True)
class RunOutcome:
    run: Run
    state: RunState
    comparison: Comparison | None
    report: str
    forgetting: Forgetting | None = None  # base vs tuned on the regression set, when the spec names one
    warnings: list[str] = field(default_factory=list)  # the report's warnings, also shown by the CLI


def quiet_libraries() -> None:
    """Silence library progress bars, advice and warnings outside a stage; during one they are caught
    (`libwarnings`) and shown in the report, since some say that examples were dropped."""
    import logging
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    logging.getLogger("trl").setLevel(logging.ERROR)
    # Our own progress and report say what matters; library advice is noise in a CLI.
    for module in ("trl", "transformers", "peft", "torch", "accelerate"):
        warnings.filterwarnings("ignore", module=module)


def _dtype(precision: str, spec: TrainingSpec) -> Any:
    import torch

    # Full fine-tuning keeps fp32 master weights and lets mixed precision cast; adapters train on a
    # half-precision base (PEFT keeps the adapter itself in fp32).
    if spec.adapter.kind == "none":
        return torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def limit_cpu_threads(base_path: str, device: Device) -> None:
    """One thread for small models on a CPU: their matrices are too small to split, and OpenMP
    threads spinning against other processes on a busy machine made steps ~15x slower (measured)."""
    from workflow.training.params import count_params

    if device.kind != "cpu":
        return
    params = count_params(base_path).params
    if params is not None and params <= SMALL_MODEL_PARAMS:
        import torch

        torch.set_num_threads(1)


def load_model(path: str, spec: TrainingSpec, device: Device, precision: str, *, quantize: bool = True) -> Any:
    """The causal LM at `path` (4-bit when the adapter is qlora). Raises TrainingError."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": _dtype(precision, spec)}
    qlora = quantize and spec.adapter.kind == "qlora"
    if qlora:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"])
        if device.kind == "cuda":
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise TrainingError(f"cannot load the model '{path}': {exc}. Give a local model folder or a hub id "
                            "this machine can download") from None
    if qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=device.kind == "cuda")
    return model


def load_tokenizer(path: str, needs_chat: bool) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise TrainingError(f"cannot load the tokenizer of '{path}': {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if needs_chat and not tokenizer.chat_template:
        raise TrainingError(f"'{path}' has no chat template, so chat data cannot be formatted: use an instruct/chat "
                            "model, or convert the data to prompt-completion or text")
    return tokenizer


def _dataset(rows: list[dict[str, Any]], fmt: DatasetFormat) -> Any:
    from datasets import Dataset

    # Only the columns TRL reads: stray keys (ids, metadata) would otherwise reach the collator.
    keep = _COLUMNS[fmt]
    return Dataset.from_list([{k: row[k] for k in keep if k in row} for row in rows])


def _last_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()
             and (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _policy(stage: StageData, spec: TrainingSpec, base_path: str, previous: Path | None, device: Device,
            precision: str) -> tuple[Any, Any]:
    """(model, peft_config) for a stage; see the module docstring for the DPO reference."""
    if previous is not None and spec.uses_peft:
        from peft import PeftModel

        base = load_model(base_path, spec, device, precision)
        return PeftModel.from_pretrained(base, str(previous), is_trainable=True), None
    if previous is not None:
        return load_model(str(previous), spec, device, precision), None
    model = load_model(base_path, spec, device, precision)
    lora = peft_args(spec)
    return model, build_lora_config(lora) if lora else None


def _save(trainer: Any, tokenizer: Any, dest: Path) -> None:
    model = trainer.model
    if hasattr(model, "peft_config"):
        # After SFT -> DPO the model also holds TRL's frozen `ref` copy; only the trained adapter is kept.
        model.save_pretrained(str(dest), selected_adapters=["default"])
    else:
        trainer.save_model(str(dest))
    tokenizer.save_pretrained(str(dest))


def _kept_examples(trainer: Any, stage: StageData, config: Any) -> int | None:
    """Training examples TRL kept after tokenizing (None when packing makes rows of several).

    Raises TrainingError when it kept none (instead of the sampler's raw `num_samples=0`).
    """
    if getattr(config, "packing", False):
        return None
    kept = len(trainer.train_dataset)
    if kept == 0:
        raise TrainingError(f"{stage.stage}: TRL dropped all {len(stage.train.rows)} training examples (none has an "
                            f"answer token within max_length {config.max_length}); raise hyperparameters.max_length")
    return kept


def _train_stage(stage: StageData, *, spec: TrainingSpec, run: Run, resolved: dict[str, Any], options: RunOptions,
                 device: Device, precision: str, tokenizer: Any, base_path: str, previous: Path | None,
                 dest: Path) -> dict[str, Any]:
    from transformers import EarlyStoppingCallback, PrinterCallback
    from trl import DPOTrainer, SFTTrainer

    model, peft_config = _policy(stage, spec, base_path, previous, device, precision)
    config = build_trl_config(stage.stage, resolved["stages"][stage.stage]["trl"])
    callbacks = [make_progress_callback(stage=stage.stage, metrics=run.metrics, show_bar=options.show_bar)]
    if config.load_best_model_at_end:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=spec.evaluation.early_stopping_patience,
                                               early_stopping_threshold=spec.evaluation.early_stopping_threshold))
    cls = SFTTrainer if stage.stage == "sft" else DPOTrainer
    with caught_library_warnings() as library_warnings:
        trainer = cls(model=model, args=config, train_dataset=_dataset(stage.train.rows, stage.format),
                      eval_dataset=_dataset(stage.eval.rows, stage.format) if stage.eval else None,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)
        kept = _kept_examples(trainer, stage, config)
        trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
        checkpoint = _last_checkpoint(run.checkpoints(stage.stage)) if options.resume else None
        if is_main_process():
            run.metrics.keep_until(stage.stage, int(checkpoint.name.split("-")[-1]) if checkpoint else 0)
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    _save(trainer, tokenizer, dest)
    state = trainer.state
    losses = [h["loss"] for h in state.log_history if "loss" in h]
    evals = [h["eval_loss"] for h in state.log_history if "eval_loss" in h]
    restored = Path(state.best_model_checkpoint).name if config.load_best_model_at_end and \
        state.best_model_checkpoint else None
    summary = {"steps": state.global_step, "max_steps": state.max_steps,
               "stopped_early": state.global_step < state.max_steps,
               "final_train_loss": losses[-1] if losses else None, "final_eval_loss": evals[-1] if evals else None,
               "best_eval_loss": state.best_metric, "resumed_from": checkpoint.name if checkpoint else None,
               # load_best_model_at_end puts the best checkpoint back before saving: the saved model is that one.
               "restored_checkpoint": restored,
               "saved_eval_loss": state.best_metric if restored else (evals[-1] if evals else None),
               "train_examples": len(stage.train.rows), "trained_examples": kept,
               "library_warnings": library_warnings}
    del trainer, model
    gc.collect()
    return summary


def _stage_outputs(spec: TrainingSpec, run: Run, plan: DataPlan) -> dict[str, Path]:
    """Where each stage's model was saved, in training order (the last one is the final model)."""
    names = [s.stage for s in plan.stages]
    final = run.adapter if spec.uses_peft else run.full_model
    earlier = run.sft_adapter if spec.uses_peft else run.dir / "sft-model"
    return {name: (final if i == len(names) - 1 else earlier) for i, name in enumerate(names)}


def _evaluate(spec: TrainingSpec, run: Run, plan: DataPlan, *, base_path: str, tokenizer: Any, device: Device,
              precision: str) -> tuple[Comparison | None, Forgetting | None]:
    """Base, every stage's model and the trivial baselines on the test split; base and the final model
    on the regression set. Each model is loaded once and scores both."""
    from workflow.training.baselines import trivial_answers

    cap = spec.evaluation.max_test_examples
    rows = plan.test.rows[:cap] if plan.test else []
    general = plan.regression.rows[:cap] if plan.regression else []
    target = "cuda" if device.kind == "cuda" else "cpu"
    kwargs = {"max_length": spec.hyperparameters.max_length, "max_new_tokens": spec.evaluation.max_new_tokens}
    outputs = _stage_outputs(spec, run, plan)
    final = list(outputs)[-1]
    stages: dict[str, ModelScores] = {}
    general_scores: dict[str, ModelScores] = {}

    def score(name: str, model: Any) -> None:
        if rows:
            stages[name] = score_model(model, tokenizer, rows, plan.test_format, **kwargs)
        if general and name in ("base", final):
            general_scores[name] = score_model(model, tokenizer, general, plan.test_format, **kwargs)

    base = load_model(base_path, spec, device, precision)
    if spec.adapter.kind != "qlora":
        base.to(target)
    score("base", base)
    base_scores = stages.pop("base", None)
    if spec.uses_peft:
        from peft import PeftModel

        model: Any = None
        for name, folder in outputs.items():
            if model is None:
                model = PeftModel.from_pretrained(base, str(folder), adapter_name=name)
            else:
                model.load_adapter(str(folder), adapter_name=name)
                model.set_adapter(name)
            score(name, model)
        del model
    else:
        del base
        gc.collect()
        for name, folder in outputs.items():
            model = load_model(str(folder), spec, device, precision).to(target)
            score(name, model)
            del model
            gc.collect()
    gc.collect()
    comparison = None
    if base_scores is not None:
        first = plan.stages[0] if plan.stages[0].format == plan.test_format else plan.stages[-1]
        baselines = trivial_answers(first.train.rows, first.format, rows, plan.test_format)
        comparison = compare(base_scores, stages[final], rows, plan.test_format, baselines=baselines, stages=stages)
    forgetting = None
    if plan.regression is not None and general_scores:
        on_general = compare(general_scores["base"], general_scores[final], general, plan.test_format)
        forgetting = measure_forgetting(on_general, source=plan.regression.source, total=len(plan.regression.rows),
                                        budget_pct=spec.evaluation.forgetting_budget_pct)
    return comparison, forgetting


def _merge(spec: TrainingSpec, run: Run, *, base_path: str, tokenizer: Any, device: Device, precision: str) -> None:
    from peft import PeftModel

    # Merge into unquantised weights: folding LoRA into 4-bit weights would round the update away.
    base = load_model(base_path, spec, device, precision, quantize=False)
    merged = PeftModel.from_pretrained(base, str(run.adapter)).merge_and_unload()
    merged.save_pretrained(str(run.merged))
    tokenizer.save_pretrained(str(run.merged))


def _train_all(spec: TrainingSpec, run: Run, plan: DataPlan, state: RunState, *, resolved: dict[str, Any],
               options: RunOptions, device: Device, tokenizer: Any, base_path: str) -> None:
    precision = resolved["precision"]
    previous: Path | None = None
    for index, stage in enumerate(plan.stages):
        last = index == len(plan.stages) - 1
        if last:
            dest = run.adapter if spec.uses_peft else run.full_model
        else:
            dest = run.sft_adapter if spec.uses_peft else run.dir / "sft-model"
        if stage.stage not in state.stages_done:
            summary = _train_stage(stage, spec=spec, run=run, resolved=resolved, options=options, device=device,
                                   precision=precision, tokenizer=tokenizer, base_path=base_path,
                                   previous=previous, dest=dest)
            state.summary.setdefault("stages", {})[stage.stage] = summary
            state.stages_done.append(stage.stage)
            if is_main_process():
                run.write_state(state)
        previous = dest


def execute(spec: TrainingSpec, *, run: Run, plan: DataPlan, state: RunState, resolved: dict[str, Any],
            options: RunOptions, device: Device) -> RunOutcome:
    """Train every stage, then evaluate, merge and report. The run's state.json follows along.

    Raises TrainingError (the run is marked failed; details in RUN/error.log), MissingExtra, or
    KeyboardInterrupt (the run is marked interrupted and can be resumed).
    """
    require_training_stack()
    if spec.adapter.kind == "qlora":
        require_4bit()
    require_trackers(list(spec.evaluation.report_to))
    quiet_libraries()
    started = time.monotonic()
    base_path = resolved["base_model_path"]
    limit_cpu_threads(base_path, device)
    main = is_main_process()
    try:
        tokenizer = load_tokenizer(base_path, needs_chat=resolved["chat_data"])
        if (resolved.get("chat_template") or {}).get("source") in ("trl", "chatml"):
            tokenizer.chat_template = training_template(tokenizer).template
        _train_all(spec, run, plan, state, resolved=resolved, options=options, device=device, tokenizer=tokenizer,
                   base_path=base_path)
        if not main:
            return RunOutcome(run=run, state=state, comparison=None, report="")
        comparison, forgetting, note, general_note = None, None, None, None
        if not options.evaluate:
            note = "Skipped (--no-eval)."
            general_note = note if plan.regression is not None else None
        else:
            if plan.test is None or not plan.test.rows:
                note = "No test split (test_file absent and test_fraction 0)."
            if note is None or plan.regression is not None:
                comparison, forgetting = _evaluate(spec, run, plan, base_path=base_path, tokenizer=tokenizer,
                                                   device=device, precision=resolved["precision"])
        warnings = list(resolved.get("warnings", []))
        if options.merge:
            if spec.uses_peft:
                _merge(spec, run, base_path=base_path, tokenizer=tokenizer, device=device,
                       precision=resolved["precision"])
            else:
                warnings.append("--merge: nothing to merge, a full fine-tune is saved whole in model/")
    except KeyboardInterrupt:
        if main:
            run.finish_state(state, "interrupted")
        raise
    except CairnError as exc:
        if main:
            run.finish_state(state, "failed", error=str(exc))
        raise
    except Exception as exc:  # the one place a library failure becomes a user-facing error
        message = f"{exc.__class__.__name__}: {exc}"
        if "out of memory" in str(exc).lower():
            message += " (lower batch_size and raise grad_accum, lower max_length, or use qlora)"
        if main:
            (run.dir / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
            run.finish_state(state, "failed", error=message)
        raise TrainingError(f"training failed: {message}; traceback in {run.dir / 'error.log'}") from None
    stages: list[str] = [s.stage for s in plan.stages]
    metrics = run.metrics.read()
    warnings += [w for w in (overfitting_warning(metrics, s) for s in stages) if w]
    warnings += stage_warnings(state.summary.get("stages", {}))
    if comparison is not None:
        warnings += comparison_warnings(comparison)
    if forgetting is not None:
        warnings += [f"FORGETTING: the tuned model is {failure}" for failure in forgetting.failures]
        if main:
            run.metrics.append({"stage": "regression", **{f"{kind}_{r.name}": value for r in forgetting.rows
                                                          for kind, value in (("base", r.base), ("tuned", r.tuned),
                                                                              ("drop_pct", r.drop_pct))}})
    last_stage = state.summary.get("stages", {}).get(stages[-1], {})
    state.summary.update(final_train_loss=last_stage.get("final_train_loss"),
                         final_eval_loss=last_stage.get("final_eval_loss"),
                         saved_eval_loss=last_stage.get("saved_eval_loss"),
                         verdict=comparison.verdict if comparison else None,
                         regressed=comparison.regressed if comparison else [],
                         failures=(comparison.failures if comparison else []) + (
                             forgetting.failures if forgetting else []),
                         forgetting=forgetting.to_dict() if forgetting else None)
    plot_losses(run, stages)
    run.finish_state(state, "finished")
    report = write_report(run, spec, state, stages=stages, counts=plan.counts(), comparison=comparison,
                          comparison_note=note, warnings=warnings, seconds=time.monotonic() - started,
                          resolved=resolved, forgetting=forgetting, forgetting_note=general_note)
    return RunOutcome(run=run, state=state, comparison=comparison, report=report, warnings=warnings,
                      forgetting=forgetting)
