"""The allow answer's short path (bench/gate_cpu.py): what it no longer reads must still hold.
A revoked token or a deactivated user is refused on the next request, a policy or tool change
applies to the next call, a remembered session that was deleted is found again, and a repeated
idempotency key still returns the first action."""

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Session, Task, Tool
from approvals.models import ExternalAction, PolicyRule
from approvals.policy.services import policy_rule_update
from approvals.services import action_request_decide
from console.models import ApiToken
from tests.conftest import _api_client
from tests.gate.conftest import ask, poll
from tests.support.races import race
from tracing.models import Span

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiers")]


def test_an_allow_answer_sends_three_statements(requester_api):
    assert ask(requester_api).status_code == 201  # the token's first use also records it

    with CaptureQueriesContext(connection) as queries:
        assert ask(requester_api, idempotency_key="k-4").json()["decision"] == "allow"

    # The token with its user; the tool, the session's taint (read fresh: a reported result may
    # have tainted it) and the policy's version in one SELECT; the action with its span in one
    # INSERT (no BEGIN / COMMIT); the session's task is remembered. The savepoint around the
    # INSERT is only taken inside a transaction, here the test's own.
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == ["SELECT", "SELECT", "SAVEPOINT", "WITH", "RELEASE"], statements
    reads = queries.captured_queries[1]["sql"]
    assert all(table in reads for table in ('"agents_tool"', '"agents_session"', '"approvals_policyversion"'))
    assert "tainted" in reads
    action = ExternalAction.objects.get(idempotency_key="k-4")
    assert Span.objects.filter(attributes__contains={"tollgate.action.id": str(action.id)}).count() == 1


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_allow_answers_statements_are_prepared_once_on_their_connection(requester_api):
    assert ask(requester_api).status_code == 201

    for n in range(3):
        assert ask(requester_api, idempotency_key=f"k-{n}").json()["decision"] == "allow"
    # A taken key fails no statement (psycopg forgets, but leaves on the server, a prepared
    # statement whose first run on a connection fails): its action is read by one statement,
    # prepared once however often keys come back.
    assert ask(requester_api, idempotency_key="k-0").status_code == 200
    assert ask(requester_api, idempotency_key="k-1").status_code == 200

    # The token; the tool with the session's taint, the policy's version and the key (one
    # statement with a key or without); the policy's version alone, read again after the first
    # call loaded the rules; the action with its span; the action a taken key names.
    prepared = prepared_statements()
    assert len(prepared) == 5, prepared
    assert sum(statement.startswith("SELECT") for statement in prepared) == 4, prepared
    assert any("approvals_policyversion" in statement for statement in prepared)
    assert any('"agents_session"' in statement for statement in prepared)
    assert any(statement.startswith("WITH action AS (INSERT") for statement in prepared), prepared
    assert any('LEFT JOIN "approvals_actionrequest"' in statement for statement in prepared), prepared


def test_behind_pgbouncer_nothing_is_prepared(requester_api):
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    try:
        assert ask(requester_api).status_code == 201
        assert ask(requester_api).status_code == 201
    finally:
        connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False

    assert prepared_statements() == []


def test_a_revoked_token_is_refused_on_the_next_request(requester_api):
    assert ask(requester_api).status_code == 201
    token = ApiToken.objects.get(name="tests")

    revoked = requester_api.delete(f"/api/v1/tokens/{token.pk}")

    assert revoked.status_code == 204, revoked.content
    refused = ask(requester_api)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_a_deactivated_users_token_is_refused_on_the_next_request(requester, requester_api):
    assert ask(requester_api).status_code == 201

    requester.is_active = False
    requester.save(update_fields=["is_active"])

    assert ask(requester_api).status_code == 401


def test_a_policy_change_applies_to_the_next_call(requester_api, admin):
    assert ask(requester_api).json()["decision"] == "allow"
    low = PolicyRule.objects.get(tool="refund", tier="low")

    policy_rule_update(actor=admin, rule_id=low.pk, tier="critical")

    assert ask(requester_api).json()["decision"] == "deny"


def test_a_tool_schema_change_applies_to_the_next_call(requester_api):
    assert ask(requester_api).status_code == 201
    Tool.objects.filter(name="refund").update(
        parameters={"type": "object", "properties": {"amount": {"type": "string"}}}
    )

    refused = ask(requester_api)

    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "arguments"


def repeated_statements(client, **fields) -> tuple[list[str], list[str], Any]:
    """The statements a repeated ask sent (first words, and whole), and its answer."""
    with CaptureQueriesContext(connection) as queries:
        answer = ask(client, **fields)
    sqls = [query["sql"] for query in queries.captured_queries]
    return [sql.split()[0] for sql in sqls], sqls, answer


@pytest.mark.parametrize("amount", [5, 500], ids=["allowed", "pending"])
def test_a_repeated_key_is_answered_in_three_reads_and_decides_nothing(requester_api, amount):
    first = ask(requester_api, arguments={"amount": amount}, idempotency_key="k-1")
    assert first.status_code == 201, first.content

    statements, sqls, again = repeated_statements(
        requester_api, arguments={"amount": amount}, idempotency_key="k-1"
    )

    # The token with its user; the call's one read, which finds the key taken; the first action
    # with its request and what its answer shows. No policy, no INSERT, no savepoint: a retry
    # costs less than a new call, so repeats cannot load the server more than asks do.
    assert statements == ["SELECT", "SELECT", "SELECT"], sqls
    assert '"approvals_externalaction"' in sqls[1]
    assert again.status_code == 200, again.content
    assert again.json() == first.json() == poll(requester_api, first.json()["id"]).json()
    assert ExternalAction.objects.count() == 1
    assert Span.objects.filter(name="gate refund").count() == 1


def test_a_repeat_of_a_decided_call_says_who_decided_it(requester_api, reviewer):
    first = ask(requester_api, arguments={"amount": 500}, idempotency_key="k-1").json()
    request = ExternalAction.objects.select_related("request").get(pk=first["id"]).request
    action_request_decide(action_request=request, actor=reviewer, decision="reject", comment="not this one")

    statements, sqls, again = repeated_statements(
        requester_api, arguments={"amount": 500}, idempotency_key="k-1"
    )

    assert statements == ["SELECT", "SELECT", "SELECT"], sqls
    answer = again.json()
    assert (again.status_code, answer["id"], answer["decision"]) == (200, first["id"], "deny")
    assert answer["reason"].startswith("A reviewer (reviewer) rejected this action. Their feedback: not")
    assert answer == poll(requester_api, first["id"]).json()  # as the action is read anywhere else


def test_another_call_under_a_taken_key_is_refused_in_three_reads(requester_api):
    first = ask(requester_api, idempotency_key="k-1").json()

    statements, sqls, other = repeated_statements(
        requester_api, tool="launch_rocket", arguments={"amount": 6}, idempotency_key="k-1"
    )

    assert statements == ["SELECT", "SELECT", "SELECT"], sqls
    assert other.status_code == 409, other.content
    assert other.json()["error"]["field"] == "idempotency_key"
    assert first["id"] in other.json()["error"]["message"]
    assert ExternalAction.objects.count() == 1
    assert not Tool.objects.filter(name="launch_rocket").exists()  # refused before anything is written


def test_a_retry_of_an_allowed_call_returns_it_and_writes_nothing_more(requester_api):
    first = ask(requester_api, idempotency_key="k-1")
    second = ask(requester_api, idempotency_key="k-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["execution_token"] == first.json()["execution_token"]
    assert ExternalAction.objects.count() == 1
    assert Span.objects.filter(name="gate refund").count() == 1


def test_a_retry_the_server_would_now_refuse_still_gets_its_first_action(requester_api):
    first = ask(requester_api, idempotency_key="k-1").json()
    Tool.objects.filter(name="refund").update(
        parameters={"type": "object", "properties": {"amount": {"type": "string"}}}
    )

    again = ask(requester_api, idempotency_key="k-1")

    assert again.status_code == 200, again.content
    assert again.json()["id"] == first["id"]


@pytest.mark.django_db(transaction=True)
def test_a_remembered_session_deleted_since_is_found_again(requester_api):
    # Committed for real: foreign keys are checked at commit, and only then does the INSERT with
    # the remembered task fail.
    first = ask(requester_api).json()
    Span.objects.filter(trace__task__session__external_id="conv-1").delete()
    Session.objects.filter(external_id="conv-1").delete()  # its task, trace and actions with it

    again = ask(requester_api)

    assert again.status_code == 201, again.content
    assert again.json()["id"] != first["id"]
    task = Task.objects.get(session__external_id="conv-1")
    assert list(ExternalAction.objects.values_list("task", flat=True)) == [task.pk]


@pytest.mark.django_db(transaction=True)
def test_two_asks_with_one_key_at_once_make_one_action(requester):
    # Committed for real, on two connections: the second INSERT waits on the first's key, then
    # touches nothing, and its ask answers with the first action.
    clients = [_api_client(requester), _api_client(requester)]

    answers = race(*(lambda c=c: ask(c, idempotency_key="k-race") for c in clients))

    assert sorted(answer.status_code for answer in answers) == [200, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert ExternalAction.objects.filter(idempotency_key="k-race").count() == 1
    assert Span.objects.filter(name="gate refund").count() == 1


@pytest.mark.django_db(transaction=True)
def test_asks_racing_on_one_key_make_one_action_whichever_call_wins(requester):
    # Committed for real, on four connections: a caller may find the key taken by its read, or
    # free and then lose the INSERT; either way the first action answers the same call, and
    # another call under the key is refused.
    clients = [_api_client(requester) for _ in range(4)]
    amounts = [5, 5, 6, 6]

    answers = race(
        *(
            lambda c=c, a=a: ask(c, arguments={"amount": a}, idempotency_key="k-race")
            for c, a in zip(clients, amounts, strict=True)
        )
    )

    [won] = [answer.json() for answer in answers if answer.status_code == 201]
    for amount, answer in zip(amounts, answers, strict=True):
        if answer.status_code == 201:
            continue
        if amount == won["arguments"]["amount"]:
            assert (answer.status_code, answer.json()["id"]) == (200, won["id"]), answer.content
        else:
            assert answer.status_code == 409, answer.content
            assert answer.json()["error"]["field"] == "idempotency_key"
    assert list(ExternalAction.objects.values_list("id", flat=True)) == [uuid.UUID(won["id"])]
    assert Span.objects.filter(name="gate refund").count() == 1
