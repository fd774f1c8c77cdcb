"""Who runs a case's checks: one run at a time, so a slow judge is never called twice at once.

A run claims the case with a conditional UPDATE before it checks anything: `check_claimed_at`,
and a lease `check_lease_until` long enough for every judge call of the case (each bounded by
the reservation's wait and MODEL_TIMEOUT_S) plus a margin. Another delivery of its message and
the sweeper leave the case alone while that lease is live. The sweeper re-sends a case's message
only once no lease is live, and then leaves the case alone for as long again, unclaimed, so the
message's run claims it at once when it comes.

A lease can still pass while its run waits on a judge (a reply trickling in slower than the
timeout): a second run may then claim the case. Recording is conditional on the case being
pending, so exactly one of them records its outcome; the other adds only the cost of the judge
calls it made (evals/services/runs.py), which the spend ledger has too.

A run that fails with an exception (its process lives on) releases its claim on the way out, so
the sweeper's next pass takes the case up at once; only a run whose process died holds the case
until its lease passes.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from core import clock
from evals.models import EvalCaseResult

# Beyond the judges' own bounds: the CEL budget, the queries, a reply read slower than the timeout.
CHECK_LEASE_MARGIN_S = 60.0
# A run that failed with an exception gives its case back for a retry this much later: soon,
# rather than after its whole lease, yet not on every sweep (10 s), which for a check that
# always fails would mean its judges paid for again every pass.
CHECK_RETRY_AFTER_S = 30.0


def has_judge(specs: list[dict[str, Any]]) -> bool:
    return any(spec.get("kind") == "judge" for spec in specs)


def check_lease(specs: list[dict[str, Any]]) -> timedelta:
    """How long one run of these checks may take: each judge call waits at most
    GUARD_RESERVE_WAIT_S for its reservation and MODEL_TIMEOUT_S for its reply, one after another."""
    judges = sum(spec.get("kind") == "judge" for spec in specs)
    per_judge = settings.GUARD_RESERVE_WAIT_S + settings.MODEL_TIMEOUT_S
    return timedelta(seconds=judges * per_judge + CHECK_LEASE_MARGIN_S)


def check_lease_free(now: datetime) -> Q:
    """Cases no run holds and no re-sent message is awaited for."""
    return Q(check_lease_until__isnull=True) | Q(check_lease_until__lt=now)


def check_claim(result: EvalCaseResult) -> datetime | None:
    """Take the case for this run of its checks: the claim's time for exactly one of the runs
    racing for it while it is pending, unless a claim's lease passed (a re-sent message is no
    claim); None for the others."""
    now = clock.now()
    claimable = Q(check_claimed_at__isnull=True) | Q(check_lease_until__lt=now)
    claimed = EvalCaseResult.objects.filter(
        claimable, pk=result.pk, status=EvalCaseResult.Status.PENDING
    ).update(check_claimed_at=now, check_lease_until=now + check_lease(result.check_specs))
    return now if claimed else None


def check_release(result: EvalCaseResult, claimed_at: datetime) -> bool:
    """Give up this run's claim (made at `claimed_at`) of a case still pending: the sweeper
    takes the case up again after CHECK_RETRY_AFTER_S. False when another run took the case
    over meanwhile (this run's lease passed), whose claim stays."""
    retry_at = clock.now() + timedelta(seconds=CHECK_RETRY_AFTER_S)
    released = EvalCaseResult.objects.filter(
        pk=result.pk, status=EvalCaseResult.Status.PENDING, check_claimed_at=claimed_at
    ).update(check_claimed_at=None, check_lease_until=retry_at)
    return bool(released)


def check_resend_hold(result: EvalCaseResult) -> bool:
    """The sweeper is about to re-send the case's message: hold the case for it (no other
    re-send meanwhile). False when a run claimed it, or a re-send holds it, since it was read."""
    now = clock.now()
    held = EvalCaseResult.objects.filter(
        check_lease_free(now), pk=result.pk, status=EvalCaseResult.Status.PENDING
    ).update(check_claimed_at=None, check_lease_until=now + check_lease(result.check_specs))
    return bool(held)
