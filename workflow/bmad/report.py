"""What loading a BMAD pack found wrong: warnings (something could not be derived; the pack
still runs) and problems (the pack cannot run). Each names the file, the key and the fix."""

from __future__ import annotations

import os
from pathlib import Path


class Report:
    """Collects warnings and problems with file paths shown relative to the pack root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def where(self, file: Path | str) -> str:
        path = Path(file)
        if not path.is_absolute():
            return path.as_posix()
        try:
            return Path(os.path.relpath(path.resolve(), self.root.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            return str(path)

    def warn(self, file: Path | str, key: str, message: str) -> None:
        text = f"{self.where(file)}: {key}: {message}" if key else f"{self.where(file)}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)

    def child(self) -> Report:
        """A report for one step, merged in only if the step turns out to be part of the walk."""
        return Report(self.root)

    def merge(self, other: Report, *, warnings: bool = True) -> None:
        for text in other.warnings if warnings else []:
            if text not in self.warnings:
                self.warnings.append(text)
        for text in other.problems:
            if text not in self.problems:
                self.problems.append(text)

    def error(self, file: Path | str, key: str, message: str) -> None:
        text = f"{self.where(file)}: {key}: {message}" if key else f"{self.where(file)}: {message}"
        if text not in self.problems:
            self.problems.append(text)
