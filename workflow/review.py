"""What the user sees before Continue, and what keeps a revised project consistent.

- The review: every drafted document in full, the decisions with their rationale, the stories and
  the step's checks with their verdicts (shown by every front end before C commits them).
- Pushback: the checks an answer has just tripped.
- Acknowledgements: a `confirm` check the user goes on despite becomes a decision-log entry.
- Staleness: each step records the answers of other steps its documents were drafted from; when
  a revision changes one of them, the step's documents are stale until it is re-drafted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflow.checks import ordered, variables_of
from workflow.drafts import flat_answers
from workflow.facts import FACT_SOURCES
from workflow.pack_model import Pack, Step


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def review_message(step_info: dict[str, Any], draft: Mapping[str, Any], verdicts: list[dict[str, Any]],
                   acknowledged: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    """The review of a drafted visit. `full` carries every document's text; otherwise only the
    paths and sizes (the menu redrawn after a note or progress, with the same drafts)."""
    documents = []
    for path, content in sorted((draft.get("documents") or {}).items()):
        entry: dict[str, Any] = {"path": path, "lines": content.count("\n") + (not content.endswith("\n"))}
        if full:
            entry["content"] = content
        documents.append(entry)
    return {"kind": "review", "step": step_info, "full": full, "documents": documents,
            "decisions": [{k: d.get(k) for k in ("id", "title", "choice", "rationale")}
                          for d in draft.get("decisions") or []],
            "stories": [{"id": s["id"], "title": s["title"]} for s in draft.get("stories") or []],
            "errors": list(draft.get("errors") or []),
            "checks": [dict(v, acknowledged=acknowledged.get(v["id"])) for v in ordered(verdicts)
                       if v.get("tripped") or v.get("error")]}


def _headings(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        match = re.match(r"^(#{1,2})\s+(.+?)\s*#*\s*$", line)
        if match:
            out.append(re.sub(r"^[\d.)\s]+", "", match.group(2)).strip().lower())
    return [h for h in out if h]


def missing_headings(template_draft: str, saved: str) -> list[str]:
    """The template's top-level headings (# and ##) that a document saved in its place lacks; a
    saved heading counts when it contains the template's text ("Scope" in "Scope by the team")."""
    have = _headings(saved)
    return [h for h in _headings(template_draft) if not any(h in mine for mine in have)]


def draft_digest(draft: Mapping[str, Any]) -> str:
    return digest({k: draft.get(k) for k in ("documents", "decisions", "stories", "errors")})


def pushback_hits(step: Step, field: str, answered: Mapping[str, Any], verdicts: list[dict[str, Any]],
                  already: list[str], *, notes: bool = True) -> list[dict[str, Any]]:
    """Tripped checks that read `field`, once every field of this step they read is answered, and
    that were not raised at this visit before; `note` checks only with `notes` (a value the user
    typed, not a default accepted with Enter: the review lists those)."""
    by_id = {c.id: c for c in step.meta.checks}
    hits = []
    for v in verdicts:
        check = by_id.get(v["id"])
        if check is None or not v.get("tripped") or v["id"] in already or (v["severity"] == "note" and not notes):
            continue
        names = set(variables_of(check.when))
        for fact in names & set(FACT_SOURCES):
            names |= FACT_SOURCES[fact]
        own = {name for name in names if name in step.meta.form}
        if field in own and all(name in answered for name in own):
            hits.append(v)
    return hits


def acknowledgement_decisions(verdicts: list[dict[str, Any]], acknowledged: Mapping[str, Any], *,
                              step_id: str, date: str) -> list[dict[str, Any]]:
    """One decision-log entry (recorded at `step_id`) per tripped `confirm` check the user went on
    despite, an earlier step's included when an integration review re-ran it."""
    out = []
    for v in verdicts:
        reason = str(acknowledged.get(v["id"]) or "").strip()
        if v.get("tripped") and v["severity"] == "confirm" and reason:
            out.append({"id": f"ACK-{v['id']}", "step": step_id, "title": f"Go on despite check {v['id']}",
                        "choice": "acknowledged", "rationale": f"{reason} (check: {v['message']})",
                        "knowledge_ref": None, "date": date})
    return out


# ---- staleness -------------------------------------------------------------------------------------

def _template_variables(path: Path) -> frozenset[str]:
    try:
        stat = path.stat()
    except OSError:
        return frozenset()
    return _template_variables_cached(str(path), stat.st_mtime_ns)


@lru_cache(maxsize=128)
def _template_variables_cached(path: str, _mtime: int) -> frozenset[str]:
    try:
        return variables_of(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return frozenset()


def step_inputs(pack: Pack, step: Step) -> set[str]:
    """Names of other steps' fields that this step's documents, decisions, stories or checks read."""
    names: set[str] = set()
    texts: list[str] = [c.when for c in step.meta.checks]
    texts += [t for d in step.meta.decisions for t in (d.choice, d.rationale, d.when or "")]
    if step.meta.stories:
        for item in step.meta.stories.items:
            texts += [item.title, item.description, *item.acceptance_criteria, item.when or ""]
    for text in texts:
        if text:
            names |= variables_of(text)
    for output in step.meta.outputs:
        if output.template:
            names |= _template_variables(pack.templates_dir / output.template)
        elif output.schema_name:
            names |= set(step.meta.form)
    others = {name for other in pack.steps.values() if other.id != step.id for name in other.meta.form}
    return (names & others) - set(step.meta.form)


def drafted_from(pack: Pack, step: Step, flat: Mapping[str, Any]) -> dict[str, str]:
    """The digests of the other steps' answers this step's documents were drafted from."""
    return {name: digest(flat.get(name)) for name in sorted(step_inputs(pack, step)) if name in flat}


def stale_steps(pack: Pack, sidecar: Mapping[str, Any]) -> dict[str, list[str]]:
    """Steps whose documents were drafted from answers that have changed since:
    {step id: [changed field, ...]}, in pack order."""
    recorded = sidecar.get("drafted_from") or {}
    out: dict[str, list[str]] = {}
    for step_id in pack.steps:
        inputs = recorded.get(step_id)
        # completed once (it may be reopened now) and not skipped since
        status = (sidecar.get("steps") or {}).get(step_id)
        done = step_id in (sidecar.get("stepsCompleted") or []) and status != "skipped"
        if not inputs or not done:
            continue
        flat = flat_answers(sidecar, exclude_step=step_id)
        changed = [name for name, value in inputs.items() if digest(flat.get(name)) != value]
        if changed:
            out[step_id] = changed
    return out


def owner_of(pack: Pack, field: str) -> str | None:
    return next((s.id for s in pack.steps.values() if field in s.meta.form), None)


def stale_lines(pack: Pack, sidecar: Mapping[str, Any], exclude: str | None = None) -> list[str]:
    """One line per stale step (but `exclude`, the step being re-drafted now): its documents and
    the answers that changed under them."""
    lines = []
    for step_id, changed in stale_steps(pack, sidecar).items():
        if step_id == exclude:
            continue
        step = pack.step(step_id)
        paths = ", ".join(o.path for o in step.meta.outputs) or "its decisions"
        fields = ", ".join(f"{name} (step {owner_of(pack, name) or '?'})" for name in changed)
        lines.append(f"step {step_id} ({step.title}): {paths} drafted before {fields} changed")
    return lines


def project_status(pack: Pack, sidecar: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """What `cairn status` adds to the progress rows: whether the training spec is approved (and
    still the file that was approved), and the steps whose documents are stale."""
    training = dict(sidecar.get("training") or {})
    approval: dict[str, Any] = {"approved": bool(training.get("approved"))}
    if approval["approved"]:
        spec = next((folder / o.path for s in pack.steps.values() for o in s.meta.outputs
                     if o.schema_name == "TrainingSpec"), None)
        try:
            current = spec is not None and hashlib.sha256(spec.read_bytes()).hexdigest() == training.get("spec_sha256")
        except OSError:
            current = False
        approval.update(by=training.get("approved_by"), at=training.get("approved_at"), unchanged=current)
    return {"training_spec": approval, "stale": stale_lines(pack, sidecar)}
