"""The datasets a run trains, evaluates and tests on, checked before any model is loaded. No torch.

Each file is first checked by the data tools (`workflow.data.validate`), then for the fields TRL
needs. Splits missing as files are carved from the training file with the spec's seed: test
first, then eval, so changing val_fraction never moves an example into or out of the test split.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workflow.data.duplicates import row_groups
from workflow.data.formats import DatasetFormat
from workflow.errors import DataError
from workflow.training.spec import TrainingSpec

__all__ = ["DataPlan", "Split", "StageData", "plan_data", "read_examples", "reference_of"]

ROLES = {"system", "user", "assistant", "tool"}
SMALL_SPLIT = 5


@dataclass(frozen=True, kw_only=True)
class Split:
    rows: list[dict[str, Any]]
    source: str


@dataclass(frozen=True, kw_only=True)
class StageData:
    stage: Literal["sft", "dpo"]
    format: DatasetFormat
    train: Split
    eval: Split | None


@dataclass(frozen=True, kw_only=True)
class DataPlan:
    stages: list[StageData]
    test: Split | None
    test_format: DatasetFormat
    warnings: list[str] = field(default_factory=list)
    regression: Split | None = None  # the general-skills set, read in test_format

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for stage in self.stages:
            out[f"{stage.stage}_train"] = len(stage.train.rows)
            out[f"{stage.stage}_eval"] = len(stage.eval.rows) if stage.eval else 0
        out["test"] = len(self.test.rows) if self.test else 0
        if self.regression is not None:
            out["regression"] = len(self.regression.rows)
        return out


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in value)


def _problem(obj: Any, fmt: DatasetFormat) -> str | None:
    """What TRL would choke on in one example, or None."""
    if not isinstance(obj, dict):
        return "each line must be a JSON object"
    if fmt in (DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT):
        if not _is_chat(obj.get("messages")):
            return "'messages' must be a non-empty list of {role, content} with roles " + "/".join(sorted(ROLES))
        if not any(m["role"] == "assistant" for m in obj["messages"]):
            return "no assistant message to learn from"
    elif fmt == DatasetFormat.PROMPT_COMPLETION:
        prompt, completion = obj.get("prompt"), obj.get("completion")
        both_text = isinstance(prompt, str) and isinstance(completion, str)
        if not (both_text or (_is_chat(prompt) and _is_chat(completion))):
            return "'prompt' and 'completion' must both be strings or both be lists of chat messages"
    elif fmt == DatasetFormat.TEXT:
        if not isinstance(obj.get("text"), str) or not obj["text"].strip():
            return "'text' must be a non-empty string"
    elif fmt == DatasetFormat.PREFERENCE:
        chosen, rejected, prompt = obj.get("chosen"), obj.get("rejected"), obj.get("prompt")
        texts = all(isinstance(v, str) for v in (chosen, rejected))
        chats = _is_chat(chosen) and _is_chat(rejected)
        if not (texts or chats):
            return "'chosen' and 'rejected' must both be strings or both be lists of chat messages"
        if prompt is not None and not (isinstance(prompt, str) if texts else _is_chat(prompt)):
            return "'prompt' must match the answers: a string for string answers, chat messages for chat answers"
    return None


def read_examples(path: Path, fmt: DatasetFormat) -> list[dict[str, Any]]:
    """All examples of a JSONL file, checked for `fmt`.

    Raises DataError naming the file, the line and the fix.
    """
    from workflow.data.validate import validate_file

    report = validate_file(path, fmt.value)
    if report.errors:
        first = report.errors[0]
        where = f" line {first.line}" if first.line else ""
        raise DataError(f"{path}{where}: {first.message} ({first.code}); {len(report.errors)} error(s) in all, "
                        f"see `cairn data validate {path} --format {fmt.value}`")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{path} line {number}: not valid JSON ({exc})") from None
            problem = _problem(obj, fmt)
            if problem:
                raise DataError(f"{path} line {number}: {problem} (format {fmt.value}); fix the line, or run "
                                "`cairn data convert` if the file is in another format")
            rows.append(obj)
    if not rows:
        raise DataError(f"{path}: no examples; point the spec at a JSONL file with one example per line")
    return rows


def reference_of(row: dict[str, Any], fmt: DatasetFormat) -> tuple[Any, str] | None:
    """(prompt, reference answer) of a test example, or None when it has no reference."""
    if fmt in (DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT):
        messages = row["messages"]
        if messages[-1]["role"] == "assistant" and len(messages) > 1:
            return messages[:-1], messages[-1]["content"]
        return None
    if fmt == DatasetFormat.PROMPT_COMPLETION:
        completion = row["completion"]
        return row["prompt"], completion if isinstance(completion, str) else completion[-1]["content"]
    if fmt == DatasetFormat.PREFERENCE and "prompt" in row:
        chosen = row["chosen"]
        return row["prompt"], chosen if isinstance(chosen, str) else chosen[-1]["content"]
    return None


def _carve(rows: list[dict[str, Any]], groups: list[int], fraction: float, total: int,
           rng: random.Random) -> tuple[list[dict[str, Any]], list[int], list[dict[str, Any]]]:
    """(kept rows, their groups, carved rows): about `fraction` of the file's `total` rows, at least
    one when the fraction is above 0, taken as whole duplicate groups so no copy stays behind."""
    if fraction <= 0:
        return rows, groups, []
    count = max(1, round(total * fraction))
    members: dict[int, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    order = list(members)
    rng.shuffle(order)
    picked: set[int] = set()
    for group in order:
        if len(picked) >= count:
            break
        if picked and len(picked) + len(members[group]) > count:
            continue  # a group too big for what is left: a smaller one may still fit
        picked.update(members[group])
    kept = [i for i in range(len(rows)) if i not in picked]
    return [rows[i] for i in kept], [groups[i] for i in kept], [rows[i] for i in sorted(picked)]


def _stage(path: Path, fmt: DatasetFormat, *, eval_file: Path | None, test_file: Path | None,
           val_fraction: float, test_fraction: float, seed: int,
           stage: Literal["sft", "dpo"]) -> tuple[StageData, Split | None]:
    rows = read_examples(path, fmt)
    total = len(rows)
    rng = random.Random(seed)
    carving = (test_file is None and test_fraction > 0) or (eval_file is None and val_fraction > 0)
    # Exact copies and near duplicates (as `cairn data split` groups them) are carved together.
    groups = row_groups(rows, fmt) if carving else list(range(total))
    test: Split | None = None
    if test_file is not None:
        test = Split(rows=read_examples(test_file, fmt), source=str(test_file))
    elif test_fraction > 0:
        rows, groups, carved = _carve(rows, groups, test_fraction, total, rng)
        test = Split(rows=carved, source=f"{test_fraction:g} of {path.name} (seed {seed}, duplicates kept together)")
    evaluation: Split | None = None
    if eval_file is not None:
        evaluation = Split(rows=read_examples(eval_file, fmt), source=str(eval_file))
    elif val_fraction > 0:
        rows, groups, carved = _carve(rows, groups, val_fraction, total, rng)
        evaluation = Split(rows=carved, source=f"{val_fraction:g} of {path.name} (seed {seed}, duplicates kept "
                           "together)")
    if not rows:
        raise DataError(f"{path}: nothing left to train on after carving the eval and test splits; "
                        "lower val_fraction / test_fraction or give eval_file / test_file")
    train = Split(rows=rows, source=str(path))
    return StageData(stage=stage, format=fmt, train=train, eval=evaluation), test


def plan_data(spec: TrainingSpec) -> DataPlan:
    """Read, check and split every dataset the spec's method needs.

    Raises DataError naming the file and line.
    """
    data = spec.datasets
    stages: list[StageData] = []
    test: Split | None = None
    test_format = data.format
    if spec.method != "dpo":
        sft, test = _stage(data.train_file, data.format, eval_file=data.eval_file, test_file=data.test_file,
                           val_fraction=data.val_fraction, test_fraction=data.test_fraction, seed=spec.seed,
                           stage="sft")
        stages.append(sft)
    pref = spec.preference_path
    if spec.method != "sft" and pref is not None:
        pairs_own_splits = spec.method == "dpo" and data.format == DatasetFormat.PREFERENCE
        dpo, dpo_test = _stage(
            pref, DatasetFormat.PREFERENCE,
            eval_file=data.eval_file if pairs_own_splits else None,
            test_file=data.test_file if pairs_own_splits else None,
            val_fraction=data.val_fraction,
            # After SFT the test split comes from the SFT data; a DPO-only run tests on held-out pairs.
            test_fraction=data.test_fraction if spec.method == "dpo" else 0.0,
            seed=spec.seed, stage="dpo")
        stages.append(dpo)
        if spec.method == "dpo":
            test, test_format = dpo_test, DatasetFormat.PREFERENCE
    warnings = []
    for stage in stages:
        if stage.eval is not None and len(stage.eval.rows) < SMALL_SPLIT:
            warnings.append(f"the {stage.stage} eval split has only {len(stage.eval.rows)} examples: "
                            "early stopping will follow noise")
    if test is not None and len(test.rows) < SMALL_SPLIT:
        warnings.append(f"the test split has only {len(test.rows)} examples: the base-vs-tuned CI will be wide")
    regression = _regression(spec.evaluation.regression_set, test_format)
    if regression is not None and len(regression.rows) < SMALL_SPLIT:
        warnings.append(f"the regression set has only {len(regression.rows)} examples: its drops will be noise")
    return DataPlan(stages=stages, test=test, test_format=test_format, warnings=warnings, regression=regression)


def _regression(path: Path | None, fmt: DatasetFormat) -> Split | None:
    """The general-skills regression set, checked like the other files but in the test split's
    format, since base and tuned are scored on it the same way."""
    if path is None:
        return None
    if not path.is_file():
        raise DataError(f"{path}: no such regression set (evaluation.regression_set); give a JSONL file of "
                        "general-skills examples, or remove the field to skip the forgetting check")
    return Split(rows=read_examples(path, fmt), source=str(path))
