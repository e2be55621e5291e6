"""The project brief a persona gets (issue 14, item 3): what the project has settled so far, taken
from the sidecar rather than from prose. Earlier steps' confirmed answers (those the current step's
file or templates read first, in full), the decisions with their choices, the stories' titles
and the notes typed at menus. Each part is one whole prompt item, so the budget drops a part,
never half a value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow.checks import run_checks
from workflow.drafts import variables
from workflow.pack_model import Pack, Step

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VALUE_CHARS = 400  # one answer longer than this is shown up to here, marked as cut
STORIES = 10  # the latest stories' titles
SHORT_CHARS = 60  # answers the step does not read are listed when at most this long


@dataclass(frozen=True, kw_only=True)
class BriefPart:
    key: str
    text: str
    keep: int  # as prompting's items: higher survives a tight budget longer


def names_read(pack: Pack, step: Step) -> frozenset[str]:
    """Every identifier in the step's file and in its outputs' templates: the answers of earlier
    steps that this step's guidance, conditions or documents can refer to."""
    texts = [step.file.read_text(encoding="utf-8")] if step.file.is_file() else []
    for output in step.meta.outputs:
        if output.template and (pack.templates_dir / output.template).is_file():
            texts.append((pack.templates_dir / output.template).read_text(encoding="utf-8"))
    return frozenset(name for text in texts for name in _NAME.findall(text))


def _value(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + " …(cut)"


def open_checks(step: Step, sidecar: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The step's checks that trip on the answers so far, as `[severity] ID: message`. Checks that
    cannot be evaluated yet (a value they read is not answered) are left out; so are measured
    facts (dataset reviews), which the engine's own review shows."""
    env = variables(sidecar, step.id, answers)
    lines = []
    for verdict in run_checks(step, env):
        if verdict.get("tripped"):
            fix = f" (fix: {verdict['fix']})" if verdict.get("fix") else ""
            lines.append(f"- [{verdict['severity']}] {verdict['id']}: {verdict['message']}{fix}")
    return lines


def brief_parts(pack: Pack, step: Step, sidecar: Mapping[str, Any],
                answers: Mapping[str, Any] | None = None) -> list[BriefPart]:
    """The brief for `step` from `sidecar` (empty for a new project) and the step's `answers` so
    far: the earlier answers this step reads in full, every other short earlier answer in one line
    per step, the decisions, the stories' titles, the notes and the checks that trip now."""
    recorded: Mapping[str, Mapping[str, Any]] = sidecar.get("answers") or {}
    order = [str(s) for s in sidecar.get("stepsCompleted") or []]
    earlier = [sid for sid in dict.fromkeys(order + list(recorded)) if sid != step.id and recorded.get(sid)]
    read = names_read(pack, step)
    parts: list[BriefPart] = []
    relevant: list[str] = []
    for rank, sid in enumerate(reversed(earlier)):  # the most recent steps first
        title = pack.steps[sid].title if sid in pack.steps else sid
        rows = recorded[sid]
        used = [f"- {name} (step {sid}): {_value(v)}" for name, v in rows.items()
                if name in read and v not in (None, "", [])]
        relevant += used
        # The other short values (numbers, choices, names) in one line each step; long prose
        # answers reach the model through the step's documents.
        rest = [f"{name}: {_value(v)}" for name, v in rows.items()
                if name not in read and v not in (None, "", []) and len(_value(v)) <= SHORT_CHARS]
        if rest:
            parts.append(BriefPart(key=f"brief:answers:{sid}", text=f"Step {sid} ({title}) also settled: "
                                   + "; ".join(rest), keep=50 - min(rank, 20)))
    if relevant:
        parts.insert(0, BriefPart(key="brief:read", keep=85, text="Confirmed answers this step builds on:\n"
                                  + "\n".join(relevant)))
    decisions = [d for d in sidecar.get("decisions") or [] if isinstance(d, Mapping)]
    if decisions:
        lines = [f"- {d.get('id')} {d.get('title')}: {_value(d.get('choice'))} (step {d.get('step')})"
                 for d in decisions]
        parts.append(BriefPart(key="brief:decisions", text="Decisions so far:\n" + "\n".join(lines), keep=80))
    stories = [s for group in (sidecar.get("stories") or {}).values() if isinstance(group, list)
               for s in group if isinstance(s, Mapping)]
    if stories:
        shown = "; ".join(f"{s.get('id')} {s.get('title')}" for s in stories[-STORIES:])
        more = f" (and {len(stories) - STORIES} earlier)" if len(stories) > STORIES else ""
        parts.append(BriefPart(key="brief:stories", keep=30, text=f"Stories so far{more}: {shown}"))
    notes = [f"- (step {sid}) {_value(n)}" for sid, items in (sidecar.get("notes") or {}).items()
             if sid != step.id and isinstance(items, list) for n in items]
    if notes:
        parts.append(BriefPart(key="brief:notes", keep=45, text="Notes from earlier steps:\n" + "\n".join(notes)))
    checks = open_checks(step, sidecar, answers or {})
    if checks:
        parts.append(BriefPart(key="brief:checks", keep=75, text="Open checks on this step's answers (raise "
                               "them with the user; do not resolve them yourself):\n" + "\n".join(checks)))
    return parts


__all__ = ["BriefPart", "brief_parts", "names_read", "open_checks"]
