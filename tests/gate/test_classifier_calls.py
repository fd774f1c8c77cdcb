"""The external classifier's work for external sessions is bounded: one OTLP export asks it
about at most INJECTION_CLASSIFIER_MAX_PER_EXPORT new outputs (the rest are scanned by the
built-in detectors and marked), and an output its session met before (reported through the
gate API, in an earlier export, or twice in one) is not scanned again. The classifier is a
local stub that counts what it is asked."""

import json
from collections.abc import Iterator

import pytest
from django.test import Client

from agents.models import Session, Tool
from agents.services.external import external_task_for
from injection.detect import ScanResult
from injection.detect.external import SKIPPED, UNAVAILABLE
from injection.models import Detection, ScannedOutput
from injection.reported import CLASSIFIER_SKIPPED_ATTRIBUTE, reported_output_scan
from tests.gate.conftest import ask, report
from tests.injection.conftest import CLEAN_PAGE, INJECTED_PAGE
from tests.injection.test_external import fake_server
from tests.support.http import serving
from tests.support.races import race
from tests.support.stalled import stalled_server
from tracing.models import Span

pytestmark = pytest.mark.django_db


@pytest.fixture
def fetch_page() -> None:
    Tool.objects.create(name="fetch_page", kind=Tool.Kind.EXTERNAL, risk_tier="low")


@pytest.fixture
def classifier(settings, fetch_page) -> Iterator[list[dict]]:
    """The texts the stub classifier was sent; it scores everything 0.1 (clean)."""
    seen: list[dict] = []
    with serving(fake_server(b'{"score": 0.1}', seen=seen)) as url:
        settings.INJECTION_CLASSIFIER_URL = url
        settings.INJECTION_CLASSIFIER_TIMEOUT_S = 2.0
        settings.INJECTION_CLASSIFIER_FAIL_CLOSED = False
        settings.TOOL_EGRESS_ALLOW = ["127.0.0.1"]
        yield seen


@pytest.fixture
def otel_token(requester) -> str:
    from console.tokens import api_token_create

    raw, _ = api_token_create(user=requester, name="otel")
    return raw


def export(client: Client, token: str, results: list[object], *, conversation: str, first: int = 0) -> None:
    """One export of an `execute_tool fetch_page` span per result, span ids from `first` on."""
    spans = []
    for number, result in enumerate(results, start=first):
        attributes = {
            "gen_ai.conversation.id": conversation,
            "gen_ai.agent.name": "outside",
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "fetch_page",
            "gen_ai.tool.call.result": json.dumps(result),
        }
        spans.append(
            {
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                "spanId": f"{number + 1:016x}",
                "name": "execute_tool fetch_page",
                "startTimeUnixNano": "1700000000000000000",
                "endTimeUnixNano": "1700000001000000000",
                "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
            }
        )
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/v1/traces", json.dumps(body), content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content


def tool_spans(conversation: str) -> list[Span]:
    return list(
        Span.objects.filter(name="execute_tool fetch_page", trace__task__session__external_id=conversation)
    )


def pages(count: int, *, start: int = 0) -> list[dict]:
    return [{"page": f"Order A-{number} left the Lyon depot this morning."} for number in range(start, count)]


@pytest.mark.parametrize("fail_closed", [False, True])
def test_one_export_asks_the_classifier_about_at_most_its_budget_of_outputs(
    client, otel_token, classifier, settings, fail_closed
):
    settings.INJECTION_CLASSIFIER_MAX_PER_EXPORT = 3
    settings.INJECTION_CLASSIFIER_FAIL_CLOSED = fail_closed

    export(client, otel_token, pages(10), conversation="conv-otel")

    assert len(classifier) == 3
    assert {item["text"] for item in classifier} <= {f"\npage\n{page['page']}" for page in pages(10)}
    spans = tool_spans("conv-otel")
    assert len(spans) == 10
    skipped = [span for span in spans if span.attributes.get(CLASSIFIER_SKIPPED_ATTRIBUTE)]
    assert len(skipped) == 7
    # Every output still counts: scanned by the built-in detectors, it taints the session.
    assert all("tollgate.injection.score" in span.attributes for span in spans)
    session = Session.objects.get(external_id="conv-otel")
    assert (session.tainted, session.taint_sources) == (True, ["fetch_page"])
    # Fail-closed, an output the classifier was not asked about counts as injected, as one it
    # could not answer about; fail-open, as clean.
    assert session.suspicious is fail_closed
    if fail_closed:
        assert all(span.attributes["tollgate.injection.detectors"] == [SKIPPED] for span in skipped)
        assert Detection.objects.filter(session=session).count() == 7
    else:
        assert not Detection.objects.exists()


def test_outputs_past_the_budget_are_asked_about_by_a_later_export(client, otel_token, classifier, settings):
    settings.INJECTION_CLASSIFIER_MAX_PER_EXPORT = 3
    export(client, otel_token, pages(5), conversation="conv-otel")
    assert len(classifier) == 3

    # The same five outputs in new spans: the three classified are known, the two are asked now.
    export(client, otel_token, pages(5), conversation="conv-otel", first=5)

    assert len(classifier) == 5
    assert len({item["text"] for item in classifier}) == 5
    later = [span for span in tool_spans("conv-otel") if int(span.span_id, 16) > 5]
    assert len(later) == 5
    assert not any(span.attributes.get(CLASSIFIER_SKIPPED_ATTRIBUTE) for span in later)


def test_an_output_repeated_in_an_export_or_a_retried_export_is_scanned_once(client, otel_token, classifier):
    export(client, otel_token, [{"page": CLEAN_PAGE}] * 4, conversation="conv-otel")
    assert len(classifier) == 1

    export(client, otel_token, [{"page": CLEAN_PAGE}] * 4, conversation="conv-otel")  # retried
    export(client, otel_token, [{"page": CLEAN_PAGE}], conversation="conv-otel", first=4)

    assert len(classifier) == 1
    assert len(tool_spans("conv-otel")) == 5


def test_a_call_reported_through_the_gate_and_exported_over_otlp_is_scanned_once(
    requester_api, client, otel_token, classifier
):
    answer = ask(requester_api, tool="fetch_page", arguments={}, session="conv-1").json()
    assert answer["decision"] == "allow", answer
    assert report(requester_api, answer, result={"page": INJECTED_PAGE}).status_code == 200
    assert len(classifier) == 1

    export(client, otel_token, [{"page": INJECTED_PAGE}], conversation="conv-1")

    assert len(classifier) == 1
    # The exported span still carries the verdict, read back from the gate's scan.
    exported = [span for span in tool_spans("conv-1") if span.span_id == f"{1:016x}"]
    assert len(exported) == 1
    assert "rules.ignore_instructions" in exported[0].attributes["tollgate.injection.detectors"]
    session = Session.objects.get(external_id="conv-1")
    assert (session.tainted, session.suspicious) == (True, True)

    # Another session's output is its own: scanned there.
    export(client, otel_token, [{"page": INJECTED_PAGE}], conversation="conv-2")
    assert len(classifier) == 2


@pytest.mark.django_db(transaction=True)
def test_two_requests_meeting_one_new_output_at_once_keep_one_verdict(requester, classifier):
    task = external_task_for(owner=requester, agent_name="outside", session_id="conv-race")

    def scan_it() -> object:
        return reported_output_scan(
            session_id=task.session_id,
            tool_name="fetch_page",
            trust="untrusted",
            output={"page": INJECTED_PAGE},
        )

    first, second = race(scan_it, scan_it)

    assert first == second
    assert isinstance(first, ScanResult)
    assert "rules.ignore_instructions" in first.detectors
    assert ScannedOutput.objects.filter(session_id=task.session_id).count() == 1
    asked = len(classifier)
    assert asked in (1, 2)  # both may have scanned it before either kept its verdict
    assert scan_it() == first
    assert len(classifier) == asked


@pytest.mark.parametrize("fail_closed", [False, True])
def test_a_verdict_reached_while_the_classifier_failed_is_not_kept(
    requester, settings, fetch_page, fail_closed
):
    # Kept, a fail-open verdict would stay clean, and a fail-closed one flagged, for the rest of
    # the session, though the classifier answers again.
    task = external_task_for(owner=requester, agent_name="outside", session_id="conv-down")
    settings.INJECTION_CLASSIFIER_TIMEOUT_S = 2.0
    settings.INJECTION_CLASSIFIER_FAIL_CLOSED = fail_closed
    settings.TOOL_EGRESS_ALLOW = ["127.0.0.1"]

    def scan_it() -> ScanResult | None:
        return reported_output_scan(
            session_id=task.session_id, tool_name="fetch_page", trust="untrusted", output={"page": CLEAN_PAGE}
        )

    failing: list[dict] = []
    with serving(fake_server(b"{}", status=503, seen=failing)) as url:
        settings.INJECTION_CLASSIFIER_URL = url
        scan_it()
    assert len(failing) == 1
    assert not ScannedOutput.objects.filter(session_id=task.session_id).exists()

    answering: list[dict] = []
    with serving(fake_server(b'{"score": 0.1}', seen=answering)) as url:
        settings.INJECTION_CLASSIFIER_URL = url
        found = scan_it()
        assert found is not None
        assert not found.flagged
        scan_it()
    assert len(answering) == 1  # asked again once it answers, then its verdict is kept
    assert ScannedOutput.objects.filter(session_id=task.session_id).count() == 1


@pytest.mark.parametrize("fail_closed", [False, True])
def test_one_export_waits_for_a_stalled_classifier_no_longer_than_its_deadline(
    client, otel_token, fetch_page, settings, fail_closed
):
    # Ten new outputs, each call waiting its whole 0.5 s timeout, would hold the export 5 s;
    # past the export's 1.2 s the rest are not sent, and the call under way is cut short.
    settings.INJECTION_CLASSIFIER_TIMEOUT_S = 0.5
    settings.INJECTION_CLASSIFIER_EXPORT_DEADLINE_S = 1.2
    settings.INJECTION_CLASSIFIER_FAIL_CLOSED = fail_closed
    settings.TOOL_EGRESS_ALLOW = ["127.0.0.1"]
    with stalled_server() as classifier:
        settings.INJECTION_CLASSIFIER_URL = f"http://{classifier.address}/classify"
        export(client, otel_token, pages(10), conversation="conv-stalled")

    spans = tool_spans("conv-stalled")
    assert len(spans) == 10
    skipped = [span for span in spans if span.attributes.get(CLASSIFIER_SKIPPED_ATTRIBUTE)]
    asked = [span for span in spans if not span.attributes.get(CLASSIFIER_SKIPPED_ATTRIBUTE)]
    assert 1 <= len(asked) <= 3
    assert len(skipped) == 10 - len(asked)
    session = Session.objects.get(external_id="conv-stalled")
    # Past the deadline as past the count: fail-closed flags the output, fail-open lets it be.
    assert session.suspicious is fail_closed
    if fail_closed:
        assert all(span.attributes["tollgate.injection.detectors"] == [SKIPPED] for span in skipped)
        assert all(span.attributes["tollgate.injection.detectors"] == [UNAVAILABLE] for span in asked)
    else:
        assert not Detection.objects.exists()
    assert not ScannedOutput.objects.filter(session=session).exists()  # no verdict kept


def test_a_verdict_reached_without_the_classifier_now_configured_is_not_reused(
    requester, settings, fetch_page
):
    # Kept for the session, a verdict of the built-in detectors alone (no classifier yet) would
    # let a text they miss through for good, though the classifier configured since flags it.
    task = external_task_for(owner=requester, agent_name="outside", session_id="conv-new")
    settings.TOOL_EGRESS_ALLOW = ["127.0.0.1"]
    settings.INJECTION_CLASSIFIER_FAIL_CLOSED = False

    def scan_it() -> ScanResult | None:
        return reported_output_scan(
            session_id=task.session_id, tool_name="fetch_page", trust="untrusted", output={"page": CLEAN_PAGE}
        )

    settings.INJECTION_CLASSIFIER_URL = ""
    before = scan_it()
    assert before is not None
    assert not before.flagged  # the built-in detectors miss it

    seen: list[dict] = []
    with serving(fake_server(b'{"score": 0.99}', seen=seen)) as url:
        settings.INJECTION_CLASSIFIER_URL = url
        after = scan_it()
        again = scan_it()
    assert len(seen) == 1  # asked once, and its verdict kept from then on
    assert after is not None
    assert after.flagged
    assert again == after
