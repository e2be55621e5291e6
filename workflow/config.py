"""config.yaml: one pydantic model; unknown keys are rejected with their location."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.errors import ConfigError
from workflow.resources import default_config_path
from workflow.yamlerrors import yaml_problem
from workflow.yamlload import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KnowledgeConfig(_Strict):
    enabled: bool = True
    url: str | None = None
    token: str | None = None
    timeout_s: float = Field(default=5.0, gt=0)


class LlmConfig(_Strict):
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float = 0.3
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)  # chat: Cairn retries transient failures, each one shown
    max_tokens: int | None = Field(default=None, ge=1)  # cap on each reply's length; null: the provider's
    prompt_budget_tokens: int = Field(default=6000, ge=500)
    # How the model is asked for structured proposals: null leaves the provider's default
    # (json_schema for OpenAI); function_calling or json_mode for servers without JSON-schema output.
    structured_output: Literal["json_schema", "function_calling", "json_mode"] | None = None


class CostConfig(_Strict):
    gpu_hourly_usd: dict[str, float] = Field(
        default_factory=lambda: {"T4": 0.35, "L4": 0.70, "A10G": 1.00, "A100-80GB": 1.80, "H100": 2.50}
    )
    utilisation: float = Field(default=0.35, gt=0, le=1)
    api_usd_per_1k_input_tokens: float = 0.0004
    api_usd_per_1k_output_tokens: float = 0.0016
    tokens_per_request_in: int = 1500
    tokens_per_request_out: int = 300


class Config(_Strict):
    output_dir: str = "output"
    communication_language: Literal["en", "ja"] = "en"
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    llm: LlmConfig | None = None
    costs: CostConfig = Field(default_factory=CostConfig)
    # Pack folders an MCP client may create projects with, beside the shipped packs: a client must
    # not point the server at any folder on the machine (packs are untrusted input).
    packs: list[str] = Field(default_factory=list)


def load_config(path: Path | None = None) -> Config:
    """Read `path`, else ./config.yaml, else the shipped default.

    Raises ConfigError naming the file, the key and the problem.
    """
    if path is None:
        local = Path("config.yaml")
        path = local if local.is_file() else default_config_path()
    if not path.is_file():
        return Config()
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f" line {line}" if line else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: key '{key}': {err['msg']}") from None


def resolve_output_dir(option: Path | None, config: Config) -> Path:
    """--output wins, then CAIRN_OUTPUT, then config.yaml's output_dir (relative to the cwd)."""
    if option is not None:
        return option
    env = os.environ.get("CAIRN_OUTPUT")
    if env:
        return Path(env)
    return Path(config.output_dir)
