"""Run `cairn` in process, the way the console script does, and capture what it printed."""

from __future__ import annotations

import io
import sys

import pytest

from workflow import context
from workflow.cli import main


def run_cairn(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
              stdin: str | None = None) -> tuple[int, str, str]:
    """`cairn ARGV...` through `workflow.cli.main`; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["cairn", *argv])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setattr(context, "_current", None)  # settings come from this invocation's options
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
