"""The compact `current_step` (detail="brief"): what an assistant needs between two of its own
calls on one step, without resending what does not change within a visit. The persona's style,
the guidance text, the knowledge results' bodies, context summaries, the form's schema (what is
still open is in `missing`, the next question in `question`) and the drafted texts are left out;
`detail="full"` (the default) brings them back. A whole project costs a fraction of the tokens
(benchmarks/mcp_server.py --tokens)."""

from __future__ import annotations

from typing import Any

_KNOWLEDGE_KEYS = ("id", "type", "title", "query")


def brief(view: dict[str, Any]) -> dict[str, Any]:
    """`view` (the full current_step result) with the visit's unchanging parts left out."""
    if view.get("kind") == "done":
        return view
    out = dict(view)
    if out.get("persona"):
        out["persona"] = {**out["persona"], "style": ""}
    out["guidance"] = [{"heading": s["heading"], "text": ""} for s in view.get("guidance") or []]
    out["knowledge"] = [{k: r[k] for k in _KNOWLEDGE_KEYS if k in r} for r in view.get("knowledge") or []]
    out["context"] = [{**c, "summary": ""} for c in view.get("context") or []]
    form = dict(view["form"])
    # The schema was in the full view; what is still open is in `missing`, and the next question
    # (with its ask, help and choices) in `question`.
    form["schema"] = {}
    out["form"] = form
    drafts = dict(view.get("drafts") or {})
    if "texts" in drafts:
        drafts["texts"] = {}
    out["drafts"] = drafts
    return out


__all__ = ["brief"]
