"""`cairn train`: find and check the spec, validate the data, then estimate, dry-run or run.

Everything before `execute` is cheap and model-free, so mistakes in the spec, the approval or
the data are reported before a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from workflow.data.formats import DatasetFormat
from workflow.errors import TrainingError
from workflow.fileio import atomic_write_text
from workflow.training.approval import check_approval, file_sha256, monthly_requests, record_run, spec_path_of
from workflow.training.chat_templates import TemplatePlan
from workflow.training.configs import Device, detect_device, peft_args, resolve_precision, trl_args
from workflow.training.deps import require_trackers
from workflow.training.estimate import estimate_cost, estimate_markdown
from workflow.training.params import local_model_dir
from workflow.training.provenance import provenance
from workflow.training.runs import Run, is_main_process, new_run, newest_unfinished, runs_dir_of
from workflow.training.spec import TrainingSpec, dump_spec_yaml, load_spec
from workflow.training.splits import DataPlan, plan_data

__all__ = ["TrainRequest", "TrainResult", "accelerate_command", "train"]

CHAT = {DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT}


@dataclass(frozen=True, kw_only=True)
class TrainRequest:
    project: str | None = None
    spec_file: Path | None = None
    dry_run: bool = False
    estimate: bool = False
    max_steps: int | None = None
    resume: bool = False
    merge: bool = False
    evaluate: bool = True
    params: int | None = None
    monthly_requests: int | None = None
    fail_on_regression: bool = False
    run_id: str | None = None
    report_to: tuple[str, ...] = ()
    show_bar: bool | None = None


@dataclass(kw_only=True)
class TrainResult:
    kind: Literal["estimate", "dry-run", "run"]
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class _Target:
    spec_path: Path
    runs_dir: Path
    project_dir: Path | None
    sidecar: dict[str, Any] | None


def _target(request: TrainRequest) -> _Target:
    if request.project is None:
        if request.spec_file is None:
            raise TrainingError("nothing to train: give a PROJECT, or --spec FILE for a spec outside a project")
        return _Target(spec_path=request.spec_file, runs_dir=request.spec_file.resolve().parent / "runs",
                       project_dir=None, sidecar=None)
    from workflow.context import current_settings
    from workflow.store import read_sidecar, require_project

    project_dir = require_project(current_settings().output_dir, request.project)
    return _Target(spec_path=request.spec_file or spec_path_of(project_dir), runs_dir=runs_dir_of(project_dir),
                   project_dir=project_dir, sidecar=read_sidecar(project_dir))


def base_model_path(spec: TrainingSpec, spec_dir: Path) -> str:
    """A local folder (the current folder first, then the spec's) as an absolute path, else the hub id."""
    folder = local_model_dir(spec.base_model, spec_dir=spec_dir)
    return str(folder.resolve()) if folder is not None else spec.base_model


def _template_plan(base_path: str, *, load: bool) -> TemplatePlan | None:
    """The chat template the run will train with (see chat_templates). With `load` the tokenizer is
    loaded (no model); without it only a local folder's files are read, and None means unknown."""
    from workflow.training.chat_templates import TemplatePlan, has_generation_markers, training_template

    if load:
        from workflow.training.trainer import load_tokenizer

        return training_template(load_tokenizer(base_path, needs_chat=False))
    folder = Path(base_path)
    if not folder.is_dir():
        return None
    jinja = folder / "chat_template.jinja"
    template: Any = None
    if jinja.is_file():
        template = jinja.read_text(encoding="utf-8")
    else:
        try:
            config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
            template = config.get("chat_template") if isinstance(config, dict) else None
        except (OSError, ValueError):
            template = None
    if has_generation_markers(template if isinstance(template, str) else None):
        return TemplatePlan(template=None, source="model", note="the model's own chat template (it has "
                                                                 "{% generation %} markers)")
    return None


def _check_data_lengths(spec: TrainingSpec, plan: DataPlan, base: str
                        ) -> tuple[TemplatePlan, dict[str, Any], list[str]]:
    """The chat template plan, and what TRL will truncate and drop at max_length, from the tokenizer.

    Raises TrainingError when every training example of a stage would be dropped.
    """
    from workflow.training.chat_templates import training_template
    from workflow.training.lengths import check_lengths
    from workflow.training.trainer import load_tokenizer

    tokenizer = load_tokenizer(base, needs_chat=False)
    template = training_template(tokenizer)
    if template.template is not None:
        tokenizer.chat_template = template.template
    answers_only: dict[str, bool] = {
        s.stage: template.assistant_only if s.format in CHAT else s.format != DatasetFormat.TEXT for s in plan.stages}
    packed = {"sft"} if spec.hyperparameters.packing else set()  # packing chunks sequences: nothing is dropped
    checked = DataPlan(stages=[s for s in plan.stages if s.stage not in packed], test=plan.test,
                       test_format=plan.test_format)
    if not (tokenizer.chat_template or not any(s.format in CHAT for s in checked.stages)):
        return template, {}, []  # load_tokenizer(needs_chat=True) at train time says what is wrong
    counts, warnings = check_lengths(tokenizer, checked, max_length=spec.hyperparameters.max_length,
                                     answers_only=answers_only)
    return template, counts, warnings


def _data_digests(spec: TrainingSpec) -> dict[str, str]:
    d = spec.datasets
    paths = (d.train_file, d.eval_file, d.test_file, d.preference_file, spec.evaluation.regression_set)
    files = {p for p in paths if p is not None}
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files) if p.is_file()}


def accelerate_command(request: TrainRequest, device: Device) -> list[str]:
    """The `accelerate launch` lines for the same spec on several GPUs or nodes (shared run id)."""
    from workflow.context import current_settings

    gpus = str(device.count) if device.kind == "cuda" and device.count else "GPUS_PER_NODE"
    args = ["-m", "workflow", "--output", str(current_settings().output_dir), "train"]
    args += [request.project] if request.project else []
    args += ["--spec", str(request.spec_file.resolve())] if request.spec_file else []
    tail = " ".join(shlex.quote(a) for a in args) + ' --run-id "$(date -u +%Y%m%d-%H%M%S)"'
    return [f"accelerate launch --multi_gpu --num_processes {gpus} {tail}",
            f"accelerate launch --multi_gpu --num_machines NODES --machine_rank RANK --main_process_ip HOST "
            f"--main_process_port 29500 --num_processes TOTAL_GPUS {tail}"]


def _resolve(spec: TrainingSpec, *, target: _Target, plan: DataPlan, device: Device, request: TrainRequest,
             run_dir: Path, sha: str, template: TemplatePlan | None) -> dict[str, Any]:
    """Everything the run will use, written to resolved-config.yaml and printed by --dry-run."""
    base = base_model_path(spec, target.spec_path.resolve().parent)
    stages: dict[str, Any] = {}
    for index, stage in enumerate(plan.stages):
        has_eval = stage.eval is not None and bool(stage.eval.rows)
        trl = trl_args(spec, stage=stage.stage, output_dir=run_dir / "checkpoints" / stage.stage, device=device,
                       has_eval=has_eval, max_steps=request.max_steps,
                       assistant_only_loss=stage.format in CHAT and (template is None or template.assistant_only))
        after_sft = index > 0
        entry: dict[str, Any] = {"trl": trl, "peft": None if after_sft else peft_args(spec)}
        if stage.stage == "dpo":
            entry["reference_model"] = (
                "frozen copy of the SFT adapter (the SFT policy)" if after_sft and spec.uses_peft else
                "the SFT model, loaded again from sft-model/" if after_sft else
                "the base model with the adapter disabled" if spec.uses_peft else "a second copy of the base model")
            if after_sft:
                entry["continues"] = "sft-adapter/" if spec.uses_peft else "sft-model/"
        stages[stage.stage] = entry
    warnings = list(plan.warnings)
    chat = any(s.format in CHAT for s in plan.stages)
    if template is not None and not template.assistant_only and chat:
        warnings.append(f"chat template: {template.note}")
    hp = spec.hyperparameters
    if spec.method != "sft" and hp.dpo_learning_rate is None:
        warnings.append(f"dpo_learning_rate is not set, so DPO trains at the SFT learning rate {hp.learning_rate:g}; "
                        "DPO usually wants one 5-10x lower (TRL's own default is 1e-6): set "
                        "hyperparameters.dpo_learning_rate")
    return {
        "run_id": run_dir.name,
        "spec_file": str(target.spec_path.resolve()),
        "spec_sha256": sha,
        "base_model_path": base,
        "device": {"kind": device.kind, "name": device.name, "count": device.count},
        "precision": resolve_precision(spec, device),
        "chat_data": any(isinstance(v, list) for s in plan.stages for v in s.train.rows[0].values()),
        "chat_template": None if template is None or not chat else {"source": template.source,
                                                                    "note": template.note},
        "options": {"max_steps": request.max_steps},
        "data": {"counts": plan.counts(),
                 "sources": {s.stage: {"train": s.train.source, "eval": s.eval.source if s.eval else None}
                             for s in plan.stages},
                 "test": plan.test.source if plan.test else None, "sha256": _data_digests(spec)},
        "regression_set": None if plan.regression is None else {
            "file": plan.regression.source, "format": plan.test_format.value,
            "examples": len(plan.regression.rows),
            "scored": min(len(plan.regression.rows), spec.evaluation.max_test_examples),
            "forgetting_budget_pct": spec.evaluation.forgetting_budget_pct},
        "stages": stages,
        "warnings": warnings,
        "provenance": provenance(target.spec_path.resolve().parent),
        "spec": yaml.safe_load(dump_spec_yaml(spec)),
    }


def _estimate(spec: TrainingSpec, target: _Target, request: TrainRequest) -> TrainResult:
    from workflow.context import current_settings

    costs = current_settings().config.costs
    volume = request.monthly_requests
    if volume is None and target.sidecar is not None:
        volume = monthly_requests(target.sidecar)
    spec_dir = target.spec_path.resolve().parent
    text = estimate_markdown(spec, costs=costs, params=request.params, monthly_requests=volume, spec_dir=spec_dir)
    data = estimate_cost(spec, costs=costs, params=request.params, monthly_requests=volume,
                         spec_dir=spec_dir).to_dict()
    return TrainResult(kind="estimate", text=text, data=data)


def _dry_run(spec: TrainingSpec, target: _Target, request: TrainRequest, plan: DataPlan, device: Device,
             sha: str) -> TrainResult:
    from workflow.training.deps import TRAIN_PACKAGES, _installed

    base = base_model_path(spec, target.spec_path.resolve().parent)
    stack = all(_installed(p) for p in TRAIN_PACKAGES)
    # The tokenizer (never the model) is read when it is local, so --dry-run shows what the run will do.
    template = _template_plan(base, load=stack and Path(base).is_dir())
    resolved = _resolve(spec, target=target, plan=plan, device=device, request=request,
                        run_dir=target.runs_dir / "RUN_ID", sha=sha, template=template)
    notes = []
    if stack:
        from workflow.training.configs import build_trl_config

        for stage, entry in resolved["stages"].items():
            build_trl_config(stage, entry["trl"])  # TRL's own checks, still without a model
    else:
        notes.append("the train extra is not installed (pip install 'cairn[train]'): TRL has not checked these")
    for tracker in spec.evaluation.report_to:
        if not _installed(tracker):
            notes.append(f"report_to {tracker}: {tracker} is not installed, so the run will stop at start "
                         f"(pip install {tracker})")
    if spec.adapter.kind == "qlora" and not _installed("bitsandbytes"):
        notes.append("adapter qlora: bitsandbytes is not installed, so the run will stop at start "
                     "(pip install bitsandbytes)")
    commands = accelerate_command(request, device)
    text = "\n".join([
        "# Dry run: nothing was loaded or trained", "",
        yaml.safe_dump({k: v for k, v in resolved.items() if k != "spec"}, sort_keys=False, allow_unicode=True),
        "Several GPUs or nodes (same spec, one shared run id):", *(f"  {c}" for c in commands), "",
        *(f"note: {n}" for n in notes), "",
        _estimate(spec, target, request).text,
    ])
    return TrainResult(kind="dry-run", text=text, data={**resolved, "accelerate": commands, "notes": notes})


def _start(spec: TrainingSpec, target: _Target, request: TrainRequest, plan: DataPlan, device: Device,
           sha: str) -> tuple[Run, dict[str, Any]]:
    from workflow.training.deps import require_4bit, require_trackers, require_training_stack

    # Checked before a run folder exists, so a missing package leaves nothing half-started behind.
    require_training_stack()
    if spec.adapter.kind == "qlora":
        require_4bit()
    require_trackers(list(spec.evaluation.report_to))
    base = base_model_path(spec, target.spec_path.resolve().parent)
    template, lengths, length_warnings = _check_data_lengths(spec, plan, base)  # no model is loaded for this
    if request.run_id:  # accelerate launch: every process was given the same id
        run = Run(target.runs_dir / request.run_id)
        run.dir.mkdir(parents=True, exist_ok=True)
    else:
        run = new_run(target.runs_dir)
    resolved = _resolve(spec, target=target, plan=plan, device=device, request=request, run_dir=run.dir, sha=sha,
                        template=template)
    resolved["data"]["lengths"] = lengths
    resolved["warnings"] = [*resolved["warnings"], *length_warnings]
    if is_main_process():
        atomic_write_text(run.resolved_config, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    return run, resolved


def _resume(target: _Target, request: TrainRequest) -> tuple[TrainingSpec, Run, dict[str, Any]]:
    run = newest_unfinished(target.runs_dir)
    if run is None:
        raise TrainingError(f"nothing to resume: every run in {target.runs_dir} finished (or there is none); "
                            "start a new run without --resume")
    try:
        resolved = yaml.safe_load(run.resolved_config.read_text(encoding="utf-8"))
        spec = TrainingSpec.model_validate(resolved["spec"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise TrainingError(f"{run.resolved_config}: cannot resume this run ({exc}); start a new run") from None
    stored = resolved.get("options", {}).get("max_steps")
    if request.max_steps is not None and request.max_steps != stored:
        raise TrainingError(f"--max-steps {request.max_steps} differs from the interrupted run's ({stored}); "
                            "resume without --max-steps, or start a new run")
    changed = [p for p, digest in _data_digests(spec).items() if resolved["data"]["sha256"].get(p) != digest]
    if changed:
        raise TrainingError(f"{changed[0]} changed since run {run.id} started, so resuming would mix data; "
                            "start a new run")
    return spec, run, resolved


def _run(spec: TrainingSpec, target: _Target, request: TrainRequest, run: Run, resolved: dict[str, Any],
         plan: DataPlan, device: Device) -> TrainResult:
    from workflow.training.trainer import RunOptions, execute

    state = run.read_state() if request.resume else None
    if state is None:
        state = run.new_state(method=spec.method, spec_sha256=resolved["spec_sha256"])
    if is_main_process():
        run.mark_running(state)
    else:
        state.status, state.error = "running", None
    options = RunOptions(max_steps=request.max_steps, merge=request.merge, evaluate=request.evaluate,
                         resume=request.resume, show_bar=request.show_bar)
    outcome = execute(spec, run=run, plan=plan, state=state, resolved=resolved, options=options, device=device)
    warnings: list[str] = []
    if target.project_dir is not None and is_main_process():
        warning = record_run(target.project_dir, run.id)
        warnings += [warning] if warning else []
    summary = {"run_id": run.id, "run_dir": str(run.dir), "status": outcome.state.status,
               "report": str(run.report), **outcome.state.summary}
    general = f", regression set: {outcome.forgetting.verdict}" if outcome.forgetting else ""
    text = (f"run {run.id} {outcome.state.status}: final train loss {summary.get('final_train_loss')}, "
            f"eval loss of the saved model {summary.get('saved_eval_loss')}, base vs tuned: "
            f"{summary.get('verdict') or 'not run'}{general}\nreport: {run.report}")
    warnings += outcome.warnings
    result = TrainResult(kind="run", text=text, data=summary, warnings=warnings)
    failures = (outcome.comparison.failures if outcome.comparison else []) + (
        outcome.forgetting.failures if outcome.forgetting else [])
    if request.fail_on_regression and failures:
        result.exit_code = 1
        result.error = f"the tuned model is {'; '.join(failures)} (--fail-on-regression); see {run.report}"
    return result


def _with_trackers(spec: TrainingSpec, names: tuple[str, ...]) -> TrainingSpec:
    """--report-to overrides the spec's trackers (tracking is not part of what was approved)."""
    from pydantic import ValidationError

    try:
        evaluation = spec.evaluation.model_copy()
        evaluation.report_to = cast(Any, list(names))  # validated on assignment
    except ValidationError:
        raise TrainingError(f"--report-to {' '.join(names)}: use mlflow, wandb or tensorboard") from None
    return spec.model_copy(update={"evaluation": evaluation})


def train(request: TrainRequest) -> TrainResult:
    """Run `cairn train` as the request says.

    Raises TrainingError, DataError, ProjectError / SidecarError (project), MissingExtra, and
    KeyboardInterrupt (the run is saved as interrupted; `--resume` continues it).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not (request.run_id or request.resume):
        raise TrainingError("several processes (accelerate launch) need one shared run id: add "
                            '--run-id "$(date -u +%Y%m%d-%H%M%S)" as in the command --dry-run prints')
    target = _target(request)
    if request.resume:
        if request.dry_run or request.estimate:
            raise TrainingError("--resume continues a run; it cannot be combined with --dry-run or --estimate")
        spec, run, resolved = _resume(target, request)
        if request.report_to:  # trackers may change on resume; the trained data and settings may not
            spec = _with_trackers(spec, request.report_to)
            require_trackers(list(spec.evaluation.report_to))
            for entry in resolved["stages"].values():
                entry["trl"]["report_to"] = list(spec.evaluation.report_to)
            resolved["spec"]["evaluation"]["report_to"] = list(spec.evaluation.report_to)
            if is_main_process():
                atomic_write_text(run.resolved_config, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
        plan = plan_data(spec)
        return _run(spec, target, request, run, resolved, plan, detect_device())
    spec = load_spec(target.spec_path)
    if request.report_to:
        spec = _with_trackers(spec, request.report_to)
    if target.project_dir is not None and request.spec_file is None:
        sha = check_approval(target.project_dir, target.sidecar or {}, target.spec_path)
    else:
        sha = file_sha256(target.spec_path)
    if request.estimate:
        return _estimate(spec, target, request)
    plan = plan_data(spec)  # the data is checked before any model is loaded
    device = detect_device()
    resolve_precision(spec, device)  # a precision the machine cannot do fails here, not mid-load
    if request.dry_run:
        return _dry_run(spec, target, request, plan, device, sha)
    run, resolved = _start(spec, target, request, plan, device, sha)
    return _run(spec, target, request, run, resolved, plan, device)
