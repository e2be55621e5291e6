"""Readable summaries of a project: progress rows, project-spec.md, and `cairn export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow.pack_model import Pack


def progress_rows(pack: Pack, sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    statuses = sidecar.get("steps") or {}
    return [{"id": sid, "title": step.title, "status": statuses.get(sid, "pending"),
             "current": sid == sidecar.get("currentStep")} for sid, step in pack.steps.items()]


def document_summary(path: Path, limit: int = 160) -> str:
    """First heading and first paragraph of a markdown document, trimmed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    heading = next((line.lstrip("# ").strip() for line in lines if line.startswith("#")), path.name)
    body = next((line.strip() for line in lines if line.strip() and not line.startswith(("#", "|", "-", ">"))), "")
    text = f"{heading}: {body}" if body else heading
    return text if len(text) <= limit else text[: limit - 1] + "…"


def project_markdown(pack: Pack, sidecar: dict[str, Any], folder: Path, *, full: bool = False) -> str:
    """project-spec.md (and, with `full`, the shareable export with every story and document)."""
    name = sidecar.get("project_name", folder.name)
    out = [f"# {name}: project summary", "",
           f"- **Workflow:** {pack.title} ({pack.name} {pack.version})",
           f"- **Owner:** {sidecar.get('user_name') or '-'}",
           f"- **Status:** {sidecar.get('workflow_status')}; current step: {sidecar.get('currentStep') or '-'}",
           f"- **Architecture:** {sidecar.get('architecture') or 'not decided'}; "
           f"build vs buy: {sidecar.get('build_vs_buy') or 'not decided'}", "",
           "## Progress", "", "| step | title | status |", "| --- | --- | --- |"]
    out += [f"| {r['id']} | {r['title']} | {r['status']} |" for r in progress_rows(pack, sidecar)]
    out += ["", "## Decisions", ""]
    decisions = sidecar.get("decisions") or []
    if not decisions:
        out.append("_No decisions recorded yet._")
    for d in decisions:
        out.append(f"- **{d['id']} {d['title']}:** {d['choice']} — {d['rationale']}")
    # Dot-files are never documents (a killed writer's `.name.XXXX.tmp`, editor swap files).
    documents = sorted(p.relative_to(folder).as_posix() for p in folder.glob("phase-*/**/*")
                       if p.is_file() and not p.is_symlink() and "runs" not in p.parts
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    out += ["", "## Documents", ""]
    out += [f"- [{d}]({d}): {document_summary(folder / d)}" for d in documents] or ["_None yet._"]
    stories = sidecar.get("stories") or {}
    out += ["", "## Stories", ""]
    if not any(stories.values()):
        out.append("_None yet._")
    for items in stories.values():
        for story in items or []:
            out.append(f"- **{story['id']}** {story['title']}")
            if full:
                out.append(f"  {story.get('description', '')}")
                out += [f"  - [ ] {c}" for c in story.get("acceptance_criteria") or []]
    out += ["", "## Open questions", ""]
    open_items = [f"- Step {r['id']} ({r['title']}) is {r['status']}" for r in progress_rows(pack, sidecar)
                  if r["status"] in ("pending", "in_progress")]
    for step_id, notes in (sidecar.get("notes") or {}).items():
        open_items += [f"- Note at step {step_id}: {note}" for note in notes]
    out += open_items or ["_None._"]
    if full:
        for d in documents:
            if d.endswith(".md"):
                # errors="replace": a document saved in another encoding must not stop the export.
                text = (folder / d).read_text(encoding="utf-8", errors="replace").strip()
                out += ["", "---", "", f"<!-- {d} -->", "", text]
    return "\n".join(out) + "\n"
