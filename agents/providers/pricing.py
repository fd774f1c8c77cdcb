"""What a model call cost, in USD, from the admin-edited price table (ModelPrice)."""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase

from agents.models import ModelPrice
from agents.providers.base import Usage

logger = logging.getLogger(__name__)

# Every step prices its model call; reading the table once per few seconds keeps that off
# the database, and an admin's edit still reaches every worker within this delay.
PRICE_CACHE_TTL_S = 5.0
_clock = time.monotonic  # replaced by tests to age the cache without sleeping
_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    model: str  # exact name or glob
    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal
    valid_from: datetime

    @property
    def is_glob(self) -> bool:
        return any(char in self.model for char in "*?[")


@dataclass
class _Table:
    read_at: float  # _clock()
    rows: list[Price]
    candidates: dict[str, list[Price]] = field(default_factory=dict)  # per model, best first


_lock = threading.Lock()
_table: _Table | None = None
_warned: set[str] = set()


def model_cost(*, model: str, usage: Usage, at: datetime) -> Decimal:
    """The cost of one call to `model` (the routed name, e.g. "openai/gpt-4o") made at `at`.

    Cached reads and cache writes are parts of input_tokens, each billed at its own rate,
    so the uncached remainder is what is left after both are taken out.
    """
    price = model_price_at(model=model, at=at)
    if price is None:
        # Only when its price row was deleted after the guards reserved for the call: agents
        # cannot be configured with, and tasks do not run on, a model without a price.
        if model not in _warned:
            _warned.add(model)
            logger.error("no price for model %r at %s; a call made meanwhile is counted as free", model, at)
        return Decimal(0)
    cached = max(usage.cached_input_tokens, 0)
    written = max(usage.cache_write_tokens, 0)
    uncached = max(usage.input_tokens - cached - written, 0)
    micro_usd = (
        uncached * price.input
        + cached * price.cached_input
        + written * price.cache_write
        + max(usage.output_tokens, 0) * price.output
    )
    return micro_usd / _PER_MILLION


def model_price_at(*, model: str, at: datetime) -> Price | None:
    """The price row for `model` at `at`: an exact name beats a glob, a longer glob a shorter
    one, and of the rows for the same name the latest that is already valid wins."""
    for price in _candidates(model):
        if price.valid_from <= at:
            return price
    return None


def _candidates(model: str) -> list[Price]:
    """The rows that name `model`, best first (exact, then longer globs, then the latest);
    worked out once per model for each read of the table (every step prices two calls)."""
    table = _price_table()
    found = table.candidates.get(model)
    if found is None:
        ranked = []
        for price in table.rows:
            if price.model == model:
                ranked.append(((True, len(price.model), price.valid_from), price))
            elif price.is_glob and fnmatchcase(model, price.model):
                ranked.append(((False, len(price.model), price.valid_from), price))
        ranked.sort(key=lambda r: r[0], reverse=True)
        found = table.candidates[model] = [price for _, price in ranked]
    return found


def unpriced_reason(model: str) -> str:
    """What an operator is told about a model without a price, wherever it is refused."""
    return (
        f"model {model!r} has no price, so its cost could not be metered; an admin adds one "
        "(or marks the model free) at /admin/agents/modelprice/"
    )


def price_table_reset() -> None:
    """Forget the cached table, so the next lookup reads ModelPrice again."""
    global _table
    with _lock:
        _table = None
        _warned.clear()


def _price_table() -> _Table:
    global _table
    table = _table
    if table is not None and _clock() - table.read_at < PRICE_CACHE_TTL_S:
        return table
    # Read without holding the lock: a worker thread may hold a pooled connection while it asks
    # for a price, so waiting here for a thread that waits for a connection would deadlock once
    # the pool is empty. Two threads that miss together both read the table; either is right.
    rows = [
        Price(
            model=row.model,
            input=row.input_usd_per_mtok,
            cached_input=row.cached_input_usd_per_mtok,
            cache_write=row.cache_write_usd_per_mtok,
            output=row.output_usd_per_mtok,
            valid_from=row.valid_from,
        )
        for row in ModelPrice.objects.all()
    ]
    fresh = _Table(read_at=_clock(), rows=rows)
    with _lock:
        _table = fresh
    return fresh
