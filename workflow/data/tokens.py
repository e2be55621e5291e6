"""Token counts: a real local tokenizer when one is given, otherwise a named approximation.

The approximation is characters / 4 (rounded up), the usual rule of thumb for English with
BPE tokenizers. It costs nothing per line, which is what lets `validate` and `analyze` keep up
with plain JSON parsing, and every output that uses it says so. It undercounts languages
written without spaces (Chinese, Japanese) by up to 4x: pass `--tokenizer` for those.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from workflow.errors import DataError, MissingExtra

APPROXIMATION = "approximate (characters / 4); pass --tokenizer DIR for exact counts"

Counter = Callable[[list[str]], list[int]]


def approx(chars: int) -> int:
    """Approximate tokens for a number of characters."""
    return (chars + 3) // 4


def method(tokenizer: str | None) -> str:
    """How token numbers were obtained, for the summary line."""
    return f"tokenizer {tokenizer}" if tokenizer else APPROXIMATION


@lru_cache(maxsize=4)
def load_counter(path: str) -> Counter:
    """A function counting tokens for a batch of texts with the tokenizer in a local folder.

    Raises:
        DataError: the folder does not exist or holds no tokenizer.
        MissingExtra: neither `tokenizers` nor `transformers` is installed.
    """
    folder = Path(path)
    if not folder.exists():
        raise DataError(f"tokenizer folder {folder} does not exist: pass a local folder with tokenizer.json")
    file = folder / "tokenizer.json" if folder.is_dir() else folder
    if file.is_file() and file.suffix == ".json":
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingExtra("train", "tokenizers") from None
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # the Rust side raises plain Exception subclasses
            raise DataError(f"cannot load tokenizer {file}: {exc}") from None

        def count(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

        return count
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingExtra("train", "transformers") from None
    try:
        auto = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # transformers raises OSError / ValueError / others for a bad folder
        raise DataError(f"cannot load a tokenizer from {folder}: {exc}") from None
    return lambda texts: [len(ids) for ids in auto(texts, add_special_tokens=False)["input_ids"]]
