"""The part of the cache key that changes when the application changes: every file of the
target's project tree (code, prompts, data), the extra files the user names, and named
environment variables. Hashing too much costs a cache miss; hashing too little serves
stale outputs, so the default is the whole tree.

The tree is the nearest folder above the target's module (or the shell command's working
directory) holding `pyproject.toml`, `langgraph.json`, `setup.py`, `setup.cfg` or `.git`.
Without one it is the folder the module is imported from (the sys.path entry, so namespace
packages and wrapper modules beside `src/` are covered) or the working directory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Fingerprint", "compute_fingerprint", "import_root", "project_root"]

PROJECT_MARKERS = ("pyproject.toml", "langgraph.json", "setup.py", "setup.cfg", ".git")
# Folders no target reads its prompts from: environments, caches, build output, VCS data.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
                ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".eval-cache", ".cairn",
                ".idea", ".vscode", "dist", "build", ".ipynb_checkpoints"}
# Files a running target writes rather than reads.
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".log", ".tmp", ".swp", ".lock"}
MAX_FILES = 20_000
MAX_BYTES = 1 << 30


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    """`complete` is False when the tree was larger than MAX_FILES / MAX_BYTES: such a key
    could miss a change, so callers must not cache with it."""

    digest: str
    files: int
    complete: bool
    roots: tuple[str, ...]


def project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` with a project marker, or None."""
    for folder in [start, *start.parents]:
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return None


def import_root(module_file: Path, module_name: str) -> Path:
    """The sys.path entry a module was imported from: `a/b/c.py` as `a.b.c` -> the folder above `a`."""
    depth = len(module_name.split("."))
    if module_file.name == "__init__.py":
        depth += 1
    return module_file.parents[depth - 1] if depth - 1 < len(module_file.parents) else module_file.parent


def python_roots(module_file: Path, module_name: str) -> list[Path]:
    """What to hash for a Python target: its project tree, else its import root; an
    installed package (under site-packages) hashes only its own top-level package."""
    top = import_root(module_file, module_name)
    if "site-packages" in top.parts or "dist-packages" in top.parts:
        first = top / module_name.split(".")[0]
        return [first if first.is_dir() else module_file]
    return [project_root(module_file.parent) or top]


def command_roots(cwd: Path) -> list[Path]:
    return [project_root(cwd) or cwd]


def _is_run_folder(folder: Path) -> bool:
    return (folder / "results.jsonl").is_file() and (folder / "summary.json").is_file()


def _walk(root: Path, excluded: set[Path]) -> Iterator[Path]:
    for current, dirs, files in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")
                         and (here / d).resolve() not in excluded and not _is_run_folder(here / d))
        for name in sorted(files):
            path = here / name
            if (path.suffix not in SKIPPED_SUFFIXES and not name.startswith(".") and path.is_file()
                    and path.resolve() not in excluded):
                yield path


def compute_fingerprint(spec: str, roots: list[Path], *, extra_paths: list[Path], env_names: list[str],
                        exclude: list[Path] | None = None) -> Fingerprint:
    """Hash the target spec, every file under `roots` and `extra_paths` (files or folders;
    `exclude` files and folders such as the cases file, the cache and output folders are
    left out) with its path, and the values of `env_names`."""
    h = hashlib.sha256(spec.encode("utf-8"))
    excluded = {p.resolve() for p in exclude or []}
    count, size, complete, seen = 0, 0, True, set()
    all_roots = [p.resolve() for p in [*roots, *extra_paths]]
    for root in all_roots:
        paths = [root] if root.is_file() else list(_walk(root, excluded)) if root.is_dir() else []
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            count += 1
            try:
                size += path.stat().st_size
                if count > MAX_FILES or size > MAX_BYTES:
                    complete = False
                    break
                with path.open("rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
            except OSError:
                digest = "unreadable"
            h.update(f"\0{path}\0{digest}".encode())
        if not complete:
            break
    for name in sorted(env_names):
        h.update(f"\0env:{name}={os.environ.get(name, '')}".encode())
    h.update(f"\0python:{sys.version_info[:2]}".encode())
    return Fingerprint(digest=h.hexdigest(), files=min(count, MAX_FILES), complete=complete,
                       roots=tuple(str(r) for r in all_roots))
