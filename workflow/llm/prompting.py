"""What the model sees on each turn (issue 4, item 2; issue 14, item 3): the persona, the rules
that keep navigation with the engine, the guidance of the current section, the fields still
open, the project brief (earlier steps' confirmed answers, decisions, stories, notes), this
step's knowledge results, earlier steps' documents in full, and a bounded history. When the
whole is over `prompt_budget_tokens`, whole items go (a document first falls back to its
headings summary, then the lowest-ranked item or oldest message is dropped), never cut in the
middle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workflow.fileio import safe_to_read
from workflow.llm.brief import brief_parts
from workflow.pack_model import Pack, Step

Role = Literal["system", "human", "ai"]
HISTORY_MESSAGES = 12  # at most this many earlier messages of the step's conversation
DOC_SUMMARY_TOKENS = 150  # a context document that does not fit falls back to this summary
DOC_TOKENS = 900  # by default a context document longer than this comes in as its first whole sections
KNOWLEDGE_RESULTS = 6  # the step's top knowledge results (after removing repeats across queries)
DETAILED_FIELDS = 8  # open fields described in full; the rest are named


def count_tokens(text: str) -> int:
    """About four characters per token for English prose: close enough to budget a prompt and
    the same counter on both sides of the benchmark. Providers report the exact numbers."""
    return (len(text) + 3) // 4


@dataclass(frozen=True, kw_only=True)
class Prompt:
    messages: list[tuple[Role, str]]
    tokens: int
    dropped: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class _Item:
    key: str
    text: str
    keep: int  # higher survives longer; 100 is never dropped
    fallback: str | None = None  # a shorter stand-in tried before the item is dropped


def summarise(text: str, budget: int = DOC_SUMMARY_TOKENS) -> str:
    """The title, every heading, and the first line under it, until `budget` tokens: enough for
    a later persona to know what was decided, far shorter than the document."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    want_body = True
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("#"):
            piece, want_body = line, True
        elif want_body:
            piece, want_body = line, False
        else:
            continue
        if count_tokens("\n".join([*out, piece])) > budget:
            break
        out.append(piece)
    return "\n".join(out)


def leading_sections(text: str, budget: int = DOC_TOKENS) -> str:
    """`text` whole when it fits `budget` tokens; else its title and first `##` sections, each
    whole (tables and values kept), then the headings of the sections left out."""
    if count_tokens(text) <= budget:
        return text
    blocks: list[str] = []
    for line in text.splitlines():
        if line.startswith("## ") or not blocks:
            blocks.append(line)
        else:
            blocks[-1] += "\n" + line
    kept: list[str] = []
    for i, block in enumerate(blocks):
        if i and count_tokens("\n".join([*kept, block])) > budget:
            rest = [b.splitlines()[0] for b in blocks[i:]]
            return "\n".join(kept) + "\n(sections not shown: " + "; ".join(h.lstrip("# ") for h in rest) + ")"
        kept.append(block)
    return "\n".join(kept)


def persona_text(pack: Pack, step: Step) -> str:
    persona = pack.personas.get(step.meta.agent)
    if persona is None:
        return f"You are the facilitator of this step ({step.meta.agent})."
    lines = [f"You are {persona.name}, {persona.title}."]
    if persona.style:
        lines.append(f"Style: {persona.style}")
    if persona.principles:
        lines.append("Principles: " + "; ".join(persona.principles))
    lines.append(persona.body.strip())
    return "\n".join(lines)


def rules_text(step: Step) -> str:
    return (f"You facilitate step {step.id} ({step.title}: {step.meta.description}) and nothing else. "
            "Cairn, not you, moves the session: the user picks menu options (continue, skip, revise) "
            "themselves, so never say a step is done, skipped or finished, and do not offer to move on. "
            "Ask one question at a time, about the open fields below. Never invent numbers or facts the "
            "user did not give; when you use a knowledge entry, cite its id in brackets.")


def section_of(step: Step, name: str) -> str | None:
    """The guidance section a field belongs to: its own `section`, else the one before it."""
    current: str | None = None
    for field_name, spec in step.meta.form.items():
        current = spec.section or current
        if field_name == name:
            return current
    return None


def _fields_text(step: Step, open_fields: Sequence[str], answers: Mapping[str, Any], section: str | None,
                 detail: bool) -> str:
    rows: list[str] = []
    for name in open_fields:
        spec = step.meta.form.get(name)
        if spec is None:
            continue
        if not detail or len(rows) >= DETAILED_FIELDS or section_of(step, name) != section:
            rows.append(f"- {name} ({spec.type})")
            continue
        extra = f" choices: {', '.join(spec.choices)}" if spec.choices else ""
        extra += f" (default {spec.default})" if spec.default not in (None, "", []) else ""
        rows.append(f"- {name} ({spec.type}): {spec.ask or name}{extra}" + (f" — {spec.help}" if spec.help else ""))
    done = [f"- {k}: {v}" for k, v in answers.items()]
    text = "Open fields (the current section's in detail):\n" + ("\n".join(rows) or "- none")
    if done:
        text += "\nConfirmed answers:\n" + "\n".join(done)
    return text


def _section_items(step: Step, section: str | None) -> list[_Item]:
    """The current section whole (never dropped) and the other headings in one line: the
    guidance of other sections comes in when the conversation reaches their fields."""
    current = section or (step.sections[0].heading if step.sections else None)
    items = [_Item(key=f"guidance:{s.heading}", text=f"## {s.heading}\n{s.text}", keep=100)
             for s in step.sections if s.heading == current and s.text]
    others = [s.heading for s in step.sections if s.heading != current]
    if others:
        items.append(_Item(key="guidance:others", text="Other sections of this step: " + "; ".join(others), keep=20))
    return items


def build_prompt(*, pack: Pack, step: Step, project_dir: Path, answers: Mapping[str, Any],
                 open_fields: Sequence[str], section: str | None, knowledge: Sequence[Mapping[str, Any]],
                 history: Sequence[tuple[Role, str]], task: str | None, budget: int,
                 detail_fields: bool = True, sidecar: Mapping[str, Any] | None = None,
                 doc_tokens: int = DOC_TOKENS) -> Prompt:
    """Assemble the messages for one model call. `section` defaults to the first open field's;
    `task` is a final instruction (propose values, draft a document) sent after the history;
    `detail_fields` False names the open fields only (a structured call carries their
    descriptions in its schema); `sidecar` is the project so far, for the brief; `doc_tokens`
    bounds each context document (0 leaves them out); `budget` is in tokens."""
    if section is None and open_fields:
        section = section_of(step, open_fields[0])
    items: list[_Item] = [_Item(key="persona", text=persona_text(pack, step), keep=100),
                          _Item(key="rules", text=rules_text(step), keep=100)]
    items += _section_items(step, section)
    items.append(_Item(key="fields", text=_fields_text(step, open_fields, answers, section, detail_fields),
                       keep=100))
    items += [_Item(key=part.key, text=part.text, keep=part.keep)
              for part in brief_parts(pack, step, sidecar or {}, answers)]
    unique: dict[str, Mapping[str, Any]] = {}
    for result in knowledge:
        unique.setdefault(str(result.get("id")), result)
    for rank, result in enumerate(list(unique.values())[:KNOWLEDGE_RESULTS]):
        text = f"[{result.get('id')}] {result.get('type')}: {result.get('title')} — {result.get('summary') or ''}"
        items.append(_Item(key=f"knowledge:{result.get('id')}", text=text.strip(), keep=60 - min(rank, 30)))
    for rank, rel in enumerate(step.meta.context if doc_tokens > 0 else []):
        path = safe_to_read(project_dir, rel)  # a link planted in the project never reaches the model
        if path is not None:
            body = path.read_text(encoding="utf-8", errors="replace").strip()
            shown = leading_sections(body, doc_tokens)
            items.append(_Item(key=f"context:{rel}", text=f"Earlier document {rel}:\n{shown}", keep=40 - min(rank, 20),
                               fallback=f"Earlier document {rel} (headings summary):\n{summarise(body)}"))
    recent = list(history)[-HISTORY_MESSAGES:]
    dropped = [f"history:{i}" for i in range(len(history) - len(recent))]
    turns: list[tuple[int, Role, str]] = []
    for i, (role, text) in enumerate(recent):
        # The latest message is what the user just said: never dropped. Older ones go first.
        turns.append((100 if i == len(recent) - 1 and task is None else 10 + i, role, text))
    tail = [("human", task)] if task else []

    def total() -> int:
        system = "\n\n".join(item.text for item in items)
        return count_tokens(system) + sum(count_tokens(t) + 4 for _, _, t in turns) + \
            sum(count_tokens(t) + 4 for _, t in tail)

    while total() > budget:
        candidates = [(item.keep, 0, idx) for idx, item in enumerate(items) if item.keep < 100]
        candidates += [(keep, 1, idx) for idx, (keep, _, _) in enumerate(turns) if keep < 100]
        if not candidates:
            break
        _, which, idx = min(candidates)
        if which == 0 and items[idx].fallback is not None:
            item = items[idx]
            items[idx] = _Item(key=item.key, text=str(item.fallback), keep=item.keep)
            dropped.append(f"{item.key} (whole)")
        elif which == 0:
            dropped.append(items.pop(idx).key)
        else:
            turns.pop(idx)
            dropped.append("history")
    system = "\n\n".join(item.text for item in items)
    messages: list[tuple[Role, str]] = [("system", system)]
    messages += [(role, text) for _, role, text in turns]
    messages += tail  # type: ignore[arg-type]
    return Prompt(messages=messages, tokens=total(), dropped=dropped)
