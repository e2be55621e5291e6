"""Checks: a pack's rules about the plan (DESIGN 3.3), evaluated over the project's answers.

A check's `when` is true while the problem stands. Its severity says what that costs:
`block` refuses Continue until the answers change, `confirm` lets the user go on once they give
a reason (recorded in the decision log), `note` is only shown. Verdicts are plain dicts so they
can live in the session's checkpointed state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workflow.expressions import ExpressionError, evaluate, render_string
from workflow.pack_model import CheckSpec, Step

_PARSER = ImmutableSandboxedEnvironment()
SEVERITY_ORDER = {"block": 0, "confirm": 1, "note": 2}


@lru_cache(maxsize=1024)
def variables_of(expression: str) -> frozenset[str]:
    """The names an expression or inline template reads (empty when it does not parse)."""
    source = expression if "{" in expression else "{{ " + expression + " }}"
    try:
        return frozenset(meta.find_undeclared_variables(_PARSER.parse(source)))
    except Exception:  # noqa: BLE001 - a broken expression is reported by `cairn validate`, not here
        return frozenset()


def verdict(check: CheckSpec, step_id: str, env: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate one check. An expression that cannot be evaluated yet (a value it reads is not
    answered) is not tripped; its error is kept so a review can say the check could not run."""
    out: dict[str, Any] = {"id": check.id, "step": step_id, "severity": check.severity, "tripped": False,
                           "message": check.message, "fix": check.fix or "", "knowledge": check.knowledge,
                           "error": None}
    try:
        out["tripped"] = evaluate(check.when, env)
    except ExpressionError as exc:
        out["error"] = str(exc)
        return out
    if out["tripped"]:
        for key in ("message", "fix"):
            if "{" in out[key]:
                try:
                    out[key] = " ".join(render_string(out[key], env).split())
                except ExpressionError as exc:
                    out[key] = f"{out[key]} ({exc})"
    return out


def run_checks(step: Step, env: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every check of `step`, evaluated against `env` (the variables its conditions see)."""
    return [verdict(check, step.id, env) for check in step.meta.checks]


def tripped(verdicts: Iterable[Mapping[str, Any]], severity: str | None = None) -> list[Mapping[str, Any]]:
    return [v for v in verdicts if v.get("tripped") and (severity is None or v["severity"] == severity)]


def unacknowledged(verdicts: Iterable[Mapping[str, Any]], acknowledged: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Tripped `confirm` checks the user has not yet acknowledged with a reason."""
    return [v for v in tripped(verdicts, "confirm") if not str(acknowledged.get(v["id"]) or "").strip()]


def gate_items(verdicts: Iterable[Mapping[str, Any]], acknowledged: Mapping[str, Any]) -> list[str]:
    """What the checks put between a step and its Continue, one line each with the fix."""
    verdicts = list(verdicts)
    items = [f"check {v['id']}: {v['message']}" + (f" Fix: {v['fix']}" if v["fix"] else "")
             for v in tripped(verdicts, "block")]
    items += [f"confirm {v['id']}: {v['message']}" + (f" Fix: {v['fix']}" if v["fix"] else "")
              + " Or acknowledge it with a reason to go on anyway."
              for v in unacknowledged(verdicts, acknowledged)]
    return items


def is_confirm_item(item: str) -> bool:
    return item.startswith("confirm ")


_MARK = {"block": "⛔", "confirm": "⚠️", "note": "ℹ️"}


def markdown(verdicts: Iterable[Mapping[str, Any]]) -> str:
    """The tripped checks as a document section (empty when none tripped)."""
    hits = [v for v in ordered(verdicts) if v.get("tripped")]
    if not hits:
        return ""
    lines = ["", "## Checks", ""]
    for v in hits:
        line = f"- {_MARK.get(v['severity'], '-')} **{v['id']}** ({v['severity']}): {v['message']}"
        line += f" _Fix:_ {v['fix']}" if v.get("fix") else ""
        lines.append(line + (f" _Acknowledged:_ {v['acknowledged']}" if v.get("acknowledged") else ""))
    return "\n".join(lines) + "\n"


def ordered(verdicts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Tripped checks first, most severe first; then the ones that pass."""
    return sorted(verdicts, key=lambda v: (not v.get("tripped"), SEVERITY_ORDER.get(v["severity"], 3)))


__all__ = ["gate_items", "is_confirm_item", "markdown", "ordered", "run_checks", "tripped", "unacknowledged",
           "variables_of", "verdict"]
