"""Eval suites, cases and runs: admins write and start runs; reviewers and admins read."""

import uuid
from typing import Annotated, Any

from django.db.models import Count
from django.http import HttpRequest
from ninja import Path, Query, Router
from ninja.responses import Status
from pydantic import Field

from agents.api import request_user
from agents.api.schemas import PG_INT_MAX, READ_ERRORS, WRITE_ERRORS, ErrorOut, usd
from agents.models import AgentVersion
from agents.selectors import task_get_visible, user_is_admin, user_is_reviewer
from core.errors import Forbidden, NotFound
from core.pagination import PageQuery, next_link, page_of
from evals.api.schemas import (
    CaseFromTaskIn,
    CaseIn,
    CaseOut,
    CasePage,
    CasePatch,
    RunDetailOut,
    RunFilter,
    RunIn,
    RunOut,
    RunPage,
    SuiteFilter,
    SuiteIn,
    SuiteOut,
    SuitePage,
    SuitePatch,
)
from evals.models import EvalCase, EvalRun, EvalSuite
from evals.services.compare import run_compare
from evals.services.from_task import eval_case_from_task
from evals.services.runs import eval_run_start
from evals.services.suites import (
    case_create,
    case_delete,
    case_update,
    suite_create,
    suite_delete,
    suite_update,
)

router = Router(tags=["evals"])
RowId = Annotated[int, Field(ge=1, le=PG_INT_MAX)]
SuiteId = Path[RowId]


@router.post(
    "/suites", response={201: SuiteOut, WRITE_ERRORS: ErrorOut}, summary="Create an eval suite (admin)"
)
def create_suite(request: HttpRequest, payload: SuiteIn) -> Status[dict[str, Any]]:
    suite = suite_create(
        actor=_admin(request), agent_name=payload.agent, **payload.model_dump(exclude={"agent"})
    )
    return Status(201, _suite_out(_suite(suite.pk)))


@router.get("/suites", response={200: SuitePage, READ_ERRORS: ErrorOut}, summary="Eval suites, newest first")
def list_suites(request: HttpRequest, filters: Query[SuiteFilter]) -> dict[str, Any]:
    _reviewer(request)
    suites = _suites()
    if filters.agent:
        suites = suites.filter(agent__name=filters.agent)
    page = page_of(suites, filters)
    return {"items": [_suite_out(suite) for suite in page.items], "next": next_link(request, page.cursor)}


@router.get("/suites/{suite_id}", response={200: SuiteOut, READ_ERRORS: ErrorOut}, summary="One eval suite")
def get_suite(request: HttpRequest, suite_id: SuiteId) -> dict[str, Any]:
    _reviewer(request)
    return _suite_out(_suite(suite_id))


@router.patch(
    "/suites/{suite_id}", response={200: SuiteOut, WRITE_ERRORS: ErrorOut}, summary="Edit a suite (admin)"
)
def update_suite(request: HttpRequest, suite_id: SuiteId, payload: SuitePatch) -> dict[str, Any]:
    suite_update(actor=_admin(request), suite_id=suite_id, **payload.model_dump(exclude_unset=True))
    return _suite_out(_suite(suite_id))


@router.delete(
    "/suites/{suite_id}",
    response={204: None, WRITE_ERRORS: ErrorOut},
    summary="Delete a suite with its cases and runs (admin)",
)
def delete_suite(request: HttpRequest, suite_id: SuiteId) -> Status[None]:
    suite_delete(actor=_admin(request), suite_id=suite_id)
    return Status(204, None)


@router.get(
    "/suites/{suite_id}/cases", response={200: CasePage, READ_ERRORS: ErrorOut}, summary="A suite's cases"
)
def list_cases(request: HttpRequest, suite_id: SuiteId, page_query: Query[PageQuery]) -> dict[str, Any]:
    _reviewer(request)
    page = page_of(_suite(suite_id).cases.all(), page_query)
    return {"items": [_case_out(case) for case in page.items], "next": next_link(request, page.cursor)}


@router.post(
    "/suites/{suite_id}/cases", response={201: CaseOut, WRITE_ERRORS: ErrorOut}, summary="Add a case (admin)"
)
def create_case(request: HttpRequest, suite_id: SuiteId, payload: CaseIn) -> Status[dict[str, Any]]:
    case = case_create(actor=_admin(request), suite_id=suite_id, **payload.model_dump())
    return Status(201, _case_out(case))


@router.post(
    "/suites/{suite_id}/cases/from-task",
    response={201: CaseOut, WRITE_ERRORS: ErrorOut},
    summary="Make a case from a task: its input, its tool results as fixtures, its calls as a check (admin)",
)
def create_case_from_task(
    request: HttpRequest, suite_id: SuiteId, payload: CaseFromTaskIn
) -> Status[dict[str, Any]]:
    user = _admin(request)
    task = task_get_visible(task_id=payload.task, user=user)
    case = eval_case_from_task(task=task, suite=_suite(suite_id), by=user, name=payload.name or "")
    return Status(201, _case_out(case))


@router.get("/cases/{case_id}", response={200: CaseOut, READ_ERRORS: ErrorOut}, summary="One eval case")
def get_case(request: HttpRequest, case_id: Path[RowId]) -> dict[str, Any]:
    _reviewer(request)
    return _case_out(_case(case_id))


@router.patch(
    "/cases/{case_id}", response={200: CaseOut, WRITE_ERRORS: ErrorOut}, summary="Edit a case (admin)"
)
def update_case(request: HttpRequest, case_id: Path[RowId], payload: CasePatch) -> dict[str, Any]:
    return _case_out(
        case_update(actor=_admin(request), case_id=case_id, **payload.model_dump(exclude_unset=True))
    )


@router.delete(
    "/cases/{case_id}", response={204: None, WRITE_ERRORS: ErrorOut}, summary="Delete a case (admin)"
)
def delete_case(request: HttpRequest, case_id: Path[RowId]) -> Status[None]:
    case_delete(actor=_admin(request), case_id=case_id)
    return Status(204, None)


@router.post(
    "/suites/{suite_id}/runs",
    response={202: RunOut, WRITE_ERRORS: ErrorOut},
    summary="Run a suite against a version of its agent (admin): one task per case, in the workers",
)
def start_run(request: HttpRequest, suite_id: SuiteId, payload: RunIn) -> Status[dict[str, Any]]:
    user = _admin(request)
    suite = _suite(suite_id)
    versions = AgentVersion.objects.select_related("agent").filter(agent_id=suite.agent_id)
    if payload.version is None:
        version = versions.filter(pk=suite.agent.current_version_id).first()
    else:
        version = versions.filter(number=payload.version).first()
    if version is None:
        raise NotFound(f"agent {suite.agent.name!r} has no version {payload.version}", field="version")
    run = eval_run_start(suite=suite, agent_version=version, by=user)
    return Status(202, _run_out(_runs().get(pk=run.pk)))


@router.get("/runs", response={200: RunPage, READ_ERRORS: ErrorOut}, summary="Eval runs, newest first")
def list_runs(request: HttpRequest, filters: Query[RunFilter]) -> dict[str, Any]:
    _reviewer(request)
    runs = _runs()
    if filters.suite is not None:
        runs = runs.filter(suite_id=filters.suite)
    if filters.status is not None:
        runs = runs.filter(status=filters.status)
    page = page_of(runs, filters)
    return {"items": [_run_out(run) for run in page.items], "next": next_link(request, page.cursor)}


@router.get(
    "/runs/{run_id}",
    response={200: RunDetailOut, READ_ERRORS: ErrorOut},
    summary="A run: per case and per check, beside the predecessor version's run (regressions first)",
)
def get_run(request: HttpRequest, run_id: Path[uuid.UUID]) -> dict[str, Any]:
    _reviewer(request)
    run = _runs().filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no eval run {run_id}", field="run")
    return run_detail_out(run)


def run_detail_out(run: EvalRun) -> dict[str, Any]:
    comparison = run_compare(run)
    predecessor = comparison.predecessor
    return {
        **_run_out(run),
        "predecessor": None
        if predecessor is None
        else {
            "id": predecessor.pk,
            "version": predecessor.agent_version.number,
            "status": predecessor.status,
        },
        "changes": comparison.counts(),
        "results": [
            {
                "case": case.result.case_id,
                "case_name": case.result.case_name,
                "task": case.result.task_id,
                "status": case.result.status,
                "before": case.before,
                "change": case.change,
                "checks": case.result.checks,
                "input_tokens": case.result.input_tokens,
                "output_tokens": case.result.output_tokens,
                "cost_usd": usd(case.result.cost_usd),
                "judge_cost_usd": usd(case.result.judge_cost_usd),
                "latency_ms": case.result.latency_ms,
            }
            for case in comparison.cases
        ],
    }


def _admin(request: HttpRequest) -> Any:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may change eval suites or start runs")
    return user


def _reviewer(request: HttpRequest) -> None:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins may read evals")


def _suites() -> Any:
    return EvalSuite.objects.select_related("agent").annotate(case_count=Count("cases"))


def _suite(suite_id: int) -> EvalSuite:
    suite = _suites().filter(pk=suite_id).first()
    if suite is None:
        raise NotFound(f"no eval suite {suite_id}", field="suite")
    return suite


def _case(case_id: int) -> EvalCase:
    case = EvalCase.objects.filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"no eval case {case_id}", field="case")
    return case


def _runs() -> Any:
    return EvalRun.objects.select_related("agent_version__agent")


def _suite_out(suite: EvalSuite) -> dict[str, Any]:
    return {
        "id": suite.pk,
        "agent": suite.agent.name,
        "name": suite.name,
        "description": suite.description,
        "required": suite.required,
        "cases": suite.case_count,  # type: ignore[attr-defined]  # annotated in _suites
        "created_at": suite.created_at,
        "updated_at": suite.updated_at,
    }


def _case_out(case: EvalCase) -> dict[str, Any]:
    return {
        "id": case.pk,
        "suite": case.suite_id,
        "name": case.name,
        "input": case.input,
        "fixtures": case.fixtures,
        "live_tools": case.live_tools,
        "checks": case.checks,
        "source_task": case.source_task_id,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def _run_out(run: EvalRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "suite": run.suite_id,
        "agent": run.agent_version.agent.name,
        "version": run.agent_version.number,
        "status": run.status,
        "gates_version": run.gates_version,
        "cases_total": run.cases_total,
        "cases_passed": run.cases_passed,
        "cases_failed": run.cases_failed,
        "cases_errored": run.cases_errored,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "cost_usd": usd(run.cost_usd),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
