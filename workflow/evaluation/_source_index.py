"""Parsed Python modules of an application, with what `eval inspect` needs to follow names
across them: imports, function definitions and module-level assignments."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"}


@dataclass(kw_only=True)
class ModuleInfo:
    """One parsed file. `imports` maps a local name to (module, attribute or None)."""

    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    assigns: dict[str, ast.expr] = field(default_factory=dict)

    @property
    def uses_langgraph(self) -> bool:
        return any(mod.startswith("langgraph") for mod, _ in self.imports.values())


@dataclass(kw_only=True)
class SourceIndex:
    root: Path
    modules: dict[str, ModuleInfo]
    problems: list[str]

    def find_module(self, dotted: str) -> ModuleInfo | None:
        """Exact dotted name, else the unique module whose name ends with it (the scanned
        folder may sit below the import root)."""
        if dotted in self.modules:
            return self.modules[dotted]
        hits = [m for name, m in self.modules.items() if name.endswith("." + dotted)]
        return hits[0] if len(hits) == 1 else None


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    if (root / "__init__.py").is_file():
        parts.insert(0, root.name)
    return ".".join(parts) or root.name, is_package


def _resolve_relative(module: ModuleInfo, level: int, target: str | None) -> str:
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _index_module(info: ModuleInfo) -> None:
    for node in ast.walk(info.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                info.imports[local] = (alias.name if alias.asname else alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_relative(info, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:
                info.imports[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # Top-level definitions win over nested ones of the same name.
            if node.name not in info.functions or node in info.tree.body:
                info.functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            info.classes.setdefault(node.name, node)
    for stmt in info.tree.body:
        _index_assign(stmt, info.assigns)
        # Module-level `if`/`try` blocks often choose a model or a prompt; index both branches.
        if isinstance(stmt, ast.If | ast.Try | ast.With):
            for inner in ast.walk(stmt):
                if isinstance(inner, ast.stmt) and inner is not stmt:
                    _index_assign(inner, info.assigns, keep_first=True)


def _index_assign(stmt: ast.AST, assigns: dict[str, ast.expr], *, keep_first: bool = False) -> None:
    targets: list[ast.expr] = []
    value: ast.expr | None = None
    if isinstance(stmt, ast.With):  # `with open(path) as fh:` binds fh to the opened file
        for item in stmt.items:
            name = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
            if name is not None and not (keep_first and name in assigns):
                assigns[name] = item.context_expr
        return
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    for target in targets:
        if isinstance(target, ast.Name) and value is not None and not (keep_first and target.id in assigns):
            assigns[target.id] = value


def class_method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name),
                None)


def class_attribute(cls: ast.ClassDef, name: str) -> ast.expr | None:
    """A class attribute's value or dataclass field default (`field(default=X)` -> X), else
    what `__init__` assigns to `self.NAME`; None when the source shows none."""
    for stmt in cls.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "field":
                return next((k.value for k in value.keywords if k.arg == "default"), None)
            return value
    init = class_method(cls, "__init__")
    for node in ast.walk(init) if init else []:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (isinstance(target, ast.Attribute) and target.attr == name and isinstance(target.value, ast.Name)
                        and target.value.id == "self"):
                    return node.value
    return None


def local_assigns(func: ast.AST) -> dict[str, ast.expr]:
    """Names assigned inside a function body (nested definitions excluded)."""
    out: dict[str, ast.expr] = {}
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        _index_assign(node, out)
        stack.extend(ast.iter_child_nodes(node))
    return out


def python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = []
    for p in sorted(path.rglob("*.py")):
        rel = p.relative_to(path).parts[:-1]
        if any(part.startswith(".") or part in _SKIP_DIRS for part in rel):
            continue
        found.append(p)
    return found


def build_index(path: Path) -> SourceIndex:
    """Parse every .py file under `path` (or the one file). Files that do not parse are
    listed in `problems` and skipped."""
    root = path if path.is_dir() else path.parent
    modules: dict[str, ModuleInfo] = {}
    problems: list[str] = []
    for file in python_files(path):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            problems.append(f"{file}{f':{line}' if line else ''}: skipped, cannot parse ({type(exc).__name__})")
            continue
        name, is_package = _module_name(file, root)
        info = ModuleInfo(name=name, path=file, tree=tree, is_package=is_package)
        _index_module(info)
        modules[name] = info
    return SourceIndex(root=root, modules=modules, problems=problems)
