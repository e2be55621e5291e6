"""BMAD personas: `agents/*.md` with loose frontmatter (`name`, `description`, `icon`, ...),
and the persona itself often in XML (`<agent name= title= icon=>` with `<role>`, `<identity>`,
`<communication_style>`, `<principles>`), either inline in a code fence or in a file the
frontmatter points to. XML is read with regular expressions: a malformed file still yields
what it can, and nothing in it is ever resolved or fetched."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

from workflow.bmad.report import Report
from workflow.frontmatter import split_frontmatter
from workflow.pack_model import Persona
from workflow.yamlload import load_yaml

_POINTER_KEYS = ("persona", "persona_file", "personaFile", "xml", "agent_file", "agentFile", "source")
_AGENT_TAG = re.compile(r"<agent\b([^>]*)>", re.DOTALL)
_ATTR = re.compile(r"([\w-]+)\s*=\s*\"([^\"]*)\"")
_XML_FENCE = re.compile(r"```xml.*?```", re.DOTALL | re.IGNORECASE)


def load_personas(folder: Path, report: Report) -> dict[str, Persona]:
    """Every `*.md` persona in `folder`, keyed by file stem. A missing folder or an unreadable
    persona is a warning: steps then show the agent's name without a persona."""
    personas: dict[str, Persona] = {}
    if not folder.is_dir():
        report.warn(folder, "", "no agents folder; steps run without personas")
        return personas
    for file in sorted(folder.glob("*.md")):
        if file.name.lower() == "readme.md":
            continue
        personas[file.stem] = _persona(file, report)
    return personas


def _persona(file: Path, report: Report) -> Persona:
    text = file.read_text(encoding="utf-8")
    parts = split_frontmatter(text)
    meta: dict[str, Any] = {}
    body = text
    if parts is not None:
        body = parts[1]
        try:
            loaded = load_yaml(parts[0])
        except yaml.YAMLError as exc:
            report.warn(file, "frontmatter", f"not valid YAML ({getattr(exc, 'problem', exc)}); only the body is used")
            loaded = None
        meta = loaded if isinstance(loaded, dict) else {}
    xml = _xml_source(file, meta, body, report)
    attrs = dict(_ATTR.findall(m.group(1))) if (m := _AGENT_TAG.search(xml)) else {}
    role = _tag(xml, "role")
    identity = _tag(xml, "identity")
    principles_text = _tag(xml, "principles")
    principles: list[str] = []
    if isinstance(meta.get("principles"), list):
        principles = [str(p) for p in meta["principles"]]
    elif principles_text or isinstance(meta.get("principles"), str):
        source = principles_text or str(meta["principles"])
        principles = [p.strip(" -*•") for p in re.split(r"\n|(?<=\.)\s+(?=[A-Z])", source) if p.strip(" -*•")]
    display = _first(attrs.get("name"), meta.get("displayName"), meta.get("display_name"), meta.get("name"))
    markdown = _XML_FENCE.sub("", body).strip()
    return Persona(
        key=file.stem,
        name=display or file.stem.replace("-", " ").title(),
        title=_first(attrs.get("title"), meta.get("title"), meta.get("role"), role, meta.get("description"))
        or file.stem.replace("-", " ").title(),
        icon=_first(attrs.get("icon"), meta.get("icon")) or "",
        style=_first(_tag(xml, "communication_style"), meta.get("communication_style"), meta.get("style")) or "",
        principles=tuple(principles),
        body="\n\n".join(p for p in (role and f"Role: {role}", identity, markdown) if p),
    )


def _xml_source(file: Path, meta: dict[str, Any], body: str, report: Report) -> str:
    for name in _POINTER_KEYS:
        pointer = meta.get(name)
        if not isinstance(pointer, str) or not pointer.strip().lower().endswith(".xml"):
            continue
        relative = re.sub(r"^(\{[^}]+\}/)+", "", pointer.strip())
        for base in (file.parent, report.root):  # beside the agent file, or from the pack root
            candidate = base / relative
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        report.warn(file, name, f"persona file '{pointer}' not found; the frontmatter alone describes the persona")
        return ""
    return body if "<agent" in body or "<persona" in body else ""


def _tag(xml: str, name: str) -> str | None:
    match = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", xml, re.DOTALL)
    if match is None:
        return None
    text = html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or None


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str | int | float) and str(value).strip():
            return str(value).strip()
    return None
