"""The document a BMAD step writes, as a jinja2 template generated from the pack: BMAD builds
one document by appending step after step and keeps `stepsCompleted` in its frontmatter, so the
template for step N renders the shared document as it stands after N: the pack's own template
(its `{{VARIABLE}}` placeholders filled from the project, the settings and the answers), then
every step that shares the document, in walk order, with its answers, decisions and stories.

Templates are generated text, so they are kept in a cache folder named by their content; the
pack's text is copied in raw blocks and can never run as template code."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workflow.bmad.markdown import key, slug
from workflow.pack_model import FormField

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}|(?<!\{)\{([A-Za-z_][\w-]*)\}(?!\})")
# Placeholders the engine fills itself, as jinja expressions over the drafting context.
_KNOWN = {"project_name": "project.name", "projectname": "project.name", "project": "project.name",
          "user_name": "project.user", "author": "project.user", "date": "today", "today": "today",
          "architecture": "architecture", "build_vs_buy": "build_vs_buy"}
_NOT_ANSWERED = "_Not answered._"


@dataclass(frozen=True, kw_only=True)
class Part:
    """One step's share of a document."""

    step_id: str
    title: str
    form: Mapping[str, FormField]
    stories_key: str | None = None


def template_fields(text: str, values: Mapping[str, str]) -> dict[str, FormField]:
    """A form field for each placeholder of a pack template that neither the engine nor the
    pack's settings fill (`{{DECISION_SUMMARY}}` -> `tpl_decision_summary`)."""
    out: dict[str, FormField] = {}
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1) or match.group(2)
        if key(name) in _KNOWN or key(name) in values:
            continue
        field = f"tpl_{slug(name.lower())}"
        if field not in out:
            label = name.replace("_", " ").replace("-", " ").strip().lower()
            out[field] = FormField(type="text", required=False, section="Document",
                                   ask=f"For the document: {label}")
    return out


def document_source(*, parts: list[Part], pack_template: str | None, owner: str,
                    values: Mapping[str, str]) -> str:
    """The jinja2 source of the document after the last of `parts` (the current step)."""
    current = parts[-1].step_id
    ids = ", ".join(repr(p.step_id) for p in parts)
    lines = [
        "---",
        'project_name: "{{ project.name or \'\' }}"',
        'user_name: "{{ project.user or \'\' }}"',
        'date: "{{ today }}"',
        # BMAD's own progress marker: the steps that have written their part so far.
        "stepsCompleted: [{% for sid in [" + ids + "] if answers[sid] is defined or sid == step.id %}"
        "\"{{ sid }}\"{{ ', ' if not loop.last }}{% endfor %}]",
        "---",
        "",
    ]
    if pack_template is not None:
        lines.append(_convert(pack_template, owner, values).rstrip())
    else:
        lines.append(f"# {_raw(parts[0].title)}")
    for i, part in enumerate(parts):
        # Without a pack template the first part's title is the document's title already.
        lines.append(_part(part, part.step_id == current, titled=pack_template is not None or i > 0))
    return "\n".join(lines).rstrip() + "\n"


def cached_template(source: str) -> Path:
    """Write `source` once into the cache folder and return its path (named by its hash)."""
    folder = Path(tempfile.gettempdir()) / f"cairn-bmad-templates-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(source.encode('utf-8')).hexdigest()[:24]}.md.j2"
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source, encoding="utf-8")
        partial.replace(path)
    return path


def _part(part: Part, current: bool, *, titled: bool) -> str:
    sid = repr(part.step_id)
    mine = f"(answers[{sid}] | default({{}}))"
    guard = "true" if current else f"answers[{sid}] is defined"
    out = [f"{{%- if {guard} %}}"] + (["", f"## {_raw(part.title)}"] if titled else [])
    level = "###" if titled else "##"
    sections: dict[str, list[tuple[str, FormField]]] = {}
    settings = [name for name, spec in part.form.items() if spec.sidecar and not spec.section]
    for name, spec in part.form.items():
        if spec.section in ("Document",) or name in settings or spec.when == "false":
            continue
        sections.setdefault(spec.section or "", []).append((name, spec))
    for heading, fields in sections.items():
        if heading in ("Decisions", "Stories", "Gate"):
            continue
        if heading:
            out += ["", f"{level} {_raw(heading)}"]
        for name, spec in fields:
            value = f"{mine}.get({name!r})"
            out += ["", f"**{_raw(spec.ask or name)}**", "",
                    f"{{{{ ({value} | join('; ') if {value} is sequence and {value} is not string else {value}) "
                    f"or {_NOT_ANSWERED!r} }}}}"]
    if settings:  # the values the workflow's conditions read (architecture)
        out += ["", f"{level} Settings", ""]
        out += [f"- **{name}:** {{{{ {mine}.get({name!r}) or 'not set' }}}}" for name in settings]
    out += ["{%- set mine_decisions = decisions | selectattr('step', 'equalto', " + sid + ") | list %}",
            "{%- if mine_decisions %}", "", f"{level} Decisions",
            "{% for d in mine_decisions %}", "- **{{ d.id }}: {{ d.title }}**: {{ d.choice }} (why: {{ d.rationale }})",
            "{%- endfor %}", "{%- endif %}"]
    if current or part.stories_key:
        stories = "stories" if current else f"all_stories.get({part.stories_key!r}, [])"
        out += [f"{{%- if {stories} %}}", "", f"{level} Stories", f"{{% for s in {stories} %}}",
                "- **{{ s.id }}: {{ s.title }}** (acceptance: {{ s.acceptance_criteria | join('; ') }})",
                "{%- endfor %}", "{%- endif %}"]
    out.append("{%- endif %}")
    return "\n".join(out)


def _convert(text: str, owner: str, values: Mapping[str, str]) -> str:
    """The pack template as jinja2: literal text in raw blocks, placeholders as expressions."""
    out: list[str] = []
    position = 0
    mine = f"(answers[{owner!r}] | default({{}}))"
    for match in _PLACEHOLDER.finditer(text):
        out.append(_raw(text[position:match.start()]))
        position = match.end()
        name = match.group(1) or match.group(2)
        if key(name) in _KNOWN:
            out.append(f"{{{{ {_KNOWN[key(name)]} or '' }}}}")
        elif key(name) in values:
            out.append(_raw(values[key(name)]))
        else:
            field = f"tpl_{slug(name.lower())}"
            out.append(f"{{{{ {mine}.get({field!r}) or {_NOT_ANSWERED!r} }}}}")
    out.append(_raw(text[position:]))
    return "".join(out)


def _raw(text: str) -> str:
    if not text:
        return ""
    if not any(mark in text for mark in ("{{", "{%", "{#", "}}", "%}", "#}")):
        return text
    return "{% raw %}" + text.replace("{% endraw %}", "{ % endraw % }") + "{% endraw %}"
