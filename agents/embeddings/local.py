"""WordLlama: a static-embedding model whose weights ship inside its PyPI wheel (MIT, ~19 MB).

Embedding a short text takes ~0.1 ms on one CPU core, so the loop check can run before
every model call. The model is loaded once per process, on first use, so web processes
that never embed never pay the ~150 ms load.
"""

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from agents.embeddings.base import Vectors, normalised

WORDLLAMA_DIMENSIONS = 256


def _load() -> Any:
    import wordllama  # imported here: the import itself pulls in tokenizers and safetensors

    # The weights are in the wheel; disable_download makes a missing file an error, never a fetch.
    return wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=WORDLLAMA_DIMENSIONS
    )


_lock = threading.Lock()
_loaded: dict[int, Any] = {}
# Loaded before a fork, for every child to share (embedding_model_preload).
_preloaded: Any = None


def embedding_model_preload() -> None:
    """Load the model in a process about to fork, so that its children share it copy-on-write.

    The tokenizer's thread pool does not survive a fork, so it is turned off first: the loop
    guard embeds one short text at a time, which the pool never sped up."""
    global _preloaded
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _preloaded = _load()


def _model() -> Any:
    if _preloaded is not None:
        return _preloaded
    # Otherwise keyed by process id: a forked child (a Celery prefork pool's) must not reuse
    # its parent's tokenizer, whose thread pool does not survive the fork.
    pid = os.getpid()
    model = _loaded.get(pid)
    if model is None:
        with _lock:
            model = _loaded.get(pid)
            if model is None:
                model = _loaded[pid] = _load()
    return model


class WordLlamaEmbedder:
    def __init__(self, *, dimensions: int = WORDLLAMA_DIMENSIONS) -> None:
        if not 1 <= dimensions <= WORDLLAMA_DIMENSIONS:
            raise ValueError(f"WordLlama gives at most {WORDLLAMA_DIMENSIONS} dimensions, not {dimensions}")
        self.dimensions = dimensions
        self.name = f"wordllama/l2_supercat-{dimensions}"

    def embed(self, texts: list[str]) -> Vectors:
        vectors = np.asarray(_model().embed(texts, norm=False), dtype=np.float32)
        # The model is trained Matryoshka-style: a prefix of the vector is a smaller embedding.
        return normalised(vectors[:, : self.dimensions])
