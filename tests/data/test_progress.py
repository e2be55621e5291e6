from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.conftest import EXAMPLES
from workflow.data.progress import progress

ROOT = Path(__file__).resolve().parents[2]


def test_progress_is_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("working", 100) as advance:
        advance(50)
        advance(50)
    assert capsys.readouterr() == ("", "")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
def test_a_terminal_gets_the_bar_on_stderr_and_stdout_stays_clean() -> None:
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "workflow", "data", "validate", str(EXAMPLES / "alpaca.jsonl")],
                            stdout=subprocess.PIPE, stderr=slave, cwd=ROOT)
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"validating alpaca.jsonl" in terminal
    assert out.decode().startswith("OK: ") and "validating" not in out.decode()
