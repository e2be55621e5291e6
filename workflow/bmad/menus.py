"""BMAD menus, written in the body as `[A] Analyze … [P] View progress [C] Continue to Step 6`
inside a section whose heading contains MENU, sometimes with `*command` triggers, turned into
Cairn menu items. The engine then enforces them: Continue is the only way forward."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow.bmad.markdown import Line, clean, heading
from workflow.pack_model import MenuAction

_ITEM = re.compile(r"\[([A-Za-z0-9]{1,2})\](?!\()\s*([^\[\]\n]*)")
_COMMAND = re.compile(r"(?<![\w*])\*([a-z][a-z0-9-]{0,38})(?![\w*-])")
_BOX = re.compile(r"[│║═╔╗╚╝┌┐└┘╭╮╰╯]")  # summary boxes drawn around menus are not menu items
_HANDLING = re.compile(r"handl|logic|^if\b|execution rules", re.IGNORECASE)
_BY_KEY: dict[str, MenuAction] = {"C": "continue"}
# BMAD's fixed letters when the label does not say otherwise ([A] Analyze…, [P] View progress).
_LETTER_DEFAULT: dict[str, MenuAction] = {"A": "revise", "P": "progress"}
# Items that need a second agent or a model conversation (BMAD's Party Mode): not offered by Cairn.
_NEEDS_MODEL = re.compile(r"party[\s-]*mode", re.IGNORECASE)
# Words in a label that say what an item does, for the letters BMAD uses without a fixed meaning.
_BY_WORD: tuple[tuple[MenuAction, tuple[str, ...]], ...] = (
    ("continue", ("continue", "proceed", "next step")),
    ("requery", ("re-query", "requery", "query", "knowledge", "search")),
    ("progress", ("progress", "status")),
    ("review", ("review", "view", "show", "display", "summary")),  # the drafts of this visit
    ("skip", ("skip",)),
    ("revise", ("revise", "revisit", "refine", "redo", "edit", "analy", "deeper", "elicit")),
)


@dataclass(frozen=True, kw_only=True)
class ParsedItem:
    key: str
    label: str
    action: MenuAction
    guessed: bool  # True when nothing said what the item does and `revise` was assumed
    needs_model: bool = False  # Party Mode: other agents joining in, which only a model can play


@dataclass(frozen=True, kw_only=True)
class ParsedMenu:
    items: tuple[ParsedItem, ...]
    lines: frozenset[int]  # body line numbers of the menu (left out of the guidance)
    found_section: bool


def menu_blocks(lines: list[Line]) -> frozenset[int]:
    """Line numbers of every section whose heading contains MENU, down to the next heading
    of the same or a higher level."""
    inside: set[int] = set()
    level: int | None = None
    for line in lines:
        found = heading(line)
        if found is not None:
            if level is not None and found[0] <= level:
                level = None
            if level is None and "menu" in found[1].lower():
                level = found[0]
        if level is not None:
            inside.add(line.number)
    return frozenset(inside)


def parse_menu(lines: list[Line]) -> ParsedMenu:
    """Items from the MENU sections (first mention of a key wins). Without a MENU section, the
    first line that offers a bracketed [C] item is used."""
    block = menu_blocks(lines)
    chosen = [line for line in lines if line.number in block]
    found_section = bool(chosen)
    if not chosen:
        chosen = [line for line in lines if not line.fenced
                  and any(k.upper() == "C" for k, _ in _ITEM.findall(line.text))][:1]
        block = frozenset(line.number for line in chosen)
    items: dict[str, ParsedItem] = {}
    handling = False  # under "Menu Handling Logic" / "IF User Selects [A]": what an item does, not the menu
    boxed = _boxed_blocks(lines)
    for line in chosen:
        found = heading(line)
        if found is not None:
            handling = bool(_HANDLING.search(found[1]))
            continue
        if handling or _BOX.search(line.text):
            continue
        if line.number in boxed and not line.text.strip().startswith("["):
            continue  # a summary inside a drawn box ("- ✅ [N] Stakeholders …"), not a menu line
        for match in _ITEM.finditer(line.text):
            letter = match.group(1).upper()
            if letter not in items:
                label = _label(match.group(2)) or letter
                action, guessed = action_for(letter, label)
                items[letter] = ParsedItem(key=letter, label=label, action=action, guessed=guessed,
                                           needs_model=bool(_NEEDS_MODEL.search(label)))
        for match in _COMMAND.finditer(line.text.replace("`", "")):
            command = f"*{match.group(1)}"
            if command.upper() not in items:
                rest = line.text.replace("`", "")[match.end():]
                label = _label(rest) or match.group(1).replace("-", " ")
                action, guessed = action_for("", f"{match.group(1)} {label}")
                items[command.upper()] = ParsedItem(key=command, label=label, action=action, guessed=guessed,
                                                    needs_model=bool(_NEEDS_MODEL.search(command)))
    return ParsedMenu(items=tuple(items.values()), lines=block, found_section=found_section)


def _boxed_blocks(lines: list[Line]) -> frozenset[int]:
    """Line numbers of code fences that draw a box (═, │, …) around their text."""
    out: set[int] = set()
    block: list[Line] = []
    for line in [*lines, Line(number=-1, text="", fenced=False)]:
        if line.fenced:
            block.append(line)
            continue
        if block and any(_BOX.search(b.text) or "═" in b.text for b in block):
            out.update(b.number for b in block)
        block = []
    return frozenset(out)


def action_for(letter: str, label: str) -> tuple[MenuAction, bool]:
    """C continues everywhere in BMAD; other keys are read from their label first ([A] Advanced
    Elicitation digs deeper into the answers: revise; [R] Re-query: requery), then A and P keep
    their meaning in the AI-engineering packs (revise, progress). Anything else is assumed to
    be `revise`."""
    if letter in _BY_KEY:
        return _BY_KEY[letter], False
    text = label.lower()
    for action, words in _BY_WORD:
        if any(word in text for word in words):
            return action, False
    if letter in _LETTER_DEFAULT:
        return _LETTER_DEFAULT[letter], False
    return "revise", True


def _label(text: str) -> str:
    text = re.split(r"\s+[|•·]\s+", text)[0]
    text = clean(text).strip(" -–—:|,;")
    return clean(text)
