"""Where the shipped data (pack, personas, templates, knowledge, default config) lives.

In a wheel it is package data under `workflow/_data/`; in a source checkout it is the
repository root beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding pack.yaml, steps/, agents/, templates/, knowledge/, config.yaml."""
    packaged = _PACKAGE / "_data"
    if (packaged / "pack.yaml").is_file():
        return packaged
    return _PACKAGE.parent


def default_pack_dir() -> Path:
    return data_root()


def knowledge_dir() -> Path:
    return data_root() / "knowledge"


def default_config_path() -> Path:
    return data_root() / "config.yaml"


def packs_dir() -> Path:
    """Extra shipped packs (for example `prompt-tuning`), selectable by name."""
    return data_root() / "packs"
