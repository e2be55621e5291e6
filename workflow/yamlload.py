"""YAML from files Cairn does not control (packs, answers files, a project's sidecar), read with a
budget: a size cap, a nesting cap and a cap on the size of the document once aliases are expanded,
so an anchor bomb or a 10,000-deep list is refused in one line instead of exhausting memory or the
stack. Always a safe loader."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml (bundled with PyYAML's wheels) when present: the sidecar is read after every completion.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_CHARS = 5_000_000
MAX_DEPTH = 100
MAX_NODES = 200_000


class YamlLimitError(yaml.YAMLError):
    """A document over the budget; `problem` says which limit and how to fix it."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = _Mark(line) if line is not None else None


class _Mark:
    def __init__(self, line: int) -> None:
        self.line = line


class _DepthLoader(yaml.SafeLoader):
    """The pure-Python safe loader with a nesting cap checked while composing (before Python's
    own recursion limit turns a deep document into a RecursionError)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep; flatten the structure",
                                     mark.line if mark else None)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(text: str, *, fast: bool = False, max_chars: int = MAX_CHARS) -> Any:
    """Parse one YAML document within the budget. `fast` uses libyaml (whose own nesting cap is
    1,000 levels) for large files Cairn writes itself.

    Raises yaml.YAMLError (YamlLimitError for a document over the budget); pass it to
    `yamlerrors.yaml_problem` for the line and the description."""
    if len(text) > max_chars:
        raise YamlLimitError(f"{len(text):,} characters is over the limit of {max_chars:,}; split the file")
    loader = (_FAST if fast else _DepthLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # A document without aliases has fewer values than characters, so this cap only ever
        # refuses documents that multiply through aliases.
        _check_expanded_size(node, max(MAX_NODES, len(text)))
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError("nested too deeply to read; flatten the structure") from None
    finally:
        loader.dispose()


def _check_expanded_size(root: yaml.Node, limit: int) -> None:
    """Count the nodes the document would have with every alias expanded (shared nodes counted
    each time they are used), without expanding anything."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:  # an alias inside its own anchor: an endless structure
            raise YamlLimitError("an alias refers to the value that contains it (&a [*a]); write the value out",
                                 node.start_mark.line)
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        on_path.discard(key)
        sizes[key] = total
        if total > limit:
            raise YamlLimitError(f"expands to more than {limit:,} values through its aliases (&anchor/*alias); "
                                 "write the values out or use fewer aliases", node.start_mark.line)
        return total

    size(root)


__all__ = ["MAX_DEPTH", "MAX_NODES", "YamlLimitError", "load_yaml"]
