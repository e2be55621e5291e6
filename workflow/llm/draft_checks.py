"""Sanity checks of a model-drafted document before the user approves it (issue 14, item 4): the
template's headings are all there, the draft is not empty, not absurdly larger than the template
draft, and has no hidden characters. The warnings are shown above the approval prompt; a diff
against the template draft is one key away."""

from __future__ import annotations

import difflib

from workflow.llm.display import hidden_characters

SIZE_FACTOR = 4  # a draft more than this many times the template draft's size is flagged...
SIZE_SLACK_CHARS = 4000  # ...once it is also this much larger (short templates grow legitimately)


def headings(markdown: str) -> list[str]:
    """The markdown headings (`#` lines outside code fences), normalised: `## Risks`."""
    out: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        elif not fenced and stripped.startswith("#"):
            marks = len(stripped) - len(stripped.lstrip("#"))
            title = " ".join(stripped[marks:].split()).rstrip(":")
            if title and marks <= 6:
                out.append(f"{'#' * marks} {title}")
    return out


def _key(heading: str) -> str:
    return heading.lstrip("#").strip().casefold()


def draft_warnings(template_draft: str, draft: str) -> list[str]:
    """What is wrong with `draft` compared with the engine's `template_draft`; empty when it looks sane."""
    if not draft.strip():
        return ["the draft is empty"]
    warnings: list[str] = []
    have = {_key(h) for h in headings(draft)}
    missing = [h for h in headings(template_draft) if _key(h) not in have]
    if missing:
        warnings.append(f"{len(missing)} heading(s) of the template are missing: " + "; ".join(missing[:8])
                        + (" …" if len(missing) > 8 else ""))
    size, base = len(draft), len(template_draft)
    if size > SIZE_FACTOR * base and size - base > SIZE_SLACK_CHARS:
        lines, base_lines = draft.count("\n") + 1, template_draft.count("\n") + 1
        warnings.append(f"the draft is {size:,} characters ({lines:,} lines), {size / max(base, 1):.0f}x the "
                        f"template draft's {base:,} characters ({base_lines:,} lines)")
    hidden = hidden_characters(draft)
    if hidden:
        codes = ", ".join(hidden[:6])
        warnings.append(f"the draft contains hidden or control characters ({codes}), shown as \\u codes")
    return warnings


def diff(template_draft: str, draft: str, path: str) -> str:
    """A unified diff from the template draft to the model's draft."""
    lines = difflib.unified_diff(template_draft.splitlines(keepends=True), draft.splitlines(keepends=True),
                                 fromfile=f"{path} (template)", tofile=f"{path} (model draft)")
    return "".join(lines) or "(no differences)"


__all__ = ["diff", "draft_warnings", "headings"]
