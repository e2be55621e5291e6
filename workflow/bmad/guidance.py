"""A BMAD step body as Cairn guidance: sections split at `##` and `###` headings (BMAD nests
the real work under `###`), the MENU section left out (the engine draws the menu), and a form
so the step can be walked section by section: one optional text field per question the body
asks the user (`Ask user: "..."`, numbered or bulleted questions, `Q1: ...?` lines of a fenced
question tree, the Question column of a table), or one optional notes field for a section of
prose that asks nothing and is not facilitator instructions.

Facilitator-only text never reaches the user: the rules blocks ("🛑 NEVER generate content…",
execution protocols, success/failure checklists, context loading) go into a last section for
whoever facilitates (an assistant over MCP reads every section; the terminal shows a section
only before its first active question, and that one has none), their scope lines ("Focus only
on …", "FORBIDDEN to …") are also kept as a short "Scope of this step" section up front, and
boxes claiming files "have been saved" are dropped for everyone: the engine says what it
saved, when it has. Order, menus and the gate are the engine's, whatever the text says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from workflow.bmad.markdown import Line, clean, heading, slug, substitute, without_numbering
from workflow.pack_model import FormField, Section

_ASK = re.compile(r"^[\s>*_-]*ask(?:\s+(?:the\s+)?user)?[*_\s]*:[*_\s]*[\"“](.+?)[\"”]\s*$", re.IGNORECASE)
_TREE = re.compile(r"^\s*Q\d+[a-z]?\s*[:.)]\s*(.+\?)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
# A listed "question" that is really an instruction to the facilitator.
_IMPERATIVE = re.compile(r"^(?:check|verify|confirm|ensure|validate|load|read|if|when|update|save|append|"
                         r"display|present|show|record)\b", re.IGNORECASE)
# Sections for the facilitator only (unless numbered as part of the step's sequence).
_FACILITATOR = re.compile(r"rule|protocol|boundar|success|failure|critical|mandatory|reinforcement|handling|"
                          r"clearing|append to|collaboration menu|completion note|activation|next step|"
                          r"notes for|for (?:the )?agent|checklist",
                          re.IGNORECASE)
# Numbered sections about the user's subject even though their heading sounds like a rule.
_ASKS = re.compile(r"success|metric|goal|role|persona", re.IGNORECASE)
# Sections that tell the facilitator to produce something (no notes field; questions still asked).
_WORK = re.compile(r"\b(?:save|generate|present|record|document|append|update|write|create)\b", re.IGNORECASE)
_SCOPE_LINE = re.compile(r"\b(?:focus\s+(?:only\s+)?on|forbidden\s+to\s+(?:discuss|proceed\s+without)|out of scope)\b",
                         re.IGNORECASE)
_SAVED_CLAIM = re.compile(r"has been saved|have been saved|saved to:|✓ saved|files? (?:were|was) saved", re.IGNORECASE)
_RULE_MARK = re.compile(r"^[\s>*_-]*(?:🛑|🚫|⛔|⚠️|📖|🔄|📋|✅|❌|💾|🎯|💬|🚨)")
_NUMBERED = re.compile(r"^\s*(?:step\s+)?\d+[a-z]?\s*[.):]", re.IGNORECASE)
_LISTED = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.+\?(?:\s*\([^)]*\))?)\s*[*_]*\s*$")
_EMPTY_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(?:[ \t]*\n)*[ \t]*\1[ \t]*(?:\n|$)", re.MULTILINE)
# Headings of sections that instruct the facilitator rather than ask the user anything; their
# `###` subsections too. Such sections get no notes field (their questions are still asked).
_INSTRUCTION = re.compile(r"rule|protocol|boundar|success|failure|metric|activation|load context|mandatory|"
                          r"goal|critical|welcome|introduc|overview|role|instruction|menu|persona|knowledge",
                          re.IGNORECASE)


FACILITATOR_RULES = "Facilitator rules (for the assistant, not shown in the terminal)"
FACILITATOR_FIELD = "facilitator_rules"


@dataclass(frozen=True, kw_only=True)
class Guidance:
    title: str | None  # the body's `# ` heading, without a "Step 4:" prefix
    sections: tuple[Section, ...]
    form: dict[str, FormField]


def read_guidance(lines: list[Line], skip: frozenset[int], values: Mapping[str, str]) -> Guidance:
    """Sections (placeholders from config.yaml filled in) and the form derived from them.
    `skip` holds the line numbers of the menu and of the knowledge calls."""
    title: str | None = None
    raw: list[tuple[str, bool, bool, list[Line]]] = [("", True, False, [])]  # heading, instructs, hidden, lines
    parent_instructs = parent_hidden = False
    scope: list[str] = []
    for line in lines:
        if line.number in skip:
            continue
        found = heading(line)
        if found is not None and found[0] == 1 and title is None:
            title = without_numbering(substitute(found[1], values))
            continue
        if found is not None and found[0] in (2, 3):
            numbered = bool(_NUMBERED.match(found[1]))  # a numbered section is part of the step's sequence
            instructs = bool(_INSTRUCTION.search(found[1])) and not (numbered and _ASKS.search(found[1]))
            instructs = (instructs and "sequence" not in found[1].lower()) or bool(_WORK.search(found[1]))
            hidden = bool(_FACILITATOR.search(found[1])) and not numbered
            if found[0] == 2:
                parent_instructs, parent_hidden = instructs, hidden
            else:
                instructs = instructs or (parent_instructs and not numbered)
                hidden = hidden or parent_hidden
            raw.append((substitute(found[1], values), instructs, hidden, []))
            continue
        raw[-1][3].append(line)
    sections: list[Section] = []
    form: dict[str, FormField] = {}
    rules: list[str] = []
    for name, instructs, hidden, body in raw:
        if hidden:
            scope += [clean(re.sub(r"^[\s>*_-]+", "", _RULE_MARK.sub("", line.text))) for line in body
                      if not line.fenced and _SCOPE_LINE.search(line.text)]
            kept = _visible(body, rules=True)
            if kept:
                rules.append(f"### {substitute(name, values)}\n{substitute(kept, values)}")
            continue
        text = substitute(_visible(body), values)
        text = _EMPTY_FENCE.sub("", text).strip()
        text = re.sub(r"\n(---\s*\n?)+$", "", text).strip().removesuffix("---").strip()
        if not text:
            continue
        sections.append(Section(heading=name, text=text))
        if not name:
            continue
        questions = _questions(body, values, explicit_only=instructs)
        base = slug(name)
        for number, question in enumerate(questions, 1):
            _add(form, f"{base}_q{number}", FormField(type="text", ask=question, required=False, section=name))
        if not questions and not instructs and any(line.text.strip() and not line.fenced for line in body):
            _add(form, f"{base}_notes", FormField(type="text", ask=f"Notes on {without_numbering(name)}",
                                                  required=False, section=name))
    if scope:
        lines_text = "\n".join(f"- {substitute(line, values)}" for line in dict.fromkeys(scope) if line)
        sections.insert(0, Section(heading="Scope of this step", text=lines_text))
    if rules:
        # The rules are for whoever facilitates: an assistant reads every section of the step, while
        # the terminal shows a section only before its first active question, and this one has none.
        sections.append(Section(heading=FACILITATOR_RULES, text="\n\n".join(rules)))
        form[FACILITATOR_FIELD] = FormField(type="text", required=False, when="false", section=FACILITATOR_RULES,
                                            ask="Facilitator rules (never asked)")
    return Guidance(title=title, sections=tuple(sections), form=form)


def _visible(body: list[Line], *, rules: bool = False) -> str:
    """The lines a user may read: no rule bullets, no boxes claiming that files were saved
    (the engine says what it saved, when it has). With `rules`, rule bullets are kept (for the
    facilitator) but the saved-claim boxes still go."""
    out: list[str] = []
    block: list[str] = []
    for line in body:
        if line.fenced:
            block.append(line.text)
            if len(block) > 1 and line.text.strip().startswith(("```", "~~~")):
                if not any(_SAVED_CLAIM.search(b) for b in block):
                    out += block
                block = []
            continue
        if block:  # an unclosed fence
            out += block
            block = []
        if (_RULE_MARK.match(line.text) and not rules) or _SAVED_CLAIM.search(line.text):
            continue
        out.append(line.text)
    if block and not any(_SAVED_CLAIM.search(b) for b in block):
        out += block
    return "\n".join(out).strip()


def _questions(body: list[Line], values: Mapping[str, str], *, explicit_only: bool = False) -> list[str]:
    out: list[str] = []
    columns: tuple[int, int] | None = None  # (question column, label column) of the table in progress

    def add(text: str) -> None:
        question = substitute(clean(text), values)
        if question and question not in out:
            out.append(question)

    for line in body:
        row = _TABLE_ROW.match(line.text) if not line.fenced else None
        if row is not None:
            cells = [clean(c) for c in row.group(1).split("|")]
            if columns is None:
                lowered = [c.lower() for c in cells]
                columns = (lowered.index("question"), 0) if "question" in lowered else (-1, 0)
            elif columns[0] >= 0 and len(cells) > columns[0] and not set(cells[columns[0]]) <= set("-: "):
                label, question = cells[columns[1]], cells[columns[0]]
                if question and not explicit_only:
                    add(f"{label}: {question}" if label and label != question else question)
            continue
        columns = None
        if line.fenced:
            tree = _TREE.match(line.text)
            if tree and not explicit_only:
                add(tree.group(1))
            continue
        match = _ASK.match(line.text)
        if match is None and not explicit_only:
            listed = _LISTED.match(line.text)
            if listed and not _IMPERATIVE.match(clean(listed.group(1))):
                match = listed
        if match:
            add(match.group(1))
    return out


def _add(form: dict[str, FormField], name: str, spec: FormField) -> None:
    candidate, number = name, 2
    while candidate in form:
        candidate, number = f"{name}_{number}", number + 1
    form[candidate] = spec
