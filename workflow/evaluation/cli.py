"""`cairn eval ...` commands."""

import typer

app = typer.Typer(help="Measure LLM applications: inspect, run cases with repeats, compare runs.",
                  no_args_is_help=True)
