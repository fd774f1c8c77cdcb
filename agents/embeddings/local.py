"""WordLlama: a static-embedding model whose weights ship inside its PyPI wheel (MIT, ~19 MB).

Embedding a short text takes ~0.1 ms on one CPU core, so the loop check can run before
every model call. The model is loaded once per process, on first use, so web processes
that never embed never pay the ~150 ms load; a worker's processes use the one their parent
loaded before forking them (embedding_model_preload).
"""

import mmap
import os
import threading
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from agents.embeddings.base import Vectors, normalised

WORDLLAMA_DIMENSIONS = 256


def _load() -> Any:
    import wordllama  # imported here: the import itself pulls in tokenizers and safetensors

    # The weights are in the wheel; disable_download makes a missing file an error, never a fetch.
    model = wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=WORDLLAMA_DIMENSIONS
    )
    # The wheel's weights are float16 and WordLlama widens the whole matrix to float32 (32 MB in
    # every process that embeds). Kept at float16 (16 MB), only a text's own rows are widened,
    # when its tokens are averaged against the float32 attention mask: the same vectors, bit for bit.
    # The matrix gets a mapping of its own: from malloc it could land in the heap, whose free
    # blocks around it (the float32 copy's among them) stay resident and, after a fork, shared.
    widened = model.embedding
    weights = np.frombuffer(mmap.mmap(-1, widened.size * 2), dtype=np.float16).reshape(widened.shape)
    weights[...] = widened
    weights.flags.writeable = False
    model.embedding = weights
    return model


class _Loaded(NamedTuple):
    model: Any
    pid: int  # the process that loaded it
    fork_safe: bool  # loaded with the tokenizer's thread pool off, so a forked child may use it


_lock = threading.Lock()
_loaded: _Loaded | None = None


def embedding_model_preload() -> None:
    """Load the model in a process about to fork, so that its children share it copy-on-write.

    The tokenizer's thread pool does not survive a fork, so it is turned off first: the loop
    guard embeds one short text at a time, which the pool never sped up."""
    global _loaded
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _loaded = _Loaded(_load(), os.getpid(), fork_safe=True)


def _model_usable_here() -> Any | None:
    """The model loaded in this process, or one inherited from a parent that preloaded it for its
    children; None otherwise (a parent's lazily loaded model has a tokenizer whose thread pool
    did not survive the fork)."""
    loaded = _loaded
    if loaded is not None and (loaded.fork_safe or loaded.pid == os.getpid()):
        return loaded.model
    return None


def _model() -> Any:
    global _loaded
    model = _model_usable_here()
    if model is None:
        with _lock:
            model = _model_usable_here()
            if model is None:
                model = _load()
                _loaded = _Loaded(model, os.getpid(), fork_safe=False)
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
