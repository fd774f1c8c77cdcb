"""The simulator's reverse_refund: the demo's compensation for issue_refund."""

import httpx


def refund(simulator: str, key: str) -> dict:
    body = {"order_id": "A-1001", "amount": 10}
    return httpx.post(f"{simulator}/tools/issue_refund", json=body, headers={"Idempotency-Key": key}).json()


def reverse(simulator: str, refund_id: str, key: str) -> httpx.Response:
    body = {"refund_id": refund_id}
    return httpx.post(f"{simulator}/tools/reverse_refund", json=body, headers={"Idempotency-Key": key})


def test_a_refund_is_reversed_once_and_a_repeated_key_gets_the_first_answer(simulator_url):
    made = refund(simulator_url, "undo-test-refund")
    first = reverse(simulator_url, made["refund_id"], "undo-test-reverse")
    assert first.status_code == 200
    assert first.json() == {"refund_id": made["refund_id"], "amount": 10.0, "status": "reversed"}
    assert reverse(simulator_url, made["refund_id"], "undo-test-reverse").json() == first.json()
    again = reverse(simulator_url, made["refund_id"], "undo-test-another-key")
    assert again.status_code == 409
    assert reverse(simulator_url, "re_nope", "undo-test-missing").status_code == 404
    stats = httpx.get(f"{simulator_url}/tools/stats").json()
    assert made["refund_id"] in stats["reversed"]
