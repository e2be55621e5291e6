"""`cairn knowledge ...` commands."""

import typer

app = typer.Typer(help="The knowledge base and its MCP server.", no_args_is_help=True)
