"""HTTP tools for the demo and the tests, served by the simulator so no other server is needed.

`issue_refund` is the side effect the tests count: the same Idempotency-Key returns the
same refund, and every distinct key (or a call without one) makes a new refund, so a
step that runs its side effect twice shows up as two refunds in GET /tools/stats.
`reverse_refund` undoes one refund by its id (issue_refund's compensation, docs/undo.md),
deduplicated by Idempotency-Key the same way; reversing a refund twice is refused.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

ORDERS: dict[str, dict[str, Any]] = {
    "A-1001": {
        "order_id": "A-1001",
        "customer": "Dana Whitfield",
        "items": [{"sku": "SKU-42", "name": "Trail running shoes", "quantity": 1}],
        "amount": 49.99,
        "currency": "USD",
        "status": "delivered",
        "payment_status": "captured",
    },
    "A-1002": {
        "order_id": "A-1002",
        "customer": "Luis Ortega",
        "items": [{"sku": "SKU-7", "name": "Rain jacket", "quantity": 1}],
        "amount": 89.00,
        "currency": "USD",
        "status": "cancelled",
        "payment_status": "declined",
    },
    "A-1003": {
        "order_id": "A-1003",
        "customer": "Priya Raman",
        "items": [{"sku": "SKU-99", "name": "Camping stove", "quantity": 2}],
        "amount": 249.00,
        "currency": "USD",
        "status": "delivered",
        "payment_status": "captured",
    },
}


@dataclass(frozen=True)
class ToolAnswer:
    status: int
    body: dict[str, Any]


class DemoTools:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._answers_by_key: dict[tuple[str, str], ToolAnswer] = {}
        self._refund_count = 0
        self._refunds: dict[str, dict[str, Any]] = {}
        self._reversals = 0
        self._handlers = {
            "lookup_order": self._lookup_order,
            "issue_refund": self._issue_refund,
            "reverse_refund": self._reverse_refund,
            "search_web": self._search_web,
            "check_inventory": self._check_inventory,
        }

    def call(self, name: str, body: Any, *, idempotency_key: str | None) -> ToolAnswer:
        handler = self._handlers.get(name)
        if handler is None:
            return ToolAnswer(404, {"error": f"no demo tool named {name!r}"})
        self.calls[name] += 1
        if not isinstance(body, dict):
            return ToolAnswer(400, {"error": "the body must be a JSON object"})
        if name not in ("issue_refund", "reverse_refund") or not idempotency_key:
            return handler(body)
        # No await runs between this lookup and the write below: the event loop serialises
        # two calls with the same key, so they cannot both create a refund.
        if (name, idempotency_key) in self._answers_by_key:
            return self._answers_by_key[(name, idempotency_key)]
        answer = handler(body)
        if answer.status == 200:
            self._answers_by_key[(name, idempotency_key)] = answer
        return answer

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "refunds": self._refund_count,
            "reversals": self._reversals,
            "reversed": sorted(r["refund_id"] for r in self._refunds.values() if r["status"] == "reversed"),
        }

    def _lookup_order(self, body: dict[str, Any]) -> ToolAnswer:
        order_id = body.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            return ToolAnswer(400, {"error": "order_id is required"})
        order = ORDERS.get(order_id)
        if order is None:
            return ToolAnswer(404, {"error": f"order {order_id} not found"})
        return ToolAnswer(200, order)

    def _issue_refund(self, body: dict[str, Any]) -> ToolAnswer:
        order = ORDERS.get(str(body.get("order_id")))
        if order is None:
            return ToolAnswer(404, {"error": f"order {body.get('order_id')} not found"})
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            return ToolAnswer(400, {"error": "amount must be a number"})
        if not amount.is_finite() or not Decimal(0) < amount <= Decimal(str(order["amount"])):
            return ToolAnswer(400, {"error": f"amount must be above 0 and at most {order['amount']}"})
        if order["payment_status"] != "captured":
            return ToolAnswer(409, {"error": f"payment for order {order['order_id']} was declined"})
        self._refund_count += 1
        refund = {
            "refund_id": f"re_{self._refund_count:06d}",
            "order_id": order["order_id"],
            "amount": float(amount),
            "currency": order["currency"],
            "reason": str(body.get("reason") or ""),
            "status": "refunded",
        }
        self._refunds[refund["refund_id"]] = dict(refund)
        return ToolAnswer(200, refund)

    def _reverse_refund(self, body: dict[str, Any]) -> ToolAnswer:
        refund = self._refunds.get(str(body.get("refund_id")))
        if refund is None:
            return ToolAnswer(404, {"error": f"refund {body.get('refund_id')} not found"})
        if refund["status"] == "reversed":
            return ToolAnswer(409, {"error": f"refund {refund['refund_id']} was already reversed"})
        refund["status"] = "reversed"
        self._reversals += 1
        return ToolAnswer(
            200, {"refund_id": refund["refund_id"], "amount": refund["amount"], "status": "reversed"}
        )

    def _search_web(self, body: dict[str, Any]) -> ToolAnswer:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            return ToolAnswer(400, {"error": "query is required"})
        slug = "-".join(query.lower().split())[:60]
        results = [
            {
                "title": f"{query}: {angle}",
                "url": f"https://example.com/{kind}/{slug}",
                "snippet": f"{angle} of {query}, with sources and figures.",
            }
            for kind, angle in (
                ("guide", "An overview"),
                ("news", "Recent reporting"),
                ("wiki", "Background"),
            )
        ]
        return ToolAnswer(200, {"query": query, "results": results})

    def _check_inventory(self, body: dict[str, Any]) -> ToolAnswer:
        # The "tool that keeps failing": every call is a transient error.
        return ToolAnswer(503, {"error": "inventory service unavailable"})
