"""The audit log as every app sees it: one function to record an admin's change.

The log itself (an HMAC chain) belongs to approvals, which registers its writer in
`AppConfig.ready()`; apps that must not import approvals (the runtime in agents/, tracing)
record through here. Call it inside the transaction that made the change.
"""

from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class AuditWriter(Protocol):
    def __call__(
        self,
        *,
        actor: AbstractBaseUser | AnonymousUser | None,
        action: str,
        object_type: str,
        object_id: str,
        before: Any = None,
        after: Any = None,
    ) -> Any: ...


_writer: AuditWriter | None = None


def audit_writer_register(writer: AuditWriter) -> None:
    global _writer
    _writer = writer


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry; without a registered writer (approvals not installed) nothing is kept."""
    if _writer is not None:
        _writer(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )
