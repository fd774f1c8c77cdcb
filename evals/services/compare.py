"""A run beside its predecessor: the same suite's last ended run on the nearest older version
of the agent; per case what changed, regressions first."""

from dataclasses import dataclass

from evals.models import EvalCaseResult, EvalRun

# The order a reader wants: what broke, what is still broken, what is not known yet, what was
# mended, what still holds.
CHANGES = ("regression", "failing", "pending", "fixed", "passing")


@dataclass(frozen=True)
class CaseChange:
    result: EvalCaseResult
    before: str | None  # the predecessor's status of the same case name; None if it had none
    change: str
    # Names of this run's checks that failed or could not be decided.
    broken: list[str]


@dataclass(frozen=True)
class Comparison:
    predecessor: EvalRun | None
    cases: list[CaseChange]

    def counts(self) -> dict[str, int]:
        return {change: sum(1 for case in self.cases if case.change == change) for change in CHANGES}


def run_predecessor(run: EvalRun) -> EvalRun | None:
    return (
        EvalRun.objects.filter(
            suite_id=run.suite_id,
            agent_version__agent_id=run.agent_version.agent_id,
            agent_version__number__lt=run.agent_version.number,
            status__in=EvalRun.FINAL_STATUSES,
        )
        .select_related("agent_version")
        .order_by("-agent_version__number", "-created_at")
        .first()
    )


def run_compare(run: EvalRun) -> Comparison:
    predecessor = run_predecessor(run)
    before: dict[str, str] = {}
    if predecessor is not None:
        before = dict(predecessor.results.values_list("case_name", "status"))
    cases = []
    for result in run.results.order_by("case_name"):
        was = before.get(result.case_name)
        cases.append(
            CaseChange(
                result=result,
                before=was,
                change=_change(result.status, was),
                broken=[check["name"] for check in result.checks if not check["passed"]],
            )
        )
    cases.sort(key=lambda case: CHANGES.index(case.change))
    return Comparison(predecessor=predecessor, cases=cases)


def _change(now: str, was: str | None) -> str:
    if now == EvalCaseResult.Status.PENDING:
        return "pending"
    if now == EvalCaseResult.Status.PASSED:
        return "fixed" if was in ("failed", "error") else "passing"
    return "regression" if was == "passed" else "failing"
