"""Every way a user loses access, wherever it is done (console, admin, shell, a future API).

Thin receivers: each names the users whose sockets must re-check (console.revocation).
QuerySet.update() and SQL send no signal; the sockets' re-check after SOCKET_ACCESS_MAX_AGE_S
covers those.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.http import HttpRequest

from console.revocation import user_sockets_recheck


def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        user_sockets_recheck(user_ids=[user.pk], ended_session=request.session.session_key)


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    # is_active, is_staff, is_superuser or the password (sessions' auth hash) may have changed;
    # a new user has no socket, and a login's last_login stamp changes nothing one may hear.
    if not created and (update_fields is None or set(update_fields) != {"last_login"}):
        user_sockets_recheck(user_ids=[instance.pk])


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    user_sockets_recheck(user_ids=[instance.pk])


def _memberships_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[Any] | None, **kwargs: Any
) -> None:
    # Forward: user.groups.add/remove/set/clear. Reverse: group.user_set.add/remove/clear.
    if action in ("post_add", "post_remove"):
        user_sockets_recheck(user_ids=list(pk_set or ()) if reverse else [instance.pk])
    elif action == "pre_clear":
        # The members are gone by post_clear, whose pk_set is None.
        members = list(instance.user_set.values_list("pk", flat=True)) if reverse else [instance.pk]
        user_sockets_recheck(user_ids=members)


def _group_changed(sender: Any, instance: Group, **kwargs: Any) -> None:
    # A renamed or deleted group: its members' reviewer groups changed.
    if not kwargs.get("created"):
        user_sockets_recheck(user_ids=list(instance.user_set.values_list("pk", flat=True)))


def revocation_receivers_connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="revocation.logged_out")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="revocation.user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="revocation.user_deleted")
    m2m_changed.connect(
        _memberships_changed, sender=user_model.groups.through, dispatch_uid="revocation.memberships"
    )
    post_save.connect(_group_changed, sender=Group, dispatch_uid="revocation.group_saved")
    pre_delete.connect(_group_changed, sender=Group, dispatch_uid="revocation.group_deleted")
