"""The projects one MCP server drives. Several projects at once; each call on a project holds
that project's lock only for the length of the call (DESIGN 7), so a terminal session and the
server refuse each other cleanly, and a killed server leaves nothing locked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workflow.config import Config
from workflow.errors import CairnError, PackError
from workflow.knowledge.protocol import KnowledgeClient
from workflow.pack_model import Pack
from workflow.session import Session, create_project
from workflow.store import check_project_name, list_projects, project_lock, read_sidecar, require_project
from workflow.summary import progress_rows


class LazyKnowledge:
    """The server's one knowledge client, started on the first query: most calls (answers,
    menus) never need the Knowledge server, so the MCP server starts without waiting for it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._client: KnowledgeClient | None = None
        self._lock = threading.Lock()

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Raises KnowledgeUnavailable when the server cannot be reached."""
        return self._real().call(tool, arguments)

    def _real(self) -> KnowledgeClient:
        with self._lock:
            if self._client is None:
                from workflow.commands import open_knowledge

                self._client = open_knowledge(self.config)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class Workspace:
    """Projects under `output_dir`, opened on demand and kept open between calls (a session's
    pack and graph are costly to build); the lock is taken per call, never kept."""

    def __init__(self, *, output_dir: Path, config: Config, knowledge: KnowledgeClient | None = None) -> None:
        self.output_dir = output_dir.resolve()
        self.config = config
        self.knowledge: Any = knowledge if knowledge is not None else LazyKnowledge(config)
        self._owns_knowledge = knowledge is None
        self._sessions: dict[str, tuple[Session, Any]] = {}
        self._guards: dict[str, threading.Lock] = {}
        self._registry = threading.Lock()
        self._packs: dict[str | None, Pack] = {}

    def _guard(self, name: str) -> threading.Lock:
        # Two calls on one project from this server wait for each other instead of one of them
        # being refused by the file lock, which would name this very process as the holder.
        with self._registry:
            return self._guards.setdefault(name, threading.Lock())

    @contextmanager
    def project(self, name: str) -> Iterator[Session]:
        """The open session of project NAME, with its lock held for the block.

        Raises ProjectError (bad name, no such project), LockedError (a terminal session holds
        it), SidecarError or PackError (a broken project)."""
        check_project_name(name)
        folder = require_project(self.output_dir, name)
        with self._guard(name), project_lock(folder, purpose="mcp call"):
            yield self._session(name)

    def _session(self, name: str) -> Session:
        cached = self._sessions.get(name)
        if cached is not None:
            session, created = cached
            try:
                # The project may have been deleted and created again under the same name.
                if session.engine.sidecar().get("created") == created:
                    return session
            except CairnError:
                self._drop(name)
                raise
            self._drop(name)
        session = Session(output_dir=self.output_dir, name=name, config=self.config, knowledge=self.knowledge,
                          lock=False)
        session.open()
        self._sessions[name] = (session, session.engine.sidecar().get("created"))
        return session

    def _drop(self, name: str) -> None:
        cached = self._sessions.pop(name, None)
        if cached is not None:
            cached[0].close()

    def create(self, name: str, *, user: str, pack: str | None) -> None:
        """Raises ProjectError for a bad or existing name, PackError for a broken pack or one this
        server does not offer (only shipped packs and config.yaml's `packs:`)."""
        check_project_name(name)
        if pack is not None:
            pack = self.offered_pack(pack)
        with self._guard(name):
            create_project(self.output_dir, name, user=user, pack_ref=pack)

    def offered_pack(self, pack: str) -> str | None:
        """`pack` when it names a shipped pack or a folder listed under `packs:` in config.yaml.
        Raises PackError otherwise."""
        from workflow.packs import resolve_pack_path
        from workflow.resources import packs_dir

        if pack in ("", "default", "ai-engineering"):
            return None
        if "/" not in pack and "\\" not in pack and pack not in (".", "..") and (packs_dir() / pack).is_dir():
            return pack
        offered = {str(Path(p).expanduser().resolve()): p for p in self.config.packs}
        try:
            wanted = str(Path(pack).expanduser().resolve())
        except (OSError, ValueError, RuntimeError):
            wanted = ""
        if wanted in offered:
            return resolve_pack_path(wanted).as_posix()
        shipped = ", ".join(["ai-engineering", *sorted(p.name for p in packs_dir().iterdir() if p.is_dir())]) \
            if packs_dir().is_dir() else "ai-engineering"
        raise PackError(f"pack '{Path(pack).name or pack}' is not offered by this server; use a shipped pack "
                        f"({shipped}) or one the server's owner lists under `packs:` in config.yaml")

    def projects(self) -> list[dict[str, Any]]:
        return list_projects(self.output_dir)

    def folder(self, name: str) -> Path:
        """Raises ProjectError for a bad name or a missing project."""
        return require_project(self.output_dir, check_project_name(name))

    def progress(self, name: str) -> dict[str, Any]:
        """The `cairn status --json` shape. Reads without the lock, as `cairn status` does: the
        sidecar is replaced atomically, so a reader never sees half of it."""
        folder = self.folder(name)
        sidecar = read_sidecar(folder)
        from workflow.review import project_status

        pack = self.pack(sidecar)
        rows = [{"id": r["id"], "title": r["title"], "status": r["status"]} for r in progress_rows(pack, sidecar)]
        return {"project": name, "workflow_status": sidecar.get("workflow_status"),
                "currentStep": sidecar.get("currentStep"), "steps": rows,
                "architecture": sidecar.get("architecture"), "last_run": _last_run(folder),
                "usage": sidecar.get("usage") or {}, **project_status(pack, sidecar, folder)}

    def pack(self, sidecar: dict[str, Any]) -> Pack:
        """The project's pack, loaded once per server (loading one takes a good part of a second)."""
        from workflow.session import pack_for

        ref = (sidecar.get("workflow") or {}).get("pack")
        with self._registry:
            if ref not in self._packs:
                self._packs[ref] = pack_for(sidecar)
            return self._packs[ref]

    def close(self) -> None:
        for name in list(self._sessions):
            self._drop(name)
        if self._owns_knowledge:
            self.knowledge.close()


def _last_run(folder: Path) -> Any:
    try:
        from workflow.training.runs import last_run_summary
    except ImportError:
        return None
    return last_run_summary(folder)
