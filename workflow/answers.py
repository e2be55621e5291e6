"""Facilitator mode (DESIGN 4.1): answers prepared in a YAML file, `--set` overrides and
`--yes` defaults, turned into replies to the session's prompts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workflow.errors import CairnError, ConfigError
from workflow.fileio import atomic_write_text
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml

NO_ANSWER = object()
_STEP_KEYS = {"menu", "notes", "skip", "stories", "acknowledge"}


class AnswerPlan:
    """Replies for prompts, from an answers file, overrides and defaults.

    A step id may map to one mapping, or to a list of mappings used on successive visits
    in this run (for example step 10: REVISE on the first visit, GO when the session returns).
    Where a run stands in those lists is saved in the project (`save` / `resume`), so a run
    killed on a return visit goes on with the same entry when it is run again.
    """

    def __init__(self, data: Mapping[str, Any] | None = None, overrides: list[str] | None = None,
                 yes: bool = False) -> None:
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self.shared: dict[str, Any] = {}
        for key, value in (data or {}).items():
            key = str(key)
            if isinstance(value, dict):
                self.steps[key] = [value]
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                self.steps[key] = list(value)
            else:
                self.shared[key] = value
        self.overrides = _parse_overrides(overrides or [])
        self.yes = yes
        self._menu_used: dict[tuple[str, int], int] = {}
        self._visits_seen: dict[str, list[int]] = {}
        plan = {"steps": self.steps, "shared": self.shared, "overrides": self.overrides, "yes": yes}
        self._fingerprint = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()
        self._saved = ""  # what `save` last wrote

    @classmethod
    def from_file(cls, path: Path | None, overrides: list[str] | None = None, yes: bool = False) -> AnswerPlan:
        """Raises ConfigError naming the file and line when it is not valid."""
        if path is None:
            return cls(None, overrides, yes)
        try:
            data = load_yaml(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"answers file {path} does not exist") from None
        except yaml.YAMLError as exc:
            line, problem = yaml_problem(exc)
            where = f" line {line}" if line else ""
            raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of step ids (\"5\": {{...}}) or field names")
        return cls(data, overrides, yes)

    @property
    def active(self) -> bool:
        return bool(self.steps or self.shared or self.overrides or self.yes)

    def resume(self, path: Path) -> None:
        """Take up the visits seen and menu keys pressed by an earlier run of this same plan on
        this project that did not end (killed or interrupted); anything else starts afresh."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved["plan"] != self._fingerprint:
                return
            self._visits_seen = {str(k): [int(v) for v in seen] for k, seen in saved["visits_seen"].items()}
            self._menu_used = {(str(step), int(visit)): int(used) for step, visit, used in saved["menu_used"]}
        except (OSError, ValueError, KeyError, TypeError):
            return

    def save(self, path: Path) -> None:
        """Record where this run stands (after each reply the session has taken); written only
        when that changed (a new visit, a menu key used), not after every answer."""
        text = json.dumps({"plan": self._fingerprint, "visits_seen": self._visits_seen,
                           "menu_used": [[step, visit, used] for (step, visit), used in self._menu_used.items()]})
        if text != self._saved:
            atomic_write_text(path, text)
            self._saved = text

    def _step(self, prompt: Mapping[str, Any]) -> dict[str, Any]:
        step_id = str(prompt["step"]["id"])
        seen = self._visits_seen.setdefault(step_id, [])
        visit = int(prompt.get("visit") or 1)
        if visit not in seen:
            seen.append(visit)
        visits = self.steps.get(step_id) or [{}]
        return visits[min(seen.index(visit), len(visits) - 1)]

    def answer(self, prompt: Mapping[str, Any]) -> Any:
        """The reply to a question prompt, or NO_ANSWER."""
        step_id, name = str(prompt["step"]["id"]), prompt["field"]
        step = self._step(prompt)
        if step.get("skip") and prompt.get("skippable"):
            return {"command": "skip"}
        for source in (self.overrides.get(step_id, {}), self.overrides.get("", {}), step, self.shared):
            if name in source and name not in _STEP_KEYS:
                return {"value": source[name]}
        if self.yes and (prompt.get("default") is not None or not prompt.get("required")):
            return ""
        return NO_ANSWER

    def menu(self, prompt: Mapping[str, Any]) -> Any:
        """The next menu input (a note, a key, the reason for a `confirm` check), or NO_ANSWER."""
        step = self._step(prompt)
        confirm = prompt.get("confirm")
        if confirm:
            # per step, or a top-level `acknowledge:` mapping for checks of any step
            for source in (step.get("acknowledge"), (self.steps.get("acknowledge") or [{}])[0]):
                reason = source.get(confirm["id"]) if isinstance(source, dict) else None
                if isinstance(reason, str) and reason.strip():
                    return reason.strip()
            return NO_ANSWER
        keys = {item["action"]: item["key"] for item in prompt["menu"]}
        queue: list[str] = [n for n in step.get("notes") or [] if n not in (prompt.get("notes") or [])]
        if step.get("skip") and "skip" in keys:
            return keys["skip"]
        slot = (str(prompt["step"]["id"]), int(prompt.get("visit") or 1))
        if queue:
            return queue[0]
        used = self._menu_used.get(slot, 0)
        pressed = [str(k) for k in step.get("menu") or []]
        if used < len(pressed):
            self._menu_used[slot] = used + 1
            return pressed[used]
        if self.yes and "continue" in keys:
            return keys["continue"]
        return NO_ANSWER


def _parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """`--set FIELD=VALUE` (every step) or `--set 5.FIELD=VALUE` (one step); VALUE is YAML."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if "=" not in item:
            raise CairnError(f"--set {item}: write FIELD=VALUE or STEP.FIELD=VALUE")
        key, raw = item.split("=", 1)
        step, _, field = key.rpartition(".")
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out.setdefault(step, {})[field.strip()] = value
    return out
