"""`cairn knowledge ...` commands. Only typer and the standard library at module level:
the index (bm25s, numpy) and the MCP SDK load inside the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from workflow.knowledge.tools import KnowledgeTools

app = typer.Typer(help="The knowledge base and its MCP server.", no_args_is_help=True)

KnowledgeDir = Annotated[
    Path | None,
    typer.Option("--knowledge-dir", help="Folder of entry YAML files (default: the shipped knowledge base)."),
]
TYPES = ("decision", "pattern", "warning", "methodology", "checklist", "note")


def _tools(knowledge_dir: Path | None, dense_vectors: str = "off") -> KnowledgeTools:
    from workflow.context import current_settings
    from workflow.knowledge.index import open_index
    from workflow.knowledge.ingest import ingested_dir
    from workflow.knowledge.tools import KnowledgeTools
    from workflow.resources import knowledge_dir as shipped

    folder = knowledge_dir or shipped()
    store = ingested_dir(current_settings().output_dir)
    with _status("Loading the knowledge index"):
        return KnowledgeTools(open_index(folder, store, dense_vectors=dense_vectors))


class _status:
    """A spinner on stderr while slow work runs, only when stderr is a terminal."""

    def __init__(self, message: str) -> None:
        self.message = message
        self._live: object | None = None

    def __enter__(self) -> None:
        if sys.stderr.isatty():
            from rich.console import Console

            status = Console(stderr=True).status(self.message)
            status.start()
            self._live = status

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()  # type: ignore[attr-defined]


@app.command()
def serve(
    http: Annotated[
        str | None, typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP instead of stdio.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="CAIRN_KNOWLEDGE_TOKEN", help="Require this bearer token (HTTP only)."),
    ] = None,
    knowledge_dir: KnowledgeDir = None,
) -> None:
    """Run the Knowledge MCP server (stdio unless --http is given)."""
    from workflow.knowledge.server import build_server, parse_http, serve_http, serve_stdio

    address = parse_http(http) if http else None
    server = build_server(_tools(knowledge_dir, "background"))
    if address is None:
        serve_stdio(server)  # a token has no meaning on stdio: the client owns the process
        return
    host, port = address
    if not token and host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host} without --token: anyone who can reach it can query it", file=sys.stderr)
    print(f"Knowledge MCP server on http://{host}:{port}/mcp", file=sys.stderr)
    serve_http(server, host, port, token)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="A question or keywords.")],
    type_: Annotated[
        str | None, typer.Option("--type", help=f"Only this type: {', '.join(TYPES)}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {results, metadata} as JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Most results.")] = 10,
    knowledge_dir: KnowledgeDir = None,
) -> None:
    """Search the knowledge base and ingested notes."""
    from workflow.errors import ConfigError
    from workflow.knowledge.display import result_block
    from workflow.knowledge.tools import MAX_QUERY_CHARS

    if type_ is not None and type_ not in TYPES:
        raise ConfigError(f"--type {type_}: expected one of {', '.join(TYPES)}")
    if not query.strip():
        raise ConfigError("the search query is empty; fix: give a question or keywords")
    if len(query) > MAX_QUERY_CHARS:
        raise ConfigError(f"the search query has {len(query)} characters; fix: shorten it to at most "
                          f"{MAX_QUERY_CHARS} (the limit the MCP tools apply too)")
    tools = _tools(knowledge_dir, "wait")
    response = tools.search(query, types=[type_] if type_ else None, limit=limit).model_dump(mode="json")
    if as_json:
        print(json.dumps(response, ensure_ascii=False, indent=2))
        return
    if not response["results"]:
        print(f"No results for '{query}'. {response['metadata']['note'] or ''}".rstrip())
        return
    for number, result in enumerate(response["results"], start=1):
        print(f"{number}. {result_block(result)}")


@app.command("list")
def list_(
    type_: Annotated[str | None, typer.Option("--type", help=f"Only this type: {', '.join(TYPES)}.")] = None,
    knowledge_dir: KnowledgeDir = None,
) -> None:
    """List every entry (and ingested note) as id, type and title."""
    from workflow.errors import ConfigError

    if type_ is not None and type_ not in TYPES:
        raise ConfigError(f"--type {type_}: expected one of {', '.join(TYPES)}")
    for doc in _tools(knowledge_dir).index.docs:
        if type_ is None or doc.type == type_:
            print(f"{doc.id:<48} {doc.type:<12} {doc.title}")


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    knowledge_dir: KnowledgeDir = None,
) -> None:
    """Counts of entries by type, topics, sources and ingested notes."""
    from workflow.knowledge.index import cache_root
    from workflow.knowledge.index import stats as index_stats

    index = _tools(knowledge_dir).index
    figures = {**index_stats(index), "cache": str(cache_root() / "knowledge-index" / index.key)}
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    print(f"documents: {figures['documents']}")
    for kind, count in figures["by_type"].items():
        print(f"  {kind}: {count}")
    print(f"topics: {figures['topics']}")
    print(f"sources: {figures['sources']}")
    print(f"index cache: {figures['cache']}")


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="Folder of .md, .markdown, .txt or .rst files.")],
    knowledge_dir: KnowledgeDir = None,
) -> None:
    """Add a team's own notes to the index as searchable chunks (re-running replaces them).

    Files that cannot be used (binary, not UTF-8, over 5 MB, unreadable, links out of the folder)
    are skipped with one line each on stderr; the exit code is 1 only when nothing could be read."""
    from workflow.context import current_settings
    from workflow.knowledge.ingest import NothingToIngest, ingest_folder, ingested_dir

    store = ingested_dir(current_settings().output_dir)
    try:
        with _status(f"Chunking {folder}"):
            report = ingest_folder(folder, store)
    except NothingToIngest as exc:
        _print_skipped(exc.skipped)
        raise
    _print_skipped(report.skipped)
    if report.removed:
        print(f"{folder} holds no notes any more: removed its {report.removed} earlier chunks from {report.store}")
    figures = _tools(knowledge_dir).index
    print(f"Ingested {report.chunks} chunks from {report.files} files into {report.store}")
    print(f"The index now holds {len(figures.docs)} documents.")


def _print_skipped(skipped: list[tuple[str, str]]) -> None:
    for where, why in skipped:
        print(f"skipped {where}: {why}", file=sys.stderr)
