"""Project files as MCP resources (DESIGN 7): `cairn://projects/{name}` lists what can be read,
`cairn://projects/{name}/{path}` reads the sidecar, the decision log, the project spec or a
document. Read-only and without the project lock, as `cairn status` reads."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from workflow.errors import CairnError
from workflow.mcp.messages import for_model
from workflow.mcp.paths import project_files, readable_file
from workflow.mcp.workspace import Workspace


def register_resources(server: MCPServer, ws: Workspace) -> None:
    """Add the project resource templates to `server`."""

    @server.resource("cairn://projects/{name}", name="project", mime_type="application/json")
    def project_index(name: str) -> str:
        """The files of a project that can be read as cairn://projects/NAME/PATH."""
        try:
            folder = ws.folder(name)
        except CairnError as exc:
            raise ResourceNotFoundError(for_model(str(exc), ws.output_dir)) from None
        files = project_files(folder)
        return json.dumps({"project": name, "files": files,
                           "uris": [f"cairn://projects/{name}/{f}" for f in files]}, ensure_ascii=False)

    @server.resource("cairn://projects/{name}/{+path}", name="project-file", mime_type="text/plain")
    def project_file(name: str, path: str) -> str:
        """sidecar.yaml, decision-log.md, project-spec.md or a document under a phase folder."""
        try:
            target = readable_file(ws.folder(name), path)
        except CairnError as exc:
            raise ResourceNotFoundError(for_model(str(exc), ws.output_dir)) from None
        try:
            return target.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ResourceError(f"{path} is not a text file") from None
        except OSError as exc:  # swapped for a folder or a link between the check and the read
            raise ResourceError(f"{path} cannot be read ({exc.strerror or 'error'})") from None
