"""The memories page: admins list an agent's memories (escaped) and delete them; nobody else."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.memory.services import MemoryAuthor, memory_create
from agents.models import Memory
from tests.factories import make_agent
from tests.support.plans import plan_without_sorting

pytestmark = pytest.mark.django_db


def test_an_admin_sees_an_agents_memories_escaped_and_only_that_agents(client, admin, agent):
    other = make_agent("sales", model="sim/echo")
    memory_create(
        agent=agent, text="<script>alert(1)</script> prefers store credit", author=MemoryAuthor.admin(admin)
    )
    memory_create(agent=other, text="belongs to sales", author=MemoryAuthor.admin(admin))
    client.force_login(admin)

    page = client.get(reverse("console:memories"), {"agent": agent.name}).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; prefers store credit" in page
    assert "<script>alert(1)" not in page
    assert "belongs to sales" not in page


def test_an_admin_deletes_a_memory(client, admin, agent):
    memory = memory_create(agent=agent, text="stale fact", author=MemoryAuthor.admin(admin))
    client.force_login(admin)

    response = client.post(reverse("console:memory_delete", args=[agent.name, memory.pk]))

    assert response.status_code == 302
    assert not Memory.objects.exists()
    again = client.post(reverse("console:memory_delete", args=[agent.name, memory.pk]))
    assert again.status_code == 404


def test_people_who_are_not_admins_are_refused(client, admin, reviewer, agent):
    memory = memory_create(agent=agent, text="secret", author=MemoryAuthor.admin(admin))
    client.force_login(reviewer)

    assert client.get(reverse("console:memories")).status_code == 403
    assert client.post(reverse("console:memory_delete", args=[agent.name, memory.pk])).status_code == 403
    assert Memory.objects.exists()


def test_the_page_reads_only_its_own_rows_of_a_long_history(client, admin, agent):
    # 60 memories, one page of 50: the database hands over 50 rows (not every memory of the
    # agent for Python to cut), without joining each memory's task.
    Memory.objects.bulk_create(
        Memory(
            agent=agent,
            text=f"fact {n}",
            provenance=Memory.Provenance.ADMIN,
            model="test/embed",
            dimensions=3,
            embedding=[0.1, 0.2, 0.3],
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        )
        for n in range(60)
    )
    client.force_login(admin)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("console:memories"), {"agent": agent.name}).content.decode()

    assert ">fact 59<" in page
    assert ">fact 10<" in page
    assert ">fact 9<" not in page
    reads = [q["sql"] for q in queries if 'FROM "agents_memory"' in q["sql"] and "COUNT(" not in q["sql"]]
    assert len(reads) == 1
    assert "LIMIT 50" in reads[0]
    assert "agents_task" not in reads[0]
    assert "Sort" not in plan_without_sorting(reads[0])  # an index yields the agent's newest first
    older = client.get(reverse("console:memories"), {"agent": agent.name, "page": 2}).content.decode()
    assert ">fact 9<" in older
    assert ">fact 10<" not in older
