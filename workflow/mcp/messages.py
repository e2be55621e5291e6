"""Error text rewritten for the model on the other end of an MCP connection: it cannot run
terminal commands and has no business knowing the server's folders, so `cairn ...` hints become
the tool to call and absolute paths become project-relative (or just a file name). A quoted
path is what the client sent and stays as it is."""

from __future__ import annotations

import re
from pathlib import Path

# The terminal hints the engine's messages carry, and what an MCP client does instead.
_COMMANDS = (
    (re.compile(r"`cairn new ([^`]+)`"), r"create_project(name='\1')"),
    (re.compile(r"`cairn chat ([^`]+)`"), r"open_project(name='\1')"),
    (re.compile(r"`cairn status ([^`]+)`"), r"progress(project='\1')"),
    (re.compile(r"`cairn [^`]+`"), "the project's owner (this needs the terminal)"),
)
# Not after a quote: a path the client itself sent is echoed back as given.
_ABSOLUTE = re.compile(r"(?<![\w.:/'\"])(/[^\s'\"`:;,()\[\]{}]+)")


def for_model(message: str, output_dir: Path) -> str:
    """`message` without terminal commands or absolute paths."""
    for pattern, replacement in _COMMANDS:
        message = pattern.sub(replacement, message)
    roots = sorted({str(output_dir), str(output_dir.resolve())}, key=len, reverse=True)

    def relative(match: re.Match[str]) -> str:
        path = match.group(1)
        for root in roots:
            if path == root:
                return "the projects folder"
            if path.startswith(root + "/"):
                inner = path[len(root) + 1:].split("/", 1)
                return inner[1] if len(inner) > 1 else inner[0]
        return Path(path).name or path

    return _ABSOLUTE.sub(relative, message)


__all__ = ["for_model"]
