"""Rollouts: the sticky split of new sessions, the comparison of the arms, promotion and roll back
(by a person or by the judge), and the race between them."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from agents.models import Agent, AgentVersion, Rollout, Session, Task
from agents.rollouts.assignment import rollout_arm, session_version_assign
from agents.rollouts.comparison import rollout_compare
from agents.rollouts.judge import rollback_reason, rollouts_judge
from agents.rollouts.services import rollout_promote, rollout_roll_back, rollout_start
from agents.runtime.loop import task_steps_run
from agents.services.catalog import agent_rollback, agent_update
from agents.services.tasks import task_submit
from agents.tasks import judge_rollouts
from approvals.models import ActionRequest, AuditEntry
from core import clock
from core.errors import Conflict, Invalid, NotFound
from tests.factories import make_agent
from tests.support.races import race


def two_versions(name: str = "bot", *, canary_model: str = "sim/echo") -> tuple[Agent, AgentVersion]:
    """An agent whose current version is 1, and its version 2 (not current)."""
    agent = make_agent(name, model="sim/echo")
    canary = AgentVersion.objects.create(agent=agent, number=2, model=canary_model, system_prompt="New.")
    return agent, canary


def task_in(
    rollout: Rollout,
    arm: str,
    owner,
    *,
    status: str = Task.Status.SUCCEEDED,
    cost: str = "0",
    seconds: float = 1.0,
    session: Session | None = None,
) -> Task:
    """A task of `arm` with a known outcome, cost and latency, without running anything."""
    if session is None:
        version = rollout.canary if arm == Rollout.Arm.CANARY else rollout.baseline
        session = Session.objects.create(
            agent=rollout.agent, agent_version=version, owner=owner, rollout=rollout, rollout_arm=arm
        )
    task = Task.objects.create(
        session=session, owner=owner, input="go", status=status, cost_usd=Decimal(cost)
    )
    created = clock.now() - timedelta(hours=1)
    finished = created + timedelta(seconds=seconds) if status in Task.FINAL_STATUSES else None
    Task.objects.filter(pk=task.pk).update(created_at=created, finished_at=finished)
    return task


def approval(task: Task, index: int, status: str, *, decided_by=None) -> ActionRequest:
    return ActionRequest.objects.create(
        task=task,
        step_index=0,
        call_index=index,
        call_id=f"call_{index}",
        tool_name="refund",
        agent_name=task.session.agent.name,
        arguments={},
        original_arguments={},
        tier="high",
        policy_version=0,
        request_hash="0" * 64,
        reviewer_group="reviewers",
        status=status,
        decided_by=decided_by,
        created_at=clock.now(),
    )


def ended_entries(rollout: Rollout) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="rollout",
            object_id=str(rollout.pk),
            action__in=["rollout.promoted", "rollout.rolled_back"],
        )
    )


# The split


def test_the_arm_of_a_session_id_is_always_the_same_and_the_split_is_near_the_percent():
    ids = [uuid.UUID(int=n * 7919 + 1) for n in range(4000)]
    arms = [rollout_arm(rollout_id=7, session_id=session_id, percent=30) for session_id in ids]

    assert arms == [rollout_arm(rollout_id=7, session_id=session_id, percent=30) for session_id in ids]
    canary_share = arms.count(Rollout.Arm.CANARY) / len(arms)
    assert 0.27 < canary_share < 0.33
    # Another rollout draws other sessions for its canary.
    other = [rollout_arm(rollout_id=8, session_id=session_id, percent=30) for session_id in ids]
    assert other != arms


@pytest.mark.django_db
def test_new_sessions_split_by_percent_and_each_task_stays_on_its_sessions_arm(admin, requester):
    agent, canary = two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=40)

    sessions = [task_submit(owner=requester, agent_name="bot", input="hi")[0].session for _ in range(200)]

    canaries = [session for session in sessions if session.rollout_arm == Rollout.Arm.CANARY]
    assert 50 < len(canaries) < 110  # 40% of 200 is 80: about 4.3 standard deviations either side
    for session in sessions:
        assert session.rollout_id == rollout.pk
        expected = canary if session.rollout_arm == Rollout.Arm.CANARY else agent.current_version
        assert session.agent_version_id == expected.pk
        assert session.rollout_arm == rollout_arm(rollout_id=rollout.pk, session_id=session.id, percent=40)
    # Later tasks of a session stay on its arm, whatever the split would draw for a new one.
    for session in (canaries[0], sessions[0]):
        for _ in range(3):
            later, _ = task_submit(owner=requester, agent_name="bot", input="again", session_id=session.id)
            later.session.refresh_from_db()
            assert (later.session_id, later.session.agent_version_id) == (
                session.id,
                session.agent_version_id,
            )


@pytest.mark.django_db
def test_without_an_active_rollout_a_new_session_runs_the_current_version(requester):
    agent, _ = two_versions()

    assignment = session_version_assign(agent=agent, session_id=uuid.uuid4())

    assert (assignment.version.pk, assignment.rollout, assignment.arm) == (agent.current_version_id, None, "")


# Starting


@pytest.mark.django_db
def test_a_rollout_starts_with_the_current_version_as_baseline_and_is_audited(admin):
    agent, canary = two_versions()

    rollout = rollout_start(
        actor=admin, agent_name="bot", canary_version=2, percent=10, cost_multiple=Decimal("1.25")
    )

    assert (rollout.baseline_id, rollout.canary_id, rollout.status) == (
        agent.current_version_id,
        canary.pk,
        "active",
    )
    assert (rollout.failure_rate_multiple, rollout.cost_multiple, rollout.min_tasks) == (
        Decimal("2.00"),
        Decimal("1.25"),
        20,
    )
    [entry] = AuditEntry.objects.filter(action="rollout.started")
    assert entry.actor_name == "admin"
    assert entry.after | {} == {
        "agent": "bot",
        "status": "active",
        "baseline": 1,
        "canary": 2,
        "percent": 10,
        "failure_rate_multiple": "2.00",
        "cost_multiple": "1.25",
        "min_tasks": 20,
    }


@pytest.mark.django_db
def test_a_rollout_is_refused_for_the_current_version_a_missing_one_a_bad_percent_or_a_second_one(admin):
    two_versions()

    with pytest.raises(Conflict, match="current version"):
        rollout_start(actor=admin, agent_name="bot", canary_version=1, percent=10)
    with pytest.raises(NotFound):
        rollout_start(actor=admin, agent_name="bot", canary_version=3, percent=10)
    with pytest.raises(NotFound):
        rollout_start(actor=admin, agent_name="nobody", canary_version=2, percent=10)
    for percent in (0, 100):
        with pytest.raises(Invalid, match="percent"):
            rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=percent)
    with pytest.raises(Invalid, match="failure_rate_multiple"):
        rollout_start(
            actor=admin, agent_name="bot", canary_version=2, percent=5, failure_rate_multiple=Decimal("0.5")
        )
    first = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=10)
    with pytest.raises(Conflict) as refused:
        rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=20)
    assert refused.value.details == {"rollout": first.pk}
    assert Rollout.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [AgentVersion.Status.CANDIDATE, AgentVersion.Status.REJECTED])
def test_a_version_that_has_not_passed_its_required_checks_is_no_canary(admin, status):
    _, canary = two_versions()
    AgentVersion.objects.filter(pk=canary.pk).update(status=status)

    with pytest.raises(Conflict, match=f"version 2 is {status}"):
        rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=10)
    assert not Rollout.objects.exists()


def test_the_agent_is_not_edited_nor_rolled_back_while_a_rollout_is_active(admin):
    agent, _ = two_versions()
    AgentVersion.objects.create(agent=agent, number=3, model="sim/echo")
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=10)

    with pytest.raises(Conflict, match="active rollout"):
        agent_update(actor=admin, name="bot", system_prompt="Other.")
    with pytest.raises(Conflict, match="active rollout"):
        agent_rollback(actor=admin, name="bot", number=3)
    agent.refresh_from_db()
    assert agent.current_version_id == rollout.baseline_id

    rollout_roll_back(rollout=rollout, actor=admin)
    assert agent_update(actor=admin, name="bot", system_prompt="Other.").number == 4


# The comparison


@pytest.mark.django_db
def test_the_comparison_counts_rates_cost_approvals_and_latency_per_arm(admin, requester, reviewer):
    two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50)
    base, canary = Rollout.Arm.BASELINE, Rollout.Arm.CANARY
    first = task_in(rollout, base, requester, cost="0.010000000001", seconds=1)
    task_in(rollout, base, requester, cost="0.01", seconds=2, session=first.session)
    asked = task_in(rollout, base, requester, cost="0.01", seconds=3)
    task_in(rollout, base, requester, status=Task.Status.FAILED, cost="0.02", seconds=4)
    task_in(rollout, base, requester, status=Task.Status.RUNNING, cost="0.5")
    task_in(rollout, base, requester, status=Task.Status.CANCELLED, cost="0.5", seconds=100)
    halted = task_in(rollout, canary, requester, status=Task.Status.HALTED, cost="0.03", seconds=10)
    task_in(rollout, canary, requester, cost="0.01", seconds=2)
    approval(asked, 0, ActionRequest.Status.REJECTED, decided_by=reviewer)
    approval(asked, 1, ActionRequest.Status.EXECUTED, decided_by=reviewer)
    approval(halted, 0, ActionRequest.Status.EXPIRED)
    approval(halted, 1, ActionRequest.Status.CANCELLED, decided_by=reviewer)
    approval(halted, 2, ActionRequest.Status.CANCELLED)  # its task ended: nobody turned it down
    # Tasks of sessions outside the rollout count nowhere.
    outside = Session.objects.create(agent=rollout.agent, agent_version=rollout.baseline, owner=requester)
    Task.objects.create(session=outside, owner=requester, input="x", status=Task.Status.FAILED)

    comparison = rollout_compare(rollout)

    baseline = comparison.baseline
    assert (baseline.arm, baseline.version, baseline.sessions, baseline.tasks) == ("baseline", 1, 5, 6)
    assert (baseline.finished, baseline.succeeded, baseline.failed) == (4, 3, 1)
    assert (baseline.success_rate, baseline.failure_rate) == (0.75, 0.25)
    assert baseline.cost_usd == Decimal("0.050000000001")
    assert baseline.cost_per_task == Decimal("0.01250000000025")
    assert (baseline.approvals_asked, baseline.rejections) == (2, 1)
    # percentile_cont over 1, 2, 3 and 4 seconds
    assert baseline.latency_p50_ms == pytest.approx(2500)
    assert baseline.latency_p95_ms == pytest.approx(3850)
    canary_numbers = comparison.canary
    assert (canary_numbers.version, canary_numbers.sessions, canary_numbers.tasks) == (2, 2, 2)
    assert (canary_numbers.finished, canary_numbers.succeeded, canary_numbers.failed) == (2, 1, 1)
    assert canary_numbers.failure_rate == 0.5
    assert canary_numbers.cost_per_task == Decimal("0.02")
    assert (canary_numbers.approvals_asked, canary_numbers.rejections) == (3, 2)
    assert canary_numbers.latency_p50_ms == pytest.approx(6000)
    assert canary_numbers.latency_p95_ms == pytest.approx(9600)


@pytest.mark.django_db
def test_an_arm_without_tasks_has_zeros_and_no_rates(admin):
    two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50)

    canary = rollout_compare(rollout).canary

    assert (canary.tasks, canary.finished, canary.cost_usd, canary.approvals_asked) == (0, 0, Decimal(0), 0)
    assert (canary.success_rate, canary.cost_per_task, canary.latency_p50_ms) == (None, None, None)


# The judge's rule


@pytest.mark.django_db
def test_the_judge_waits_for_the_minimum_then_rolls_back_past_a_multiple_not_at_it(admin, requester):
    two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50, min_tasks=4)
    base, canary = Rollout.Arm.BASELINE, Rollout.Arm.CANARY
    for status in ("succeeded", "succeeded", "succeeded", "failed"):  # 25% failures, 0.01 a task
        task_in(rollout, base, requester, status=status, cost="0.01")
    for status in ("succeeded", "failed", "succeeded"):  # 33% failures: within 2x, but only 3 tasks
        task_in(rollout, canary, requester, status=status, cost="0.015")
    assert rollback_reason(rollout, rollout_compare(rollout)) is None

    task_in(rollout, canary, requester, status="failed", cost="0.015")  # 2/4 = 50%: exactly 2x
    assert rollback_reason(rollout, rollout_compare(rollout)) is None  # cost 0.015 is exactly 1.5x too

    task_in(rollout, canary, requester, status="failed", cost="0.015")  # 3/5 = 60% > 50%
    reason = rollback_reason(rollout, rollout_compare(rollout))
    assert reason == "the canary's failure rate 3/5 is more than 2.00 times the baseline's 1/4"


@pytest.mark.django_db
def test_the_judge_rolls_back_a_canary_that_costs_more_than_its_multiple(admin, requester):
    two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50, min_tasks=2)
    task_in(rollout, Rollout.Arm.BASELINE, requester, cost="0.010")
    task_in(rollout, Rollout.Arm.CANARY, requester, cost="0.015")
    task_in(rollout, Rollout.Arm.CANARY, requester, cost="0.016")

    reason = rollback_reason(rollout, rollout_compare(rollout))

    assert reason == (
        "the canary's cost per task 0.015500 USD is more than 1.50 times the baseline's 0.010000 USD"
    )


# Ending


@pytest.mark.django_db
def test_promotion_makes_the_canary_current_and_is_audited(admin, requester):
    agent, canary = two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=10)

    promoted = rollout_promote(rollout=rollout, actor=admin, reason="looks good")

    agent.refresh_from_db()
    assert agent.current_version_id == canary.pk
    assert (promoted.status, promoted.ended_by, promoted.ended_reason) == ("promoted", admin, "looks good")
    assert promoted.ended_at is not None
    [entry] = ended_entries(rollout)
    assert (entry.action, entry.actor_name) == ("rollout.promoted", "admin")
    assert entry.before == {"status": "active"}
    assert (entry.after["status"], entry.after["canary"], entry.after["reason"]) == (
        "promoted",
        2,
        "looks good",
    )
    # Every new session runs the canary now, outside any rollout.
    for _ in range(10):
        session = task_submit(owner=requester, agent_name="bot", input="hi")[0].session
        assert (session.agent_version_id, session.rollout_id, session.rollout_arm) == (canary.pk, None, "")
    with pytest.raises(Conflict, match="already ended"):
        rollout_roll_back(rollout=rollout, actor=admin)


@pytest.mark.django_db
def test_after_a_roll_back_new_sessions_run_the_baseline_and_canary_sessions_keep_theirs(admin, requester):
    agent, canary = two_versions()
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=99)
    started = [task_submit(owner=requester, agent_name="bot", input="hi")[0].session for _ in range(10)]
    canary_session = next(session for session in started if session.rollout_arm == Rollout.Arm.CANARY)

    rollout_roll_back(rollout=rollout, actor=admin, reason="too slow")

    agent.refresh_from_db()
    assert agent.current_version_id == rollout.baseline_id
    [entry] = ended_entries(rollout)
    assert (entry.action, entry.actor_name, entry.after["reason"]) == (
        "rollout.rolled_back",
        "admin",
        "too slow",
    )
    for _ in range(20):
        session = task_submit(owner=requester, agent_name="bot", input="hi")[0].session
        assert (session.agent_version_id, session.rollout_id) == (rollout.baseline_id, None)
    later, _ = task_submit(owner=requester, agent_name="bot", input="more", session_id=canary_session.id)
    assert later.session.agent_version_id == canary.pk


@pytest.mark.django_db(transaction=True)
def test_promote_roll_back_and_the_judge_at_once_end_a_rollout_exactly_once(admin, requester):
    agent, _ = two_versions()
    for _ in range(4):
        agent.refresh_from_db()
        canary_number = 2 if agent.current_version.number == 1 else 1
        rollout = rollout_start(
            actor=admin, agent_name="bot", canary_version=canary_number, percent=50, min_tasks=1
        )
        task_in(rollout, Rollout.Arm.BASELINE, requester)
        task_in(rollout, Rollout.Arm.CANARY, requester, status="failed")  # the judge rolls it back

        def end(action, pk: int = rollout.pk) -> Rollout:
            # Each thread its own instance, as each request has.
            return action(rollout=Rollout.objects.get(pk=pk), actor=admin)

        promoted, rolled_back, judged = race(
            lambda: end(rollout_promote), lambda: end(rollout_roll_back), rollouts_judge
        )

        won = [
            isinstance(promoted, Rollout),
            isinstance(rolled_back, Rollout),
            judged == [rollout.pk],
        ]
        assert won.count(True) == 1, (promoted, rolled_back, judged)
        for result, wins in zip((promoted, rolled_back), won[:2], strict=True):
            assert wins or isinstance(result, Conflict)
        rollout.refresh_from_db()
        agent.refresh_from_db()
        [entry] = ended_entries(rollout)
        if won[0]:
            assert (rollout.status, entry.action) == ("promoted", "rollout.promoted")
            assert agent.current_version_id == rollout.canary_id
        else:
            assert (rollout.status, entry.action) == ("rolled_back", "rollout.rolled_back")
            assert agent.current_version_id == rollout.baseline_id
            assert rollout.ended_by_id == (None if won[2] else admin.pk)
    assert Rollout.objects.filter(status="active").count() == 0


# The automatic roll back, with tasks run against the simulator


@pytest.mark.django_db(transaction=True)
def test_a_failing_canary_rolls_back_automatically_and_new_sessions_get_the_baseline(
    admin, requester, use_simulator
):
    agent, canary = two_versions(canary_model="sim/model_down")
    rollout = rollout_start(actor=admin, agent_name="bot", canary_version=2, percent=50, min_tasks=3)
    canary_sessions = []
    for _ in range(60):
        task, _ = task_submit(owner=requester, agent_name="bot", input="hello")
        task_steps_run(task_id=task.id, max_steps=10, max_seconds=60)
        if task.session.rollout_arm == Rollout.Arm.CANARY:
            canary_sessions.append(task.session)
        numbers = rollout_compare(rollout)
        if numbers.canary.finished >= 3 and numbers.baseline.finished >= 1:
            break
    assert (numbers.canary.failed, numbers.baseline.failed) == (numbers.canary.finished, 0)

    assert judge_rollouts() == [rollout.pk]  # what beat runs every ROLLOUT_JUDGE_S

    rollout.refresh_from_db()
    assert (rollout.status, rollout.ended_by) == ("rolled_back", None)
    failed = numbers.canary.failed
    assert rollout.ended_reason == (
        f"automatic: the canary's failure rate {failed}/{failed} is more than 2.00 times the baseline's "
        f"0/{numbers.baseline.finished}"
    )
    [entry] = ended_entries(rollout)
    assert (entry.action, entry.actor) == ("rollout.rolled_back", None)
    agent.refresh_from_db()
    assert agent.current_version_id == rollout.baseline_id
    assert judge_rollouts() == []
    for _ in range(10):
        session = task_submit(owner=requester, agent_name="bot", input="hi")[0].session
        assert (session.agent_version_id, session.rollout_id) == (rollout.baseline_id, None)
    # A canary session that was running goes on on the canary.
    later, _ = task_submit(owner=requester, agent_name="bot", input="again", session_id=canary_sessions[0].id)
    task_steps_run(task_id=later.id, max_steps=10, max_seconds=60)
    later.refresh_from_db()
    assert (later.session.agent_version_id, later.status) == (canary.pk, Task.Status.FAILED)
