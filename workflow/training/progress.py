"""The Trainer callback that shows progress on stderr and writes metrics.jsonl.

On a terminal: a rich progress bar with step, loss, eval loss and ETA. Elsewhere (CI, pipes):
one line per evaluation and per checkpoint, so logs stay short and scripts can wait on them.
"""

from __future__ import annotations

import math
import time
from typing import Any

from workflow.training.runs import MetricsLog

__all__ = ["make_progress_callback"]


def _numbers(logs: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in logs.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isnan(number):
            out[key] = number
    return out


def make_progress_callback(*, stage: str, metrics: MetricsLog, show_bar: bool | None = None,
                           console: Any = None) -> Any:
    """A transformers TrainerCallback for one stage (built here so transformers is imported lazily).

    `console` is a rich Console (default: stderr); `show_bar` None means "when it is a terminal".
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from transformers import TrainerCallback

    console = console or Console(stderr=True)
    bar = console.is_terminal if show_bar is None else show_bar

    class CairnProgress(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.progress: Progress | None = None
            self.task: Any = None
            self.loss = "-"
            self.eval_loss = "-"

        def _say(self, text: str) -> None:
            if self.progress is not None:
                self.progress.console.print(text, markup=False, highlight=False)
            else:
                console.print(text, highlight=False, markup=False, soft_wrap=True)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if bar:
                self.progress = Progress(
                    TextColumn(f"[bold]{stage}[/]"), BarColumn(),
                    TextColumn("step {task.completed}/{task.total}"),
                    TextColumn("loss {task.fields[loss]}"), TextColumn("eval {task.fields[eval_loss]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, transient=False)
                self.task = self.progress.add_task(stage, total=state.max_steps, completed=state.global_step,
                                                   loss=self.loss, eval_loss=self.eval_loss)
                self.progress.start()
            else:
                self._say(f"[{stage}] training for {state.max_steps} steps"
                          + (f" from step {state.global_step}" if state.global_step else ""))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.progress is not None:
                self.progress.update(self.task, completed=state.global_step, loss=self.loss,
                                     eval_loss=self.eval_loss)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            values = _numbers(logs or {})
            if not values or not state.is_world_process_zero:
                return
            metrics.append({"stage": stage, "step": state.global_step, "time": round(time.time(), 3), **values})
            if "loss" in values:
                self.loss = f"{values['loss']:.4f}"
            if "eval_loss" in values:
                self.eval_loss = f"{values['eval_loss']:.4f}"
                if self.progress is None:
                    self._say(f"[{stage}] step {state.global_step}/{state.max_steps} "
                              f"loss {self.loss} eval_loss {self.eval_loss}")
            if self.progress is not None:
                self.progress.update(self.task, loss=self.loss, eval_loss=self.eval_loss)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            # Printed after the checkpoint is complete on disk: a run killed after this line can resume from it.
            self._say(f"[{stage}] checkpoint saved at step {state.global_step}")

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.progress is not None:
                self.progress.update(self.task, completed=state.global_step)
                self.progress.stop()
                self.progress = None
            stopped = state.global_step < state.max_steps
            self._say(f"[{stage}] {'stopped early' if stopped else 'finished'} at step {state.global_step}")

    return CairnProgress()
