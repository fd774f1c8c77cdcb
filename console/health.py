"""Readiness: whether this process can serve, by asking PostgreSQL, Redis and the Celery broker.

Anyone may ask (a load balancer, an orchestrator), so the answer is only "ok" or "error" per
check: the reason goes to this process's log, never to the caller.

Each check runs on a thread of its own and the caller waits for it at most CHECK_TIMEOUT_S, so a
dependency that accepts a connection and never answers cannot hold the request. A check still
running (stalled) is not started again: later callers share it until it ends, and once its time
is up they are answered "error" at once. So however often the endpoint is called, a process runs
at most one of each check at a time, and a stalled dependency holds one thread per check, not
one per request, for as long as the check's own client waits: the socket timeouts for Redis; for
PostgreSQL, the pool's DB_POOL_TIMEOUT_S for a connection, or the system's TCP timeouts when a
server stops answering in the middle of the query.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from agents.guards.store import guard_redis
from console.celery import app as celery_app
from core.per_process import PerProcess

logger = logging.getLogger(__name__)

HEALTH_PATH = "/api/v1/health/"
# What a caller waits for each check; the checks run at once, so a request waits about this long
# at most, whatever fails.
CHECK_TIMEOUT_S = 1.0

Check = Callable[[], None]


def database_check(database: BaseDatabaseWrapper | None = None) -> None:
    """`SELECT 1` on a connection of Django's pool (this thread's, handed back afterwards), or
    on `database` (tests point one elsewhere)."""
    if database is None:
        database = connections[DEFAULT_DB_ALIAS]
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        database.close()  # with the pool: back to it


def redis_check() -> None:
    """PING on the guardrails' client (GUARD_REDIS_URL, REDIS_URL unless set apart)."""
    guard_redis().ping()


# The broker's own client: Celery's connections wait for the broker without a timeout, which a
# check must not. One per process, whose connection is kept from one check to the next.
_broker_client = PerProcess(
    lambda: redis.Redis.from_url(
        celery_app.conf.broker_url,
        socket_timeout=CHECK_TIMEOUT_S,
        socket_connect_timeout=CHECK_TIMEOUT_S,
        retry_on_timeout=False,
    )
)


def broker_check() -> None:
    """PING on the Celery broker (a Redis URL, settings.CELERY_BROKER_URL)."""
    _broker_client().ping()


# By the name the answer gives each; tests put a failing check under a name.
CHECKS: dict[str, Check] = {"database": database_check, "redis": redis_check, "broker": broker_check}


@dataclass
class _Run:
    deadline: float
    ended: threading.Event = field(default_factory=threading.Event)
    ok: bool = False

    def wait(self) -> bool:
        """Whether the check passed by its deadline."""
        return self.ended.wait(max(0.0, self.deadline - time.monotonic())) and self.ok


class _Runs:
    """This process's checks in flight: at most one run of each check at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Check, _Run] = {}

    def start(self, name: str, check: Check, timeout_s: float) -> _Run:
        with self._lock:
            run = self._running.get(check)
            if run is None:
                run = self._running[check] = _Run(deadline=time.monotonic() + timeout_s)
                thread = threading.Thread(
                    target=self._run, args=(name, check, run), name=f"health-{name}", daemon=True
                )
                thread.start()
        return run

    def _run(self, name: str, check: Check, run: _Run) -> None:
        try:
            check()
            run.ok = True
        except Exception as exc:  # whatever the client raised: the caller only learns "error"
            logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        finally:
            with self._lock:
                del self._running[check]
            run.ended.set()


# Per process: a forked child must not wait for runs whose threads stayed in its parent.
_runs = PerProcess(_Runs)


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # name → "ok" or "error"

    @property
    def ok(self) -> bool:
        return all(state == "ok" for state in self.checks.values())

    @property
    def status(self) -> str:
        return "ok" if self.ok else "error"


def readiness() -> Readiness:
    """Run every check at once and wait for each at most CHECK_TIMEOUT_S."""
    runs = {name: _runs().start(name, check, CHECK_TIMEOUT_S) for name, check in CHECKS.items()}
    return Readiness({name: "ok" if run.wait() else "error" for name, run in runs.items()})


class QuietHealthyProbes(logging.Filter):
    """Drops uvicorn's access line of a health request answered 200: an orchestrator asks every
    few seconds, and the lines would bury the rest. A failed probe (503) is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access line: (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            return not (str(args[2]).startswith(HEALTH_PATH) and args[4] == 200)
        return True
