"""The one exception hierarchy. The CLI turns these into a message and an exit code
(DESIGN 4.2); the MCP servers turn them into tool errors."""

from __future__ import annotations


class CairnError(Exception):
    """A user-facing error: the message says what is wrong and how to fix it."""

    exit_code = 1


class ConfigError(CairnError):
    """config.yaml or a command-line option is invalid."""


class PackError(CairnError):
    """A step pack cannot be loaded; `problems` lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ProjectError(CairnError):
    """A project is missing, badly named, or its files are broken."""


class SidecarError(ProjectError):
    """sidecar.yaml cannot be read; it is never overwritten in that state."""


class UnsafePathError(ProjectError):
    """A project path Cairn would write is a symbolic link or not the kind of file expected."""


class DiskError(ProjectError, OSError):
    """The disk is full, read-only or not writable, or the path cannot hold the file (too long,
    a folder in the way); nothing was half-written. Also an OSError, so code that already
    handled OS failures keeps doing so."""


class UnreadableFileError(CairnError):
    """A file that must be UTF-8 text is binary, in another encoding, or too large."""


class LockedError(CairnError):
    """Another session holds the project's lock."""

    exit_code = 4


class NeedsAnswer(CairnError):
    """Facilitator mode reached a question that the answers file does not answer."""

    exit_code = 3


class AnswersRefused(CairnError):
    """Facilitator mode: the answers file gave a value the step refuses, or pressed Continue where
    the step cannot be completed. The run stops at once (it would only repeat the same reply)."""


class DataError(CairnError):
    """A dataset file has problems (bad lines, wrong format)."""


class TrainingError(CairnError):
    """A training spec or run cannot proceed."""


class MissingExtra(CairnError):
    """An optional dependency is not installed; the message carries the install hint."""

    def __init__(self, extra: str, package: str) -> None:
        super().__init__(
            f"{package} is not installed. Install the '{extra}' extra: pip install 'cairn[{extra}]'"
        )
