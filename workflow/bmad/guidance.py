"""A BMAD step body as Cairn guidance: sections split at `##` and `###` headings (BMAD nests
the real work under `###`), the MENU section left out (the engine draws the menu), and a
minimal form so the step can be walked section by section: one optional text field per
question the body asks (`Ask: "..."`, numbered or bulleted lines ending in `?`), or one
optional notes field for a section of prose that asks nothing and is not facilitator
instructions (rules, goals, context loading, knowledge queries)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from workflow.bmad.markdown import Line, clean, heading, slug, substitute, without_numbering
from workflow.pack_model import FormField, Section

_ASK = re.compile(r"^[\s>*_-]*ask[*_\s]*:[*_\s]*[\"“](.+?)[\"”]\s*$", re.IGNORECASE)
_LISTED = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.+\?)\s*[*_]*\s*$")
_EMPTY_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(?:[ \t]*\n)*[ \t]*\1[ \t]*(?:\n|$)", re.MULTILINE)
# Headings of sections that instruct the facilitator rather than ask the user anything; their
# `###` subsections too. Such sections get no notes field (their questions are still asked).
_INSTRUCTION = re.compile(r"rule|protocol|boundar|success|failure|metric|activation|load context|mandatory|"
                          r"goal|critical|welcome|introduc|overview|role|instruction|menu|persona|knowledge",
                          re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Guidance:
    title: str | None  # the body's `# ` heading, without a "Step 4:" prefix
    sections: tuple[Section, ...]
    form: dict[str, FormField]


def read_guidance(lines: list[Line], skip: frozenset[int], values: Mapping[str, str]) -> Guidance:
    """Sections (placeholders from config.yaml filled in) and the form derived from them.
    `skip` holds the line numbers of the menu and of the knowledge calls."""
    title: str | None = None
    raw: list[tuple[str, bool, list[Line]]] = [("", True, [])]  # heading, is instructions, lines
    parent_instructs = False
    for line in lines:
        if line.number in skip:
            continue
        found = heading(line)
        if found is not None and found[0] == 1 and title is None:
            title = without_numbering(substitute(found[1], values))
            continue
        if found is not None and found[0] in (2, 3):
            instructs = bool(_INSTRUCTION.search(found[1]))
            if found[0] == 2:
                parent_instructs = instructs
            raw.append((substitute(found[1], values), instructs or (found[0] == 3 and parent_instructs), []))
            continue
        raw[-1][2].append(line)
    sections: list[Section] = []
    form: dict[str, FormField] = {}
    for name, instructs, body in raw:
        text = substitute("\n".join(line.text for line in body).strip(), values)
        text = _EMPTY_FENCE.sub("", text).strip()
        text = re.sub(r"\n(---\s*\n?)+$", "", text).strip().removesuffix("---").strip()
        if not text:
            continue
        sections.append(Section(heading=name, text=text))
        if not name:
            continue
        questions = _questions(body, values)
        base = slug(name)
        for number, question in enumerate(questions, 1):
            _add(form, f"{base}_q{number}", FormField(type="text", ask=question, required=False, section=name))
        if not questions and not instructs and any(line.text.strip() and not line.fenced for line in body):
            _add(form, f"{base}_notes", FormField(type="text", ask=f"Notes on {without_numbering(name)}",
                                                  required=False, section=name))
    return Guidance(title=title, sections=tuple(sections), form=form)


def _questions(body: list[Line], values: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for line in body:
        if line.fenced:
            continue
        match = _ASK.match(line.text) or _LISTED.match(line.text)
        if match:
            question = substitute(clean(match.group(1)), values)
            if question and question not in out:
                out.append(question)
    return out


def _add(form: dict[str, FormField], name: str, spec: FormField) -> None:
    candidate, number = name, 2
    while candidate in form:
        candidate, number = f"{name}_{number}", number + 1
    form[candidate] = spec
