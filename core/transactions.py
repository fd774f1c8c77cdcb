"""Side effects that must wait for the current transaction to commit."""

from collections.abc import Callable
from typing import Any

from django.db import transaction


def after_commit(func: Callable[..., None], /, **kwargs: Any) -> None:
    """Call `func(**kwargs)` once the current transaction commits; a failure is only logged.

    The arguments are bound now. The callable carries `func`'s name because Django's robust
    on_commit names it in the log line (a functools.partial has no name and would raise there).
    """

    def call() -> None:
        func(**kwargs)

    call.__qualname__ = func.__qualname__
    transaction.on_commit(call, robust=True)
