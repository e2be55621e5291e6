"""What a run was made with, for its report: library versions and git commits. No torch import."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "library_versions", "provenance"]

PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers", "bitsandbytes")


def library_versions() -> dict[str, str]:
    """Installed versions of the training stack (packages that are not installed are left out)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_commit(folder: Path) -> str | None:
    """The commit checked out where `folder` is, with "+dirty" when tracked files changed; None
    outside a git work tree or without git."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(spec_dir: Path) -> dict[str, Any]:
    """Python and library versions, Cairn's own commit and the commit of the spec's folder."""
    return {"python": platform.python_version(), "libraries": library_versions(),
            "cairn_commit": git_commit(Path(__file__).resolve().parent),
            "project_commit": git_commit(spec_dir)}
