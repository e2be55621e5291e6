"""Parameter counts for the cost estimate, without loading a model (no torch).

Order: the safetensors headers of a local model (exact), its config.json (architecture
arithmetic), a small table of well-known hub models, else unknown.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KNOWN_PARAMS", "ParamCount", "count_params", "local_model_dir"]

# Published totals (embeddings included), keyed by the lower-cased name after the organisation.
KNOWN_PARAMS: dict[str, int] = {
    "qwen2.5-0.5b": 494_032_768,
    "qwen2.5-1.5b": 1_543_714_304,
    "qwen2.5-3b": 3_085_938_688,
    "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-14b": 14_770_033_664,
    "llama-3.2-1b": 1_235_814_400,
    "llama-3.2-3b": 3_212_749_824,
    "llama-3.1-8b": 8_030_261_248,
    "meta-llama-3.1-8b": 8_030_261_248,
    "llama-3.1-70b": 70_553_706_496,
    "mistral-7b-v0.1": 7_241_732_096,
    "mistral-7b-v0.3": 7_248_023_552,
    "mistral-7b": 7_241_732_096,
    "phi-3-mini": 3_821_079_552,
    "phi-3.5-mini": 3_821_079_552,
    "gemma-2-2b": 2_614_341_888,
    "gemma-2-9b": 9_241_705_984,
    "smollm2-135m": 134_515_008,
    "smollm2-360m": 361_821_120,
    "smollm2-1.7b": 1_711_376_384,
    "tinyllama-1.1b": 1_100_048_384,
}
# Variant suffixes that do not change the parameter count.
_SUFFIXES = ("-instruct", "-it", "-chat", "-hf", "-4k", "-128k", "-v1.0", "-chat-v1.0", "-intermediate-step")


@dataclass(frozen=True, kw_only=True)
class ParamCount:
    params: int | None
    source: str  # how it was found, said in the estimate


def local_model_dir(base_model: str, *, spec_dir: Path | None = None) -> Path | None:
    """The folder `base_model` names when it is a local model (the current folder first, then the spec's)."""
    candidates = [Path(base_model).expanduser()]
    if spec_dir is not None and not candidates[0].is_absolute():
        candidates.append(spec_dir / base_model)
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    return None


def _safetensors_params(folder: Path) -> int | None:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with file.open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(size))
        total += sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")
    return total


def _config_params(config: dict) -> int | None:
    cfg = config.get("text_config", config)
    try:
        hidden = int(cfg["hidden_size"])
        layers = int(cfg["num_hidden_layers"])
        vocab = int(cfg["vocab_size"])
        inter = int(cfg.get("intermediate_size") or 4 * hidden)
        heads = int(cfg.get("num_attention_heads") or 1)
        kv_heads = int(cfg.get("num_key_value_heads") or heads)
    except (KeyError, TypeError, ValueError):
        return None
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2  # q, o, k, v
    mlp = 3 * hidden * inter  # gated MLP (gate, up, down), as in Llama / Qwen / Mistral
    embeddings = vocab * hidden * (1 if cfg.get("tie_word_embeddings", False) else 2)
    return embeddings + layers * (attention + mlp + 2 * hidden) + hidden


def _table_lookup(base_model: str) -> int | None:
    name = base_model.rstrip("/").rsplit("/", 1)[-1].lower()
    for _ in range(3):
        if name in KNOWN_PARAMS:
            return KNOWN_PARAMS[name]
        stripped = next((name.removesuffix(s) for s in _SUFFIXES if name.endswith(s)), name)
        if stripped == name:
            break
        name = stripped
    return KNOWN_PARAMS.get(name)


def count_params(base_model: str, *, override: int | None = None, spec_dir: Path | None = None) -> ParamCount:
    """Best parameter count for `base_model`; never raises (unknown is `params=None`)."""
    if override is not None:
        return ParamCount(params=override, source="given with --params")
    folder = local_model_dir(base_model, spec_dir=spec_dir)
    if folder is not None:
        try:
            exact = _safetensors_params(folder)
            if exact:
                return ParamCount(params=exact, source=f"counted from the safetensors in {folder}")
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            approx = _config_params(config) if isinstance(config, dict) else None
            if approx:
                return ParamCount(params=approx, source=f"computed from {folder / 'config.json'}")
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            pass
    known = _table_lookup(base_model)
    if known:
        return ParamCount(params=known, source="Cairn's table of well-known models")
    return ParamCount(params=None, source="not a local model and not in the table; pass --params N")
