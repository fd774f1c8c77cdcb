"""The runs a transaction creates are sent when it commits: each once, recorded in one statement."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agents.models import Task
from agents.run_queue import run_queue_length
from agents.services.tasks import task_submit
from tests.factories import make_agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_run_queue")]


@pytest.fixture
def agent() -> str:
    make_agent("echoer", model="sim/echo")
    return "echoer"


def submit(requester, agent: str, text: str) -> Task:
    return task_submit(owner=requester, agent_name=agent, input=text)[0]


def submit_then_roll_back(requester, agent: str, *texts: str) -> None:
    with transaction.atomic():
        for text in texts:
            submit(requester, agent, text)
        raise RuntimeError("rolled back")


def _enqueue_updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "SET enqueued_at" in q["sql"]]


def test_a_transaction_of_many_submissions_sends_each_run_once_and_records_them_in_one_statement(
    requester, agent
):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        tasks = [submit(requester, agent, f"hi {i}") for i in range(25)]
        assert run_queue_length() == 0  # nothing is sent before the commit

    assert run_queue_length() == 25
    assert len(_enqueue_updates(queries)) == 1
    assert Task.objects.filter(pk__in=[t.pk for t in tasks], enqueued_at__isnull=False).count() == 25


def test_a_submission_outside_a_transaction_is_sent_at_once(requester, agent):
    task = submit(requester, agent, "hi")

    assert run_queue_length() == 1
    task.refresh_from_db()
    assert task.enqueued_at is not None


def test_a_task_whose_savepoint_rolled_back_is_not_sent(requester, agent):
    with transaction.atomic():
        kept = submit(requester, agent, "kept")
        with pytest.raises(RuntimeError):  # a savepoint; its task joins the outer batch
            submit_then_roll_back(requester, agent, "dropped")

    assert run_queue_length() == 1
    assert list(Task.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_batch_started_in_a_rolled_back_savepoint_does_not_take_later_runs_with_it(requester, agent):
    with transaction.atomic():
        with pytest.raises(RuntimeError):  # the batch's callback is registered in the savepoint
            submit_then_roll_back(requester, agent, "dropped")
        later = submit(requester, agent, "later")

    assert run_queue_length() == 1
    later.refresh_from_db()
    assert later.enqueued_at is not None


def test_the_whole_transaction_rolled_back_sends_nothing(requester, agent):
    with pytest.raises(RuntimeError):
        submit_then_roll_back(requester, agent, "a", "b")

    assert run_queue_length() == 0
