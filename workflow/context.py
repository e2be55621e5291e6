"""Settings resolved once per CLI invocation (global options, config.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workflow.config import Config, load_config, resolve_output_dir


@dataclass(frozen=True, kw_only=True)
class Settings:
    output_dir: Path
    config: Config
    config_path: Path | None = None

    def project_dir(self, name: str) -> Path:
        return self.output_dir / name


_current: Settings | None = None


def set_settings(settings: Settings) -> None:
    global _current
    _current = settings


def current_settings() -> Settings:
    """The settings of this invocation (defaults when no CLI callback ran, e.g. in tests)."""
    global _current
    if _current is None:
        config = load_config()
        _current = Settings(output_dir=resolve_output_dir(None, config), config=config)
    return _current
