"""`cairn data ...` commands."""

import typer

app = typer.Typer(help="Prepare and check training data (JSONL): convert, validate, analyze, dedup, split.",
                  no_args_is_help=True)
