"""Network helpers shared by the tests that start an HTTP server."""

from __future__ import annotations

import socket
import subprocess

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[str]) -> str:
    """Read the server's stderr until its own start-up line (not a timer); what it printed so
    far. Fails the test when the server exits first."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "Uvicorn running on" in line:
            return "".join(seen)
    pytest.fail(f"server exited before listening: {''.join(seen)}")
