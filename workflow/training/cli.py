"""`cairn train` and `cairn tiny-model`."""

import typer

app = typer.Typer()
