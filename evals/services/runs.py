"""Eval runs: one real task per case on a pinned agent version, tools answered from the case's
fixtures; each case checked as soon as its task ends; the run finished with its last case."""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from agents.models import AgentVersion, Session, Task
from agents.services.tasks import task_create
from core import clock
from core.errors import Conflict
from evals.checks.observed import observation_of
from evals.checks.run import CheckedCase, checks_run
from evals.limits import MAX_CASES_PER_SUITE
from evals.models import EvalCaseResult, EvalRun, EvalSuite
from evals.services.check_lease import (
    check_claim,
    check_lease_free,
    check_release,
    check_resend_hold,
    has_judge,
)

logger = logging.getLogger(__name__)
# A case without checks passes when its task succeeded.
DEFAULT_CHECKS: list[dict[str, Any]] = [
    {"kind": "cel", "name": "the task succeeded", "expr": 'status == "succeeded"'}
]
# The sweeper checks a case whose task ended this long ago and is still unchecked (its
# listener's message was lost, or the task was cancelled before it ran).
SWEEP_GRACE_S = 5


def eval_run_start(*, suite: EvalSuite, agent_version: AgentVersion, by: User) -> EvalRun:
    """Start a run of every case of `suite` against `agent_version` (of the suite's agent).

    The run decides a candidate version when the suite is required (evals/services/versions.py).
    Tasks are sent to the workers when the caller's transaction commits.
    """
    if agent_version.agent_id != suite.agent_id:
        raise Conflict("the version belongs to another agent than the suite", field="version")
    if agent_version.status == AgentVersion.Status.REJECTED:
        raise Conflict(f"version {agent_version.number} was rejected", field="version")
    gates = suite.required and agent_version.status == AgentVersion.Status.CANDIDATE
    cases = list(suite.cases.order_by("name")[:MAX_CASES_PER_SUITE])
    with transaction.atomic():
        run = EvalRun.objects.create(
            suite=suite,
            agent_version=agent_version,
            created_by=by,
            gates_version=gates,
            cases_total=len(cases),
        )
        results = []
        for case in cases:
            session = Session.objects.create(
                agent_id=suite.agent_id, agent_version=agent_version, owner=by, end_user=f"eval:{run.pk}"
            )
            task = task_create(
                session=session,
                owner=by,
                input=case.input,
                playback={"tool_results": case.fixtures, "live_tools": case.live_tools},
            )
            results.append(
                EvalCaseResult(
                    run=run,
                    case=case,
                    case_name=case.name,
                    task=task,
                    check_specs=case.checks or DEFAULT_CHECKS,
                )
            )
        EvalCaseResult.objects.bulk_create(results)
        if not cases:
            _run_finish(run)
    return run


def eval_task_ended(*, task: Task, status: str) -> None:
    """The runtime's task-end listener, in the worker that ended the task. A case whose checks
    need no model (expected calls, CEL: milliseconds, bounded) is checked here at once; a case
    with a judge is checked by a Celery task, so no model call holds up the worker's thread.

    A task without a playback is no case (eval_run_start gives every case's task its
    fixtures), so almost every task ends here without a query."""
    if not task.playback:
        return
    task_id = task.pk
    specs = (
        EvalCaseResult.objects.filter(task_id=task_id, status=EvalCaseResult.Status.PENDING)
        .values_list("check_specs", flat=True)
        .first()
    )
    if specs is None:
        return
    if has_judge(specs):
        from evals.tasks import case_check

        case_check.delay(str(task_id))
    else:
        eval_case_check(task_id=task_id)


def eval_case_check(*, task_id: uuid.UUID) -> str | None:
    """Run the checks of the case whose task this is, once it ended; finish the run after its
    last case. Returns the case's status, or None when there was nothing to do (not a case,
    not ended yet, checked already, or being checked by another delivery)."""
    result = (
        EvalCaseResult.objects.select_related("task")
        .filter(task_id=task_id, status=EvalCaseResult.Status.PENDING)
        .first()
    )
    if result is None or result.task is None or not result.task.is_final:
        return None
    return _case_check(result)


def eval_cases_sweep(*, limit: int = 200) -> int:
    """Cases whose task ended (or vanished) without being checked, and that no run of their
    checks holds (evals/services/check_lease.py): a case with a judge has its message re-sent,
    so no model call holds up the sweep; any other is checked here. Returns how many."""
    now = clock.now()
    pending = (
        EvalCaseResult.objects.filter(status=EvalCaseResult.Status.PENDING)
        .filter(check_lease_free(now))
        .select_related("task")
    )
    done = 0
    ended_before = now - timedelta(seconds=SWEEP_GRACE_S)
    for result in pending.filter(task__finished_at__lt=ended_before)[:limit]:
        if not has_judge(result.check_specs):
            done += _case_swept(result)
        elif check_resend_hold(result):
            from evals.tasks import case_check

            case_check.delay(str(result.task_id))
            done += 1
    for result in pending.filter(task__isnull=True)[:limit]:
        done += _case_swept(result)
    return done


def _case_swept(result: EvalCaseResult) -> bool:
    """Check one case for the sweeper; a case whose check fails is logged (and released for a
    later retry) without keeping the sweep from the cases after it."""
    try:
        return _case_check(result) is not None
    except Exception:
        logger.exception("checking eval case %s failed; it is retried later", result.pk)
        return False


def _case_check(result: EvalCaseResult) -> str | None:
    """Check the case if this run claims it; None when another run holds it or recorded it."""
    claimed_at = check_claim(result)
    if claimed_at is None:
        return None
    try:
        return _case_record(result, result.task)
    except BaseException:
        # The run failed here, its process alive: the sweeper may retry the case soon rather
        # than after the lease. Only a dead process leaves the case held until the lease passes.
        try:
            check_release(result, claimed_at)
        except Exception:
            logger.exception("releasing the check of case %s failed; its lease will pass", result.pk)
        raise


def _case_record(result: EvalCaseResult, task: Task | None) -> str | None:
    if task is None:
        checked = _unchecked("the case's task was deleted")
    elif task.status == Task.Status.CANCELLED:
        checked = _unchecked(f"the case's task was cancelled: {task.stop_detail}"[:300])
    else:
        # Outside any transaction: a judge's model call may take seconds.
        checked = checks_run(result.check_specs, observation_of(task), task=task)
    latency_ms = 0.0
    if task is not None and task.started_at and task.finished_at:
        latency_ms = (task.finished_at - task.started_at).total_seconds() * 1000
    task_cost = task.cost_usd if task is not None else Decimal(0)
    input_tokens = (task.input_tokens if task else 0) + checked.judge_input_tokens
    output_tokens = (task.output_tokens if task else 0) + checked.judge_output_tokens
    cost = task_cost + checked.judge_cost_usd
    status = checked.status
    with transaction.atomic():
        recorded = EvalCaseResult.objects.filter(pk=result.pk, status=EvalCaseResult.Status.PENDING).update(
            status=status,
            checks=checked.results,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            judge_cost_usd=checked.judge_cost_usd,
            latency_ms=latency_ms,
            finished_at=clock.now(),
        )
        if not recorded:
            # Another run recorded it first: one of the two claimed the case after the other's
            # lease had passed.
            _judge_cost_add(result, checked)
            return None
        counter = {"passed": "cases_passed", "failed": "cases_failed", "error": "cases_errored"}[status]
        # The update holds the run's row until commit: two cases ending at once count one after
        # the other, so exactly one of them reads the last count and finishes the run.
        runs = EvalRun.objects.filter(pk=result.run_id)
        runs.update(
            **{counter: F(counter) + 1},
            input_tokens=F("input_tokens") + input_tokens,
            output_tokens=F("output_tokens") + output_tokens,
            cost_usd=F("cost_usd") + cost,
        )
        run = runs.get()
        if run.cases_passed + run.cases_failed + run.cases_errored >= run.cases_total:
            _run_finish(run)
    return status


def _judge_cost_add(result: EvalCaseResult, checked: CheckedCase) -> None:
    """The judge calls of a run that did not record its outcome were made and paid for all the
    same (the spend ledger has them): their cost counts on the case and the run too."""
    if not (checked.judge_cost_usd or checked.judge_input_tokens or checked.judge_output_tokens):
        return
    usage = {
        "input_tokens": F("input_tokens") + checked.judge_input_tokens,
        "output_tokens": F("output_tokens") + checked.judge_output_tokens,
        "cost_usd": F("cost_usd") + checked.judge_cost_usd,
    }
    EvalCaseResult.objects.filter(pk=result.pk).update(
        **usage, judge_cost_usd=F("judge_cost_usd") + checked.judge_cost_usd
    )
    EvalRun.objects.filter(pk=result.run_id).update(**usage)


def _unchecked(reason: str) -> CheckedCase:
    return CheckedCase(
        results=[
            {
                "check": 0,
                "kind": "run",
                "name": "the case ran",
                "passed": False,
                "error": True,
                "detail": reason,
            }
        ]
    )


def _run_finish(run: EvalRun) -> None:
    """All cases checked: the run's status; a required suite's run decides its candidate."""
    if run.cases_failed:
        status = EvalRun.Status.FAILED
    elif run.cases_errored:
        status = EvalRun.Status.ERROR
    else:
        status = EvalRun.Status.PASSED
    finished = EvalRun.objects.filter(pk=run.pk, status=EvalRun.Status.RUNNING).update(
        status=status, finished_at=clock.now()
    )
    if finished and run.gates_version:
        from evals.services.versions import agent_decisions_lock, candidate_decide

        agent_id = AgentVersion.objects.filter(pk=run.agent_version_id).values_list("agent_id", flat=True)
        agent_decisions_lock(agent_id.get())
        candidate_decide(version_id=run.agent_version_id)
