"""The `cairn` command line. Commands call the engine API; CairnError becomes a one-line
message and the exit codes of DESIGN 4.2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from workflow import commands
from workflow.context import Settings, set_settings
from workflow.data import cli as data_cli
from workflow.errors import CairnError
from workflow.evaluation import cli as eval_cli
from workflow.knowledge import cli as knowledge_cli
from workflow.mcp import cli as mcp_cli
from workflow.training import cli as training_cli

app = typer.Typer(
    help="Cairn: a guided workflow from business requirements to a production LLM plan, "
    "and the training it specifies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    output: Annotated[
        Path | None,
        typer.Option("--output", envvar="CAIRN_OUTPUT", help="Folder where projects live (default: output/)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="config.yaml to use (default: ./config.yaml or the shipped one).")
    ] = None,
) -> None:
    from workflow.config import load_config, resolve_output_dir

    cfg = load_config(config)
    set_settings(Settings(output_dir=resolve_output_dir(output, cfg), config=cfg, config_path=config))


commands.register(app)
app.add_typer(data_cli.app, name="data")
app.add_typer(knowledge_cli.app, name="knowledge")
app.add_typer(eval_cli.app, name="eval")
app.add_typer(mcp_cli.app, name="mcp")
training_cli.register(app)


def main() -> None:
    """Console entry point: user errors print one line on stderr and exit with their code."""
    try:
        app()
    except CairnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # the boundary: a full or read-only disk is a message, not a traceback
        from workflow.fileio import disk_problem

        problem = disk_problem(exc)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
