"""`cairn train` and `cairn tiny-model` (registered on the main app by `register`)."""

import typer


def register(app: typer.Typer) -> None:
    """Add the training commands to the main `cairn` app."""
    return None
