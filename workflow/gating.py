"""The one function that decides whether a step may be completed (DESIGN 3.3). The terminal
and the MCP server both ask it; its answer lists what is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.checks import gate_items
from workflow.expressions import ExpressionError, evaluate
from workflow.forms import active
from workflow.pack_model import Step


def missing_items(step: Step, env: Mapping[str, Any], answers: Mapping[str, Any],
                  documents: Mapping[str, str], decisions: list[dict[str, Any]],
                  stories: list[dict[str, Any]], draft_errors: list[str],
                  checks: list[dict[str, Any]] | None = None,
                  acknowledged: Mapping[str, Any] | None = None) -> list[str]:
    """Everything that stands between the step and its Continue; empty when it may complete.
    `checks` are verdicts (workflow.checks): a tripped `block`, and a tripped `confirm` without a
    reason in `acknowledged`, are listed with their fix."""
    missing: list[str] = []
    for name, spec in step.meta.form.items():
        if spec.required and spec.default is None and name not in answers and active(spec, env):
            missing.append(f"answer: {name}")
    for output in step.meta.outputs:
        try:
            wanted = output.when is None or evaluate(output.when, env)
        except ExpressionError as exc:
            missing.append(f"document: {output.path} ({exc})")
            continue
        if wanted and output.path not in documents:
            missing.append(f"document: {output.path}")
    recorded = {d["id"] for d in decisions}
    for decision in step.meta.decisions:
        try:
            wanted = decision.when is None or evaluate(decision.when, env)
        except ExpressionError:
            wanted = True
        # An id rendered per visit (ITER-{{ visit }}) is checked by rendering it: a failure is a draft error.
        if wanted and decision.id not in recorded and "{{" not in decision.id:
            missing.append(f"decision: {decision.id} ({decision.title})")
    if step.meta.stories and not stories:
        missing.append(f"stories: at least one {step.meta.stories.prefix}-S* story")
    for guard in step.meta.guards:
        try:
            if evaluate(guard.when, env):
                missing.append(guard.message)
        except ExpressionError as exc:
            missing.append(str(exc))
    missing.extend(f"problem: {error}" for error in draft_errors)
    missing.extend(gate_items(checks or [], acknowledged or {}))
    return missing
