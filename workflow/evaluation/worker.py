"""`cairn eval run --isolate`: a Python target run in worker processes, so a call still
running at `--timeout-s` is stopped (the worker's process group is killed and a fresh worker
started) instead of being left running in a thread.

The worker side is `python -m workflow.evaluation.worker SPEC OPTIONS_JSON`: it reads one
`{"id", "input"}` JSON line per call on stdin and answers one Outcome JSON line; the target's
own prints go to stderr, which is kept in a file for the error message if the worker dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from workflow.evaluation.targets import Outcome, Target

__all__ = ["IsolatedTarget"]

_START_TIMEOUT_S = 120.0  # importing a large application (torch, langchain) can take a while


@dataclass
class _Worker:
    proc: subprocess.Popen[str]
    stderr: IO[str]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        self.stderr.close()

    def tail(self) -> str:
        self.stderr.flush()
        with contextlib.suppress(OSError):
            lines = Path(self.stderr.name).read_text(encoding="utf-8", errors="replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""


class IsolatedTarget:
    """Wraps a resolved Python target: same spec and fingerprint, calls made in workers."""

    is_async = False

    def __init__(self, inner: Target, *, timeout_s: float, context: dict[str, Any] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.inner, self.spec, self.timeout_s = inner, inner.spec, timeout_s
        self._options = json.dumps({"context": context, "config": config})
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def fingerprint_paths(self) -> list[Path]:
        return self.inner.fingerprint_paths()

    def _start(self) -> _Worker | str:
        """A worker that has imported the target, or why it could not start."""
        stderr = tempfile.NamedTemporaryFile("w+", encoding="utf-8", prefix="cairn-eval-worker-", suffix=".log",
                                             delete=False)
        proc = subprocess.Popen(
            [sys.executable, "-m", "workflow.evaluation.worker", self.spec, self._options], cwd=os.getcwd(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, encoding="utf-8",
            start_new_session=True,
        )
        worker = _Worker(proc=proc, stderr=stderr)
        with self._lock:
            self._all.append(worker)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], _START_TIMEOUT_S)
        if not ready or proc.stdout.readline().strip() != "ready":
            tail = worker.tail()
            worker.kill()
            return f"worker could not start the target: {tail}".rstrip(": ")
        return worker

    def call(self, case_id: str, value: Any) -> Outcome:
        try:
            worker: _Worker | str = self._idle.get_nowait()
        except queue.Empty:
            worker = self._start()
        if isinstance(worker, str):
            return Outcome(error=worker)
        start = time.perf_counter()
        assert worker.proc.stdin is not None and worker.proc.stdout is not None
        try:
            worker.proc.stdin.write(json.dumps({"id": case_id, "input": value}, ensure_ascii=False) + "\n")
            worker.proc.stdin.flush()
        except OSError:
            worker.kill()
            return Outcome(error=f"worker exited before the call: {worker.tail()}".rstrip(": "))
        ready, _, _ = select.select([worker.proc.stdout], [], [], self.timeout_s)
        line = worker.proc.stdout.readline() if ready else None
        if line is None:
            worker.kill()
            return Outcome(error=f"timed out after {self.timeout_s:g}s (worker stopped)",
                           latency_ms=(time.perf_counter() - start) * 1000)
        if not line:
            code = worker.proc.wait()
            tail = worker.tail()
            worker.kill()
            return Outcome(error=f"worker exited with code {code}: {tail}".rstrip(": "))
        data = json.loads(line)
        outcome = Outcome(**data)
        if outcome.error and outcome.error.startswith("timed out"):
            worker.kill()
            return outcome
        self._idle.put(worker)
        return outcome

    async def acall(self, case_id: str, value: Any) -> Outcome:
        return await asyncio.to_thread(self.call, case_id, value)

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()
            with contextlib.suppress(OSError):
                os.unlink(worker.stderr.name)


def main() -> None:
    from workflow.evaluation.targets import resolve_target

    spec, options = sys.argv[1], json.loads(sys.argv[2])
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the target's prints must not corrupt the protocol
    sys.stdout = sys.stderr
    target = resolve_target(spec, timeout_s=1e9, context=options.get("context"), config=options.get("config"))
    protocol.write("ready\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if target.is_async:
            outcome = asyncio.run(target.acall(request["id"], request["input"]))
        else:
            outcome = target.call(request["id"], request["input"])
        protocol.write(json.dumps(asdict(outcome), ensure_ascii=False, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
