"""The step graph of a BMAD pack: `nextStep` references resolved to files (with or without
their folder prefix), `nextStepIf…` branch keys turned into conditions, and the checks that
keep a walk finite."""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import Environment, TemplateError, meta

from workflow.expressions import ExpressionError, check_expression, evaluate
from workflow.pack_model import NextRule

_BARE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(==|!=)\s*([A-Za-z][\w-]*)\s*$")
_ENGINE_VARIABLES = frozenset({"project_name", "user_name", "workflow_status", "true", "false", "none"})
_PARSER = Environment()


@dataclass(kw_only=True)
class StepIndex:
    """Step files by path relative to steps/, by file name, by stem and by id."""

    rels: list[str]
    ids: dict[str, str] = field(default_factory=dict)  # id -> rel

    def resolve(self, ref: str, here: str | None = None) -> tuple[str | None, str]:
        """(rel, how): how is "" for an exact path, "name" when found by file name alone,
        "ambiguous" or "missing" when not found."""
        text = ref.strip().strip("'\"").replace("\\", "/")
        text = re.sub(r"^(\{[^}]+\}/)+", "", text)
        text = re.sub(r"^(\./)+", "", text)
        known = set(self.rels)
        candidates = [text, text.removeprefix("steps/")]
        if here is not None:
            candidates.append(posixpath.normpath(posixpath.join(posixpath.dirname(here), text)))
        for candidate in candidates:
            normal = posixpath.normpath(candidate) if candidate else candidate
            if normal in known:
                return normal, ""
        name = posixpath.basename(text)
        for pool in ([r for r in self.rels if posixpath.basename(r) == name],
                     [r for r in self.rels if posixpath.basename(r) == f"{name}.md"],
                     [r for r in self.rels if posixpath.basename(r).removesuffix(".md") == name]):
            if len(pool) == 1:
                return pool[0], "name"
            if len(pool) > 1:
                return None, "ambiguous"
        if text in self.ids:
            return self.ids[text], ""
        return None, "missing"


_BODY_REF = re.compile(r"[\w./{}-]*step-[\w.-]+\.md")
_LOAD_WORDS = re.compile(r"\b(?:load|follow|next|proceed|execute|continue|read|go to|then)\b", re.IGNORECASE)


def natural(rel: str) -> list[Any]:
    """Sort key that puts `step-2` before `step-10` and `step-01b` before `step-02`."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", rel)]


def body_next(here: str, lines: Iterable[Any], index: StepIndex) -> str | None:
    """The next step as BMAD v6.7+ names it in the body ("load `./step-03-starter.md`",
    "Read fully and follow: `./step-02-vision.md`"): of the step files named on such lines,
    the nearest one after this file (continuation files and earlier steps are not next)."""
    named: list[str] = []
    for line in lines:
        text = line.text
        if not _LOAD_WORDS.search(text):
            continue
        for ref in _BODY_REF.findall(text):
            rel, _ = index.resolve(ref, here)
            if rel and rel != here and "continue" not in posixpath.basename(rel).lower() and rel not in named:
                named.append(rel)
    later = sorted((r for r in named if natural(r) > natural(here)), key=natural)
    return later[0] if later else None


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def quote_bare(expression: str, options: Mapping[str, tuple[str, ...]]) -> str:
    """`architecture == rag-only` (unquoted, as people write it in YAML) becomes
    `architecture == 'rag-only'`; jinja2 would otherwise read `rag - only`."""
    match = _BARE.match(expression)
    if match is None:
        return expression
    name, op, value = match.groups()
    if value in options.get(name, ()) or "-" in value:
        return f"{name} {op} {value!r}"
    return expression


def branch_condition(suffix: str, options: Mapping[str, tuple[str, ...]], target_skip: str | None) -> str | None:
    """The condition of `nextStepIf<suffix>`: the option of a `*_options` list it names
    (`RAGOnly` -> `architecture == 'rag-only'`, `NotHybrid` -> `!=`), else the opposite of the
    target's own skip rule (`Training` -> the training step runs when it is not skipped)."""
    wanted = norm(suffix)
    for variable, choices in options.items():
        for choice in choices:
            if norm(choice) == wanted:
                return f"{variable} == {choice!r}"
            if wanted.startswith("not") and norm(choice) == wanted[3:]:
                return f"{variable} != {choice!r}"
    if target_skip:
        return f"not ({target_skip})"
    return None


@lru_cache(maxsize=256)
def variables_of(expression: str) -> frozenset[str]:
    try:
        return frozenset(meta.find_undeclared_variables(_PARSER.parse("{{ (" + expression + ") }}")))
    except TemplateError:
        return frozenset()


def expression_error(expression: str, options: Mapping[str, tuple[str, ...]]) -> str | None:
    """Why the expression cannot be used, or None. It must parse and evaluate for every
    option of each variable it reads (and for the variable being unset)."""
    try:
        check_expression(expression)
    except ExpressionError as exc:
        return str(exc)
    names = sorted(variables_of(expression) - _ENGINE_VARIABLES)
    pools = [[None, *options.get(name, ())] for name in names]
    for combination in itertools.islice(itertools.product(*pools), 64):
        try:
            evaluate(expression, dict(zip(names, combination, strict=True)))
        except ExpressionError as exc:
            return str(exc)
    return None


def redirect_through_skips(rules: dict[str, list[NextRule]], skips: Mapping[str, str | None]) -> None:
    """A branch that jumps over a step which its own condition would skip anyway is sent
    through that step instead (`nextStepIfRAGOnly` past the training step goes to the
    training step, which is then skipped). The skipped step is recorded, as BMAD's
    `stepsCompleted` expects, and the walk still reaches the same place."""

    def chain(start: str, goal: str, condition: str) -> bool:
        current, seen = start, set()
        while current != goal:
            if current in seen or norm(skips.get(current) or "") != norm(condition):
                return False
            seen.add(current)
            out = rules.get(current) or []
            if len(out) != 1 or out[0].when is not None:
                return False
            current = out[0].step
        return True

    for step_id, out in rules.items():
        for index, rule in enumerate(out):
            if rule.when is None:
                continue
            for other in out:
                target = other.step
                if target != rule.step and norm(skips.get(target) or "") == norm(rule.when) \
                        and chain(target, rule.step, rule.when):
                    out[index] = NextRule(when=rule.when, step=target)
                    break
        rules[step_id] = out


def reachable(start: str, rules: Mapping[str, list[NextRule]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(rule.step for rule in rules.get(current) or [])
    return seen


def endless_loop(rules: Mapping[str, list[NextRule]]) -> list[str] | None:
    """A cycle the walk can never leave: every step on it has one unconditional next step."""
    for start in rules:
        path: list[str] = []
        current: str | None = start
        while current is not None and current not in path:
            path.append(current)
            out = rules.get(current) or []
            current = out[0].step if len(out) == 1 and out[0].when is None else None
        if current is not None:
            return path[path.index(current):] + [current]
    return None


def steps_walked(start: str, rules: Mapping[str, list[NextRule]], skips: Mapping[str, str | None],
                 env: dict[str, Any]) -> int:
    """How many steps a walk from `start` runs (not skipped) with these sidecar values."""
    count, current, seen = 0, start, set()
    while current and current not in seen:
        seen.add(current)
        skip = skips.get(current)
        if not (skip and _holds(skip, env)):
            count += 1
        current = next((r.step for r in rules.get(current) or [] if r.when is None or _holds(r.when, env)), "")
    return count


def best_default(variable: str, choices: Iterable[str], start: str, rules: Mapping[str, list[NextRule]],
                 skips: Mapping[str, str | None]) -> str | None:
    """The option under which a walk runs the most steps (the first such in the list), so
    accepting the default shows the whole pack."""
    scored = [(steps_walked(start, rules, skips, {variable: choice}), -i, choice)
              for i, choice in enumerate(choices)]
    return max(scored)[2] if scored else None


def _holds(expression: str, env: dict[str, Any]) -> bool:
    try:
        return evaluate(expression, env)
    except ExpressionError:
        return False
