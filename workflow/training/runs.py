"""A training run on disk (DESIGN 8): `runs/RUN_ID/` with its state, metrics and outputs. No torch.

```
runs/RUN_ID/            RUN_ID = UTC start time YYYYMMDD-HHMMSS (-2, -3... within one second)
  state.json            status (running / interrupted / failed / finished), stages done, summary
  resolved-config.yaml  the spec and the TRL / PEFT arguments actually used
  metrics.jsonl         one line per logged step, per stage
  checkpoints/STAGE/    Trainer checkpoints (resume from the newest)
  sft-adapter/          the SFT stage's adapter when DPO follows
  adapter/ | model/     the final LoRA adapter, or the full model without an adapter
  merged/               base + adapter merged (--merge)
  loss.png, report.md
```
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from workflow.fileio import atomic_write_text, process_alive

__all__ = ["MetricsLog", "Run", "RunState", "is_main_process", "last_run_summary", "list_runs", "new_run",
           "newest_unfinished", "runs_dir_of", "status_of"]

Status = Literal["running", "interrupted", "failed", "finished"]  # `status_of` adds "dead"
PHASE_FOLDER = "phase-2-training"


@dataclass(kw_only=True)
class RunState:
    run_id: str
    status: Status
    started_at: str
    method: str
    spec_sha256: str
    stages_done: list[str] = field(default_factory=list)
    finished_at: str | None = None
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None  # the process that marked it running, to tell a dead run from a live one
    host: str | None = None


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    def checkpoints(self, stage: str) -> Path:
        return self.dir / "checkpoints" / stage

    @property
    def sft_adapter(self) -> Path:
        return self.dir / "sft-adapter"

    @property
    def adapter(self) -> Path:
        return self.dir / "adapter"

    @property
    def full_model(self) -> Path:
        return self.dir / "model"

    @property
    def merged(self) -> Path:
        return self.dir / "merged"

    @property
    def resolved_config(self) -> Path:
        return self.dir / "resolved-config.yaml"

    @property
    def metrics(self) -> MetricsLog:
        return MetricsLog(self.dir / "metrics.jsonl")

    @property
    def loss_png(self) -> Path:
        return self.dir / "loss.png"

    @property
    def report(self) -> Path:
        return self.dir / "report.md"

    def read_state(self) -> RunState | None:
        try:
            raw = json.loads((self.dir / "state.json").read_text(encoding="utf-8"))
            return RunState(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def write_state(self, state: RunState) -> None:
        atomic_write_text(self.dir / "state.json", json.dumps(asdict(state), indent=2, default=str) + "\n")

    def new_state(self, *, method: str, spec_sha256: str) -> RunState:
        return RunState(run_id=self.id, status="running", started_at=_now(), method=method, spec_sha256=spec_sha256,
                        pid=os.getpid(), host=socket.gethostname())

    def mark_running(self, state: RunState) -> None:
        """Running in this process (a resumed run gets the new process's id)."""
        state.status, state.error = "running", None
        state.pid, state.host = os.getpid(), socket.gethostname()
        self.write_state(state)

    def finish_state(self, state: RunState, status: Status, *, error: str | None = None) -> None:
        state.status = status
        state.error = error
        state.finished_at = _now() if status == "finished" else None
        self.write_state(state)


def runs_dir_of(project_dir: Path) -> Path:
    return project_dir / PHASE_FOLDER / "runs"


def new_run(runs_dir: Path) -> Run:
    """Create `runs_dir/RUN_ID/`; the id is the UTC start time, made unique within a second."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = runs_dir / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return Run(folder)
    raise RuntimeError("could not pick a run id")  # a thousand runs in one second: not a user error


def list_runs(runs_dir: Path) -> list[Run]:
    """Runs with a state file, oldest first."""
    if not runs_dir.is_dir():
        return []
    # Ids are UTC timestamps (with -N suffixes inside one second), so name order is start order.
    return sorted((Run(p) for p in runs_dir.iterdir() if p.is_dir() and (p / "state.json").is_file()),
                  key=lambda r: r.id)


def newest_unfinished(runs_dir: Path) -> Run | None:
    """The newest run that did not finish (killed, interrupted or failed), for --resume."""
    for run in reversed(list_runs(runs_dir)):
        state = run.read_state()
        if state is not None and state.status != "finished":
            return run
    return None


def last_run_summary(project_dir: Path) -> dict[str, Any] | None:
    """The newest run of a project for `cairn status`: id, status, final losses, verdicts. Never raises."""
    runs = list_runs(runs_dir_of(project_dir))
    if not runs:
        return None
    run = runs[-1]
    state = run.read_state()
    if state is None:
        return None
    summary = state.summary
    status = status_of(state)
    return {
        "run_id": state.run_id,
        "status": status,
        "resume": "cairn train --resume" if status in ("dead", "interrupted", "failed") else None,
        "method": state.method,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "final_train_loss": summary.get("final_train_loss"),
        "final_eval_loss": summary.get("final_eval_loss"),
        "verdict": summary.get("verdict"),
        "forgetting": (summary.get("forgetting") or {}).get("verdict"),  # on the regression set, when named
        "path": str(run.dir),
    }


def status_of(state: RunState) -> str:
    """The state's status, or "dead" for a run marked running whose process is gone (killed with
    kill -9 or by a power loss, without a chance to mark itself interrupted)."""
    return "dead" if state.status == "running" and not _alive(state) else state.status


def _alive(state: RunState) -> bool:
    """Whether the process that marked the run running still exists; True when it cannot be told
    (another host, or a state file written before pids were recorded)."""
    if state.pid is None or state.host != socket.gethostname():
        return True
    return process_alive(state.pid)


class MetricsLog:
    """metrics.jsonl: appended line by line and flushed, so a killed run keeps what it logged."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=float) + "\n")
            handle.flush()

    def read(self) -> list[dict[str, Any]]:
        """Every complete line; a line cut short by a kill is skipped."""
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return rows

    def keep_until(self, stage: str, step: int) -> None:
        """Drop this stage's records after `step` (a resumed run redoes those steps)."""
        rows = [r for r in self.read() if r.get("stage") != stage or int(r.get("step", 0)) <= step]
        if self.path.exists():
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))


def is_main_process() -> bool:
    """Under `accelerate launch` only rank 0 writes run files, the report and the sidecar."""
    return int(os.environ.get("RANK", "0")) == 0
