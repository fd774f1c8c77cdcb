"""Candidate versions: a new version of an agent with required suites waits for a run of each;
all passed makes it current, one failed rejects it (agents.services.catalog.agent_version_decide).
Registered as the catalog's version checker in evals' AppConfig.ready()."""

from django.contrib.auth.models import User

from agents.models import Agent, AgentVersion
from agents.services.catalog import agent_version_decide
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


def candidate_decide(*, version_id: int) -> bool:
    """Decide the candidate when the latest run of every required suite against it has ended:
    current when all passed, rejected when one failed; an error leaves it a candidate (a new
    run of that suite decides). Returns whether this call decided.

    The version's row lock orders two runs ending at once: the second waits for the first's
    commit and then sees both runs ended, so exactly one decides (and the decision itself is a
    conditional update)."""
    version = AgentVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None or version.status != AgentVersion.Status.CANDIDATE:
        return False
    suites = list(EvalSuite.objects.filter(agent_id=version.agent_id, required=True).order_by("name"))
    latest: list[tuple[EvalSuite, EvalRun]] = []
    for suite in suites:
        run = (
            EvalRun.objects.filter(suite=suite, agent_version=version, gates_version=True)
            .order_by("-created_at")
            .first()
        )
        if run is None or not run.is_final:
            return False
        latest.append((suite, run))
    failed = [(suite, run) for suite, run in latest if run.status == EvalRun.Status.FAILED]
    if not failed and any(run.status == EvalRun.Status.ERROR for _suite, run in latest):
        return False
    actor = latest[-1][1].created_by if latest else version.created_by
    return agent_version_decide(
        version_id=version.pk, passed=not failed, actor=actor, detail=_failures(failed)
    )


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
