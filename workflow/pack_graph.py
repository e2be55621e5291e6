"""The step graph of a Cairn pack, checked for loops the walk can never leave (DESIGN 3.3:
"no cycle without a menu"). A step ends the workflow when none of its `next` rules holds, so a
step can end it unless one of its rules is unconditional; every loop must reach such a step."""

from __future__ import annotations

from collections.abc import Mapping

from workflow.pack_model import Step


def endless_loops(steps: Mapping[str, Step], start: str | None) -> list[list[str]]:
    """Each loop (as step ids, first id repeated at the end) of steps reachable from `start`
    from which no step that can end the workflow is reachable."""
    if start is None or start not in steps:
        return []
    edges = {sid: [r.step for r in step.next_rules if r.step in steps] for sid, step in steps.items()}
    reachable = _walk([start], edges)
    can_end = {sid for sid, step in steps.items() if all(r.when is not None for r in step.next_rules)}
    reverse: dict[str, list[str]] = {sid: [] for sid in steps}
    for sid, targets in edges.items():
        for target in targets:
            reverse[target].append(sid)
    leaves = _walk(sorted(can_end), reverse)
    trapped = [sid for sid in steps if sid in reachable and sid not in leaves]
    loops: list[list[str]] = []
    covered: set[str] = set()
    for first in trapped:
        if first in covered:
            continue
        path: list[str] = []
        current = first
        while current not in path:
            path.append(current)
            current = next(t for t in edges[current] if t not in leaves)
        loop = path[path.index(current):] + [current]
        if not covered.intersection(loop):
            loops.append(loop)
        covered.update(path)
    return loops


def _walk(starts: list[str], edges: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current) or [])
    return seen


__all__ = ["endless_loops"]
