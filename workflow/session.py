"""The engine API every front end uses: create and open projects, get the current prompt,
send a reply, jump to a step, show progress (DESIGN 2). Front ends never touch the graph."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from workflow import phases, summary
from workflow.config import Config
from workflow.errors import ProjectError
from workflow.fileio import project_folder, remove_stray_temp_files, write_project_file
from workflow.i18n import t
from workflow.knowledge.protocol import KnowledgeClient
from workflow.pack_model import Pack
from workflow.packs import language_variant, load_pack, resolve_pack_path
from workflow.store import (
    DECISION_LOG,
    PROJECT_SPEC,
    check_project_name,
    create_project_folder,
    new_sidecar,
    now_iso,
    project_lock,
    read_sidecar,
    require_project,
    write_sidecar,
)

THREAD = {"configurable": {"thread_id": "step"}}


def create_project(output_dir: Path, name: str, *, user: str, pack_ref: str | None = None,
                   language: str | None = None) -> Path:
    """Create output/NAME with its sidecar, decision log, project spec and phase folders.
    A pack that ships `language` (default: config.yaml's communication_language) in a
    subfolder is used in that language; the sidecar records the folder chosen.
    Raises ProjectError for a bad or existing name, PackError for a broken pack."""
    check_project_name(name)
    if pack_ref is not None:
        if language is None:
            from workflow.context import current_settings

            language = current_settings().config.communication_language
        root = resolve_pack_path(pack_ref)
        variant = language_variant(root, language)
        if variant != root:
            pack_ref = str(variant)
    pack = load_pack(pack_ref)
    pack_path = resolve_pack_path(pack_ref)
    workflow = {"name": pack.name, "version": pack.version, "style": pack.style,
                "pack": None if pack_ref is None else str(pack_path)}
    sidecar = new_sidecar(name=name, user=user, workflow=workflow, start=pack.start, steps=list(pack.steps),
                          phases=[phases.sidecar_key(p) for p in pack.phases()])
    sidecar["steps"][pack.start] = "in_progress"

    def build(folder: Path) -> None:
        for phase in pack.phases():
            project_folder(folder, phases.output_folder(phase))
        write_project_file(folder, DECISION_LOG, f"# Decision log: {name}\n\n")
        write_project_file(folder, PROJECT_SPEC, summary.project_markdown(pack, sidecar, folder))
        write_sidecar(folder, sidecar)

    # Built in a hidden folder and renamed into place: a concurrent `new` or a kill never leaves half a project.
    return create_project_folder(output_dir, name, build)


def pack_for(sidecar: dict[str, Any]) -> Pack:
    return load_pack((sidecar.get("workflow") or {}).get("pack"))


class Session:
    """One open project. Holds the project lock from `open()` to `close()` (use as a context
    manager). Raises ProjectError/SidecarError for a broken project and LockedError when another
    session holds it."""

    def __init__(self, *, output_dir: Path, name: str, config: Config, knowledge: KnowledgeClient,
                 lock: bool = True) -> None:
        self.folder = require_project(output_dir, name)
        self.name = name
        self.config = config
        self.knowledge = knowledge
        self._lock = lock
        self._stack = ExitStack()
        self._graph: Any = None
        self._saver: Any = None
        self._resuming = True  # the first prompt after opening redraws its step's header

    def __enter__(self) -> Session:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self._lock:
            self._stack.enter_context(project_lock(self.folder))
        try:
            sidecar = read_sidecar(self.folder)
            self.pack = pack_for(sidecar)
            from langgraph.checkpoint.sqlite import SqliteSaver

            from workflow.engine import Engine
            from workflow.graph import build_graph

            project_folder(self.folder, ".cairn")
            remove_stray_temp_files(self.folder)  # left by a writer killed before its rename
            conn = sqlite3.connect(self.folder / ".cairn" / "session.sqlite", check_same_thread=False)
            self._stack.callback(conn.close)
            self._saver = SqliteSaver(conn)
            self.engine = Engine(pack=self.pack, project_dir=self.folder, config=self.config,
                                 knowledge=self.knowledge)
            self._graph = build_graph(self.engine, self._saver)
            step = sidecar.get("currentStep")
            if step is not None and str(step) not in self.pack.steps and sidecar.get("workflow_status") != "complete":
                # Refused before the sidecar is rewritten: a damaged file stays as its owner left it.
                raise ProjectError(f"{self.folder / 'sidecar.yaml'}: currentStep '{step}' is not a step of pack "
                                   f"{self.pack.name} (steps: {', '.join(self.pack.steps)}); fix currentStep by hand")
            sidecar["lastContinued"] = now_iso()
            write_sidecar(self.folder, sidecar)
        except BaseException:
            self._stack.close()
            raise

    def close(self) -> None:
        self._stack.close()

    # ---- the conversation ------------------------------------------------------------------------
    def current(self) -> dict[str, Any]:
        """The prompt waiting for the user (a question, a menu) or `{"kind": "done"}`. A session
        resumed in the middle of a step shows that step's header again."""
        prompt = self._advance(None)
        messages = prompt.get("messages") or []
        if self._resuming and prompt["kind"] != "done" and not any(m.get("kind") == "header" for m in messages):
            header = self.engine.entry_messages(str(prompt["step"]["id"]))[:1]
            prompt["messages"] = header + list(messages)
        self._resuming = False
        return prompt

    def send(self, reply: Any) -> dict[str, Any]:
        """Answer the waiting prompt; returns the next prompt."""
        self._resuming = False
        return self._advance(reply)

    def _advance(self, reply: Any) -> dict[str, Any]:
        from langgraph.types import Command

        graph = self._graph
        messages: list[dict[str, Any]] = []
        carried: dict[str, Any] | None = None  # a command's result that outlives its finished visit
        while True:
            snapshot = graph.get_state(THREAD)
            if snapshot.interrupts:
                if reply is None:
                    payload = dict(snapshot.interrupts[0].value)
                    payload["messages"] = messages + list(payload.get("messages") or [])
                    if carried is not None and payload.get("result") is None:
                        payload["result"] = carried
                    return payload
                graph.invoke(Command(resume=reply), THREAD)
                reply = None
            elif snapshot.next:
                graph.invoke(None, THREAD)  # a node was cut off (e.g. a crash mid-completion): redo it
            elif snapshot.values:
                done = snapshot.values.get("done") or {}
                messages += self._finished_messages(snapshot.values, done)
                carried = snapshot.values.get("result") or carried
                self._saver.delete_thread("step")
            else:
                sidecar = self.engine.sidecar()
                step = sidecar.get("currentStep")
                if not step or sidecar.get("workflow_status") == "complete":
                    return {"kind": "done", "messages": messages, "result": carried,
                            "progress": summary.progress_rows(self.pack, sidecar)}
                if step not in self.pack.steps:
                    raise ProjectError(f"{self.folder / 'sidecar.yaml'}: currentStep '{step}' is not a step "
                                       f"of pack {self.pack.name}; fix currentStep by hand")
                visit = int((sidecar.get("visits") or {}).get(step, 0)) + 1
                prefill = dict((sidecar.get("answers") or {}).get(step) or {})
                graph.invoke({"step": step, "visit": visit, "answers": {}, "prefill": prefill,
                              "knowledge": [], "notes": list((sidecar.get("notes") or {}).get(step) or []),
                              "outbox": [], "draft": {}, "outcome": None, "done": None,
                              "field_error": None, "result": None, "saved": {}, "recorded": [],
                              "added_stories": [], "queued": None, "pushback": None, "pushed": [],
                              "reviewed": None, "acknowledged": {}, "confirming": None}, THREAD)

    def visit_state(self) -> dict[str, Any]:
        """The step visit in flight (answers, knowledge, drafts, what a tool front end contributed)
        as plain JSON; empty when the workflow is complete. Call after `current()` or `send()`."""
        return dict(self._graph.get_state(THREAD).values or {})

    def _finished_messages(self, values: dict[str, Any], done: dict[str, Any]) -> list[dict[str, Any]]:
        step = self.pack.steps.get(values.get("step", ""))
        outcome = values.get("outcome") or {}
        if step is None:
            return []
        language = self.config.communication_language
        if outcome.get("kind") in ("skip", "user_skip"):
            text = t("step_skipped", language, id=step.id, title=step.title, reason=outcome.get("reason"))
        else:
            text = t("step_complete", language, id=step.id, title=step.title)
        if outcome.get("kind") == "revise":
            text += t("step_revise", language, target=outcome.get("target"))
        return [{"kind": "done_step", "text": text}]

    def goto(self, step_id: str) -> None:
        """Reopen an earlier step with its answers prefilled; when it completes the session
        returns to where it was. Raises ProjectError for an unknown or not yet reached step."""
        sidecar = read_sidecar(self.folder)
        if step_id not in self.pack.steps:
            raise ProjectError(f"no step '{step_id}' in pack {self.pack.name}; steps: {', '.join(self.pack.steps)}")
        if step_id not in sidecar.get("stepsCompleted", []):
            raise ProjectError(f"step '{step_id}' has not been reached yet; --goto reopens a completed step")
        current = sidecar.get("currentStep")
        if current == step_id:
            return
        if current:
            sidecar["return_to"].append(current)
            if current not in sidecar["stepsCompleted"]:
                sidecar["steps"][current] = "pending"  # its in-flight visit is dropped; it restarts on return
        sidecar["currentStep"] = step_id
        sidecar["steps"][step_id] = "in_progress"
        sidecar["workflow_status"] = "in_progress"
        self._saver.delete_thread("step")
        write_sidecar(self.folder, sidecar)
        self.engine._sidecar = None

    def progress(self) -> list[dict[str, Any]]:
        return summary.progress_rows(self.pack, read_sidecar(self.folder))
