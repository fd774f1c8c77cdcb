"""Which WordLlama model a process embeds with (agents/embeddings/local.py): the one it loaded,
or the one its parent preloaded before forking it; loaded once, never once per thread.

The loading itself is counted, not timed: `_load` is replaced by a stand-in that counts calls."""

import os
import time

import pytest

from agents.embeddings import local
from tests.support.forks import in_forked_child
from tests.support.races import race


class _Model:
    """A stand-in for the model: only its identity matters here."""


@pytest.fixture
def loads(monkeypatch) -> list[_Model]:
    """The models loaded from now on, in order; the process starts with none loaded."""
    loaded: list[_Model] = []

    def load() -> _Model:
        time.sleep(0.05)  # long enough for racing threads to find nothing loaded yet
        loaded.append(_Model())
        return loaded[-1]

    monkeypatch.setattr(local, "_load", load)
    monkeypatch.setattr(local, "_loaded", None)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")  # restored after the preload test
    return loaded


def test_a_process_that_did_not_preload_loads_once_for_all_its_threads(loads):
    models = race(*[local._model for _ in range(8)], expected=())

    assert len(loads) == 1
    assert all(model is loads[0] for model in models)
    assert local._model() is loads[0]


def test_a_child_uses_the_model_its_parent_preloaded_without_loading_it_again(loads):
    local.embedding_model_preload()
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"  # the tokenizer survives the fork

    assert in_forked_child(lambda: local._model() is loads[0] and len(loads) == 1)
    assert local._model() is loads[0]  # and the parent itself uses it too
    assert len(loads) == 1


def test_a_child_loads_its_own_model_rather_than_one_its_parent_loaded_lazily(loads):
    parents = local._model()

    def child_loads_its_own() -> bool:
        model = local._model()
        return model is not parents and len(loads) == 2 and local._model() is model

    assert in_forked_child(child_loads_its_own)
    assert local._model() is parents
    assert len(loads) == 1
