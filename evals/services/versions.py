"""Candidate versions: a new version of an agent with required suites waits for a run of each;
all passed makes it current (a draft, when it was created as one), one failed rejects it
(agents.services.catalog.agent_version_decide).
A run that ended in error decides nothing: the candidate is blocked until a new run of that
suite passes (a person starts it; the block says so). Registered as the catalog's version
checker in evals' AppConfig.ready()."""

from django.contrib.auth.models import User
from django.db import connection

from agents.models import Agent, AgentVersion
from agents.services.catalog import agent_version_decide
from agents.services.version_checks import VersionBlock
from evals.models import EvalRun, EvalSuite


class RequiredSuites:
    def required(self, *, agent: Agent) -> bool:
        return EvalSuite.objects.filter(agent=agent, required=True).exists()

    def start(self, *, version: AgentVersion, actor: User) -> None:
        from evals.services.runs import eval_run_start

        for suite in EvalSuite.objects.filter(agent_id=version.agent_id, required=True).order_by("name"):
            eval_run_start(suite=suite, agent_version=version, by=actor)
        # Required suites without cases pass at once; decide in case all of them did.
        candidate_decide(version_id=version.pk)

    def blocked(self, *, version: AgentVersion) -> VersionBlock | None:
        return candidate_block(version)


def candidate_block(version: AgentVersion) -> VersionBlock | None:
    """What keeps a candidate from being decided until a person starts a run: a required
    suite whose latest run against it ended in error (`eval_run_error`, first) or that has no
    run against it (`eval_run_missing`: made required after the candidate was created). None
    while its runs are running, and for a version that is no candidate."""
    if version.status != AgentVersion.Status.CANDIDATE:
        return None
    errored, missing = [], []
    for suite, run in _latest_runs(version):
        if run is None:
            missing.append((suite, run))
        elif run.status == EvalRun.Status.ERROR:
            errored.append((suite, run))
    if not errored and not missing:
        return None
    rerun = f'{{"version": {version.number}}}'
    parts = [
        f"suite {suite.name!r} run {run.pk} ended in error ({run.cases_errored} of {run.cases_total} "
        f"cases could not be run or checked): re-run the suite against version {version.number} "
        f"(POST /api/v1/evals/suites/{suite.pk}/runs {rerun})"
        for suite, run in errored
        if run is not None
    ] + [
        f"suite {suite.name!r} has no run against it: run the suite against version {version.number} "
        f"(POST /api/v1/evals/suites/{suite.pk}/runs {rerun})"
        for suite, _run in missing
    ]
    return VersionBlock(
        code="eval_run_error" if errored else "eval_run_missing",
        message="; ".join(parts) + "; the new run decides it",
        details={
            "runs": [
                {"suite": suite.pk, "suite_name": suite.name, "run": str(run.pk) if run else None}
                for suite, run in errored + missing
            ]
        },
    )


# A run's decision of its candidate and a change of the agent's suites take this lock (per
# agent) before the rows they lock. A run's last case reaches the decision holding its run's
# and case's rows and then locks the version, the agent and the audit chain; a suite change
# locks the suite and then the same. Ordered by rows alone the two deadlocked (the race test,
# under the whole suite's load), so they are serialized per agent first: whoever holds the
# lock needs nothing the other holds already. A new version's own first decision (inside
# agent_update or agent_draft_create, which hold the agent's row) does not take it: no one else
# sees that version.
_DECISIONS_LOCK_CLASS = 0x4556_4C53  # a class of its own in pg_advisory_xact_lock's two-key form


def agent_decisions_lock(agent_id: int) -> None:
    """Serialize candidate decisions and suite changes of one agent until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DECISIONS_LOCK_CLASS, agent_id])


def candidates_decide(*, agent_id: int, actor: User) -> None:
    """Decide the agent's candidates again after its required suites changed (one made
    optional or deleted: the candidates may be waiting on nothing now)."""
    for version_id in AgentVersion.objects.filter(
        agent_id=agent_id, status=AgentVersion.Status.CANDIDATE
    ).values_list("pk", flat=True):
        candidate_decide(version_id=version_id, actor=actor)


def candidate_decide(*, version_id: int, actor: User | None = None) -> bool:
    """Decide the candidate when the latest run of every required suite against it has ended:
    current (or a draft) when all passed, rejected when one failed; an error leaves it a blocked candidate
    (candidate_block: a new run of that suite decides). Returns whether this call decided.
    `actor`: who the decision is audited as; by default who started the last run.

    The version's row lock orders two runs ending at once: the second waits for the first's
    commit and then sees both runs ended, so exactly one decides (and the decision itself is a
    conditional update)."""
    # The version's row alone (its default ordering joins the agent): the agent's row is
    # locked after it, and only when it passed (agent_version_decide).
    version = AgentVersion.objects.select_for_update(of=("self",)).filter(pk=version_id).first()
    if version is None or version.status != AgentVersion.Status.CANDIDATE:
        return False
    latest: list[tuple[EvalSuite, EvalRun]] = []
    for suite, run in _latest_runs(version):
        if run is None or not run.is_final:
            return False
        latest.append((suite, run))
    failed = [(suite, run) for suite, run in latest if run.status == EvalRun.Status.FAILED]
    if not failed and any(run.status == EvalRun.Status.ERROR for _suite, run in latest):
        return False
    if actor is None:
        actor = latest[-1][1].created_by if latest else version.created_by
    return agent_version_decide(
        version_id=version.pk, passed=not failed, actor=actor, detail=_failures(failed)
    )


def _latest_runs(version: AgentVersion) -> list[tuple[EvalSuite, EvalRun | None]]:
    """Each required suite of the version's agent, by name, with its latest run that decides
    the version (None: never run against it)."""
    suites = EvalSuite.objects.filter(agent_id=version.agent_id, required=True).order_by("name")
    return [
        (
            suite,
            EvalRun.objects.filter(suite=suite, agent_version=version, gates_version=True)
            .order_by("-created_at")
            .first(),
        )
        for suite in suites
    ]


def _failures(failed: list[tuple[EvalSuite, EvalRun]]) -> str:
    parts = []
    for suite, run in failed:
        broken = run.results.filter(status="failed").order_by("case_name")[:10]
        names = ", ".join(
            f"{result.case_name} ({'; '.join(c['name'] for c in result.checks if not c['passed'])[:200]})"
            for result in broken
        )
        parts.append(f"suite {suite.name!r} run {run.pk}: {names}")
    return " | ".join(parts)
