"""Evaluating the alert rules: open a firing when a rule breaches, resolve it when it stops.

Beat runs the evaluation every minute, and two evaluations may overlap (a slow one and the
next, or two beat processes by mistake); the partial unique index `alert_one_firing` lets only
one of them open a firing, and each transition notifies once, after its commit.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from core.audit_log import audit_record
from core.transactions import after_commit
from tracing.alerts.rules import MEASURES, Observation
from tracing.models import Alert, AlertRule

logger = logging.getLogger(__name__)

FIRED = "fired"
RESOLVED = "resolved"


def alerts_evaluate(*, now: datetime) -> dict[str, int]:
    counts = {FIRED: 0, RESOLVED: 0}
    for rule in AlertRule.objects.filter(enabled=True).order_by("kind"):
        observations = MEASURES[AlertRule.Kind(rule.kind)](rule, now)
        for transition in alert_rule_apply(rule=rule, observations=observations, now=now):
            counts[transition] += 1
    return counts


def alert_rule_apply(*, rule: AlertRule, observations: dict[str, Observation], now: datetime) -> list[str]:
    firing = {alert.subject: alert for alert in Alert.objects.filter(rule=rule, state=Alert.State.FIRING)}
    transitions = []
    for subject, observation in observations.items():
        if not observation.breached:
            continue
        if subject in firing:
            Alert.objects.filter(pk=firing[subject].pk, state=Alert.State.FIRING).update(
                value=observation.value, detail=observation.detail
            )
        elif _fire(rule, subject, observation, now):
            transitions.append(FIRED)
    for subject, alert in firing.items():
        still = observations.get(subject)
        if (still is None or not still.breached) and _resolve(alert, now):
            transitions.append(RESOLVED)
    return transitions


def _fire(rule: AlertRule, subject: str, observation: Observation, now: datetime) -> bool:
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule, subject=subject, value=observation.value, detail=observation.detail, fired_at=now
            )
    except IntegrityError:
        return False  # a concurrent evaluation opened this firing first
    logger.warning("alert %s fired for %r: %s", rule.kind, subject, observation.detail)
    _notify_later(alert.pk, FIRED)
    return True


def _resolve(alert: Alert, now: datetime) -> bool:
    # Conditional: of two evaluations resolving at once, one resolves and notifies.
    resolved = Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING).update(
        state=Alert.State.RESOLVED, resolved_at=now
    )
    if resolved:
        logger.info("alert %s resolved for %r", alert.rule_id, alert.subject)
        _notify_later(alert.pk, RESOLVED)
    return bool(resolved)


# Other apps hear of every transition after commit (notifications: the webhook, e-mail, PagerDuty).
AlertListener = Callable[..., None]
_listeners: list[AlertListener] = []


def alert_listener_register(listener: AlertListener) -> None:
    """Call `listener(alert_id=, transition=)` after the commit of every transition; from ready()."""
    if listener not in _listeners:
        _listeners.append(listener)


def _notify_later(alert_id: int, transition: str) -> None:
    for listener in _listeners:
        after_commit(listener, alert_id=alert_id, transition=transition)


ALERT_RULE_EDITABLE = ("threshold", "window_s", "min_samples", "enabled")
# The bounds an admin's edit keeps to, in the console's form and the API alike.
WINDOW_S_MIN, WINDOW_S_MAX = 60, 30 * 86400
MIN_SAMPLES_MAX = 1_000_000


@transaction.atomic
def alert_rule_update(*, actor: AbstractBaseUser, rule: AlertRule, **changes: Any) -> AlertRule:
    """An admin's edit of any of ALERT_RULE_EDITABLE, audited; the next evaluation uses it."""
    locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
    before = {field: getattr(locked, field) for field in ALERT_RULE_EDITABLE}
    for field in ALERT_RULE_EDITABLE:
        if field in changes:
            setattr(locked, field, changes[field])
    locked.save(update_fields=[*ALERT_RULE_EDITABLE, "updated_at"])
    locked.refresh_from_db()  # the threshold as stored (four places), for the audit and the caller
    audit_record(
        actor=actor,
        action="alert_rule.updated",
        object_type="alert_rule",
        object_id=locked.kind,
        before=before,
        after={field: getattr(locked, field) for field in ALERT_RULE_EDITABLE},
    )
    return locked
