"""The workflow MCP server (DESIGN 7): an IDE assistant drives a guided session through tools,
while the engine keeps owning gating, state and files.

Modules: `workspace` (the projects one server drives, one lock per call), `views` (tool result
shapes), `models` (their pydantic types), `tools`, `resources`, `prompts`, `server` (wiring and
transports), `registration` (snippets for Claude Code, Cursor and Codex) and `cli` (`cairn mcp`).
Only `cli` is imported by `cairn --help`; it loads the rest inside its commands.
"""
