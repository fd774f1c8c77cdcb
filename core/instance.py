"""The instance name, and the Redis names it prefixes, that keep deployments apart.

Two stacks may share one Redis server. Redis pub/sub ignores the database number, so the
Channels layers of two stacks would deliver each other's pushes; on a shared database number
their Celery queues and guard counters would collide too. Every Redis name a process uses
therefore starts with its instance name.
"""

import re

from django.core.exceptions import ImproperlyConfigured

MAX_LENGTH = 40
DEFAULT = "tollgate"
# No "." or ":": those separate the instance from the rest of a channel name or key, so no
# instance's names can be another instance's.
_VALID = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_LENGTH - 1}}}")
_INVALID_RUN = re.compile(r"[^a-z0-9_-]+")


def instance_name(*, configured: str, database_name: str) -> str:
    """`configured` (TOLLGATE_INSTANCE) if set, else the database's name made safe: two stacks
    on one Redis server with different databases are kept apart without any setting."""
    if configured:
        if not _VALID.fullmatch(configured):
            raise ImproperlyConfigured(
                f"TOLLGATE_INSTANCE must be 1-{MAX_LENGTH} characters of a-z, 0-9, _ and -, "
                f"starting with a letter or digit, got {configured!r}"
            )
        return configured
    derived = _INVALID_RUN.sub("-", database_name.lower()).strip("_-")[:MAX_LENGTH].rstrip("_-")
    return derived or DEFAULT


def channel_prefix(instance: str) -> str:
    """channels_redis's `prefix`: the pub/sub layer starts every group and channel name with it."""
    return f"{instance}."


def redis_key_prefix(instance: str) -> str:
    """The start of every Redis key of the instance (kombu's `global_keyprefix`, guard counters)."""
    return f"{instance}:"
