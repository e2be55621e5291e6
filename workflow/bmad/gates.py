"""What a BMAD step must produce before Continue, read from its text: the decision ids it tells
the facilitator to log (`## ARCH-001: Architecture Direction`, `- id: "BUILD-001"`), its story
section (`ARCH-S01 …`, "Generate stories", `story_prefixes` in config.yaml), and explicit
conditions ("Continue only when …", "FORBIDDEN to proceed without …"). Each becomes an item the
engine's gate checks, with the form fields a scripted walk fills it from; an assistant over MCP
fills the same items with its decision, story and answer tools."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workflow.bmad.markdown import Line, clean, heading, slug
from workflow.pack_model import FormField

_DECISION_ID = re.compile(r"\b([A-Z][A-Z0-9]{1,11}-\d{3})\b")
# Lines that record a decision (ID stands for the id): a decision-log heading, a sidecar entry,
# or a sentence that says to log or record it.
_RECORDED = (r"^\s*#{1,6}\s*\**(ID)\**\s*[:—–-]\s*(.+?)\s*$", r"^\s*[-*]?\s*id\s*:\s*[\"']?(ID)\b",
             r"(?i)\b(?:log|record|decision)\w*\b.*\b(ID)\b(?:\s*\(([^)]+)\))?", r"\b(ID)\s*\(([^)]+)\)")
_STORY_ID = re.compile(r"\b([A-Z][A-Z0-9]{1,11})-S\d{1,3}\b")
_PREFIXED = re.compile(r"\b([A-Z][A-Z0-9]{1,11})-prefixed\s+(?:implementation\s+)?stor", re.IGNORECASE)
_STORY_LINE = re.compile(r"^[\s>#*_-]*(?:\*\*)?[A-Z][A-Z0-9]{1,11}-S\d{1,3}(?:\*\*)?\s*[:—–-]\s*(.+?)\s*$")
_CONDITION = re.compile(r"(?:continue|proceed)\s+only\s+(?:when|if|once)\s+(.+)|"
                        r"(?:do\s+not|don't|never)\s+(?:continue|proceed)\s+(?:until|unless|without)\s+(.+)|"
                        r"forbidden\s+to\s+proceed\s+(?:without|until|unless)\s+(.+)|"
                        r"^[\s>*_-]*gate[*_\s]*:[*_\s]*(.+)", re.IGNORECASE)
# Conditions about the menu itself (the engine enforces those already), not about the work.
_MENU_WORDS = re.compile(r"\bmenu\b|\bselect|'c'|\"c\"|\[c\]|\bc\b is|user confirmation|explicitly|"
                         r"user (?:says|chooses|types)|approval through", re.IGNORECASE)
_CONDITION_LIST = re.compile(r"only\s+when\**\s+the\s+following\s+conditions|"
                             r"(?:continue|proceed)\s+only\s+(?:when|if)\s*:\s*$", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.+?)\s*$")
_MARK = re.compile(r"^[\s✅☑✔️\[\]xX]*")
# Conditions on what the engine itself does at Continue (files written, the sidecar updated).
_ENGINE_WORK = re.compile(r"sidecar|has been (?:created|updated|saved|written)|project-spec", re.IGNORECASE)
STORY_SLOTS = 10  # stories a scripted walk can enter for one step


@dataclass(kw_only=True)
class Gates:
    form: dict[str, FormField] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stories: dict[str, Any] | None = None
    guards: list[dict[str, str]] = field(default_factory=list)


def decision_ids(lines: list[Line]) -> tuple[dict[str, str], list[str]]:
    """(ids the step records, with a title when the text gives one; every id it mentions)."""
    recorded: dict[str, str] = {}
    mentioned: list[str] = []
    for line in lines:
        for found in _DECISION_ID.findall(line.text):
            if found not in mentioned:
                mentioned.append(found)
            for pattern in _RECORDED:
                match = re.search(pattern.replace("ID", re.escape(found)), line.text)
                if match is None:
                    continue
                title = clean(match.group(2) or "") if match.lastindex and match.lastindex >= 2 else ""
                if title or found not in recorded:
                    recorded[found] = re.sub(r"\s*\(.*?\)\s*$", "", title) or recorded.get(found, "")
                break
    return recorded, mentioned


def find_gates(*, step_id: str, title: str, lines: list[Line], decisions: dict[str, str],
               story_prefix: str | None) -> Gates:
    """The gate items of one step. `decisions` are the ids this step owns (id -> title)."""
    gates = Gates()
    for decision, label in decisions.items():
        base = slug(decision.lower().replace("-", "_"))
        label = label or f"Decision {decision}"
        gates.form[f"{base}_choice"] = FormField(type="text", required=False, section="Decisions",
                                                 ask=f"{decision} ({label}): what did you decide?")
        gates.form[f"{base}_rationale"] = FormField(type="text", required=False, section="Decisions",
                                                    ask=f"{decision}: why? (the rationale for the decision log)")
        gates.decisions.append({"id": decision, "title": label, "choice": f"{{{{ {base}_choice }}}}",
                                "rationale": f"{{{{ {base}_rationale }}}}"})
    prefix = story_prefix or _story_prefix(lines)
    if prefix:
        gates.stories, field_spec = _stories(step_id, title, prefix, lines)
        gates.form[f"stories_{_ident(step_id)}"] = field_spec
    for number, condition in enumerate(_conditions(lines), 1):
        name = f"gate_{_ident(step_id)}_{number}"
        gates.form[name] = FormField(type="bool", required=False, section="Gate", ask=f"Confirm: {condition}?")
        gates.guards.append({"when": f"not {name}", "message": f"Continue only when {condition} "
                             f"(confirm it: {name})"})
    return gates


def _story_prefix(lines: list[Line]) -> str | None:
    in_story_section = False
    for line in lines:
        found = heading(line)
        if found is not None:
            in_story_section = "stor" in found[1].lower()
            continue
        match = _STORY_ID.search(line.text) or _PREFIXED.search(line.text)
        if match and (in_story_section or _PREFIXED.search(line.text) or "stor" in line.text.lower()):
            return match.group(1).upper()
    return None


def _stories(step_id: str, title: str, prefix: str, lines: list[Line]) -> tuple[dict[str, Any], FormField]:
    """A list field (one story a line: `title: acceptance criterion`) and the story items
    drafted from it; stories the body spells out are offered as the default."""
    name = f"stories_{_ident(step_id)}"
    written = [clean(m.group(1)) for line in lines if (m := _STORY_LINE.match(line.text))]
    written = [w for w in dict.fromkeys(written) if w and "[" not in w and "{" not in w]
    items = []
    for i in range(STORY_SLOTS):
        entry = f"{name}[{i}]"
        items.append({
            "title": f"{{{{ {entry}.split(':', 1)[0] | trim }}}}",
            "description": f"{{{{ {entry} | trim }}}} (step {step_id}: {title})",
            "acceptance_criteria": [f"{{{{ ({entry}.split(':', 1)[1] if ':' in {entry} else 'Done: ' ~ {entry}) "
                                    "| trim }}"],
            "when": f"({name} | default([]) | length) > {i}",
        })
    spec = FormField(type="list", required=False, section="Stories", default=written or None,
                     ask=f"Implementation stories for this step ({prefix}-S01, …), each as "
                         "'title: acceptance criterion'")
    return {"prefix": prefix, "key": f"step_{_ident(step_id)}_stories", "items": items}, spec


def _conditions(lines: list[Line]) -> list[str]:
    out: list[str] = []
    listing = False  # inside the list after "ONLY WHEN the following conditions are true …"
    for line in lines:
        if line.fenced:
            continue
        if _CONDITION_LIST.search(line.text):
            listing = True
            continue
        if listing:
            item = _LIST_ITEM.match(line.text)
            if item is None:
                listing = bool(not line.text.strip())  # a blank line may sit between the intro and the list
                continue
            text = clean(_MARK.sub("", item.group(1))).rstrip(".!")
            text = text[:1].lower() + text[1:] if text[1:2].islower() else text  # "Every doc…" reads on
            if text and not _MENU_WORDS.search(text) and not _ENGINE_WORK.search(text) and text not in out:
                out.append(text)
            continue
        match = _CONDITION.search(clean(line.text))
        if match is None:
            continue
        group = next(i for i, g in enumerate(match.groups()) if g)
        text = clean(match.groups()[group]).rstrip(".!")
        if group in (1, 2) and not text.lower().startswith(("the ", "a ", "an ")):  # "…proceed without clear X"
            text = f"there is {text}" if group == 2 else text
        if text and not _MENU_WORDS.search(text) and text not in out:
            out.append(text)
    return out


def _ident(step_id: str) -> str:
    """A step id as part of a field name: "2a" -> "2a", "step-02.b" -> "step_02_b"."""
    return re.sub(r"[^a-z0-9]+", "_", step_id.lower()).strip("_") or "step"
