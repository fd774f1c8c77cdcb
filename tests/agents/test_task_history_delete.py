"""A task another task refers to for its history cannot be deleted alone; its session can."""

import pytest
from django.db.models import RestrictedError

from agents.models import Session, Task
from agents.services.tasks import task_submit
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def referring_pair(requester) -> tuple[Task, Task]:
    make_agent("echoer", model="sim/echo")
    first, _ = task_submit(owner=requester, agent_name="echoer", input="one")
    second, _ = task_submit(owner=requester, agent_name="echoer", input="two", session_id=first.session_id)
    Task.objects.filter(pk=second.pk).update(history_task=first, history_messages=2)
    return first, second


def test_the_referred_task_alone_cannot_be_deleted(referring_pair):
    first, _second = referring_pair

    with pytest.raises(RestrictedError):
        first.delete()


def test_deleting_the_session_deletes_both(referring_pair):
    first, _second = referring_pair

    Session.objects.filter(pk=first.session_id).delete()

    assert not Task.objects.exists()
