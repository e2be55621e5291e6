"""Entry point for `langgraph dev` / LangGraph Studio (see langgraph.json): the session graph
bound to a project (CAIRN_STUDIO_PROJECT, default `studio`, created on first use in the
output folder). Studio brings its own checkpointer."""

from __future__ import annotations

import os
from typing import Any

from workflow.config import load_config, resolve_output_dir
from workflow.engine import Engine
from workflow.graph import build_graph
from workflow.knowledge.protocol import NullKnowledgeClient
from workflow.session import create_project, pack_for
from workflow.store import SIDECAR, project_dir, read_sidecar


def make_graph() -> Any:
    config = load_config()
    output = resolve_output_dir(None, config)
    name = os.environ.get("CAIRN_STUDIO_PROJECT", "studio")
    folder = project_dir(output, name)
    if not (folder / SIDECAR).is_file():
        create_project(output, name, user="studio")
    engine = Engine(pack=pack_for(read_sidecar(folder)), project_dir=folder, config=config,
                    knowledge=NullKnowledgeClient("Studio runs without the knowledge server"))
    return build_graph(engine, checkpointer=None)
