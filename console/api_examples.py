"""One example per request and response body of the OpenAPI document, telling one story: a
support agent looks an order up and asks to refund it; a reviewer approves.

They live together so that ids and values agree across endpoints; `openapi_with_examples`
puts each on its schema in components, and tests/api/test_openapi_examples.py checks that
every operation has one for its body and answer and that each validates against its schema.
"""

import copy
from typing import Any

TASK = "5f0c2a9e-8d1b-4c3e-9a77-2b6f4e1d0c11"
SESSION = "0b7d4c2a-1e9f-4a6b-8c3d-5e2f1a0b9c88"
REQUEST = "9a1e7c3b-2d4f-4b8a-a6c5-3f1e0d2b7a44"
AT = "2026-11-30T09:15:02.118Z"
LATER = "2026-11-30T09:15:41.502Z"
NEXT = "/api/v1/tasks?limit=50&cursor=WyIyMDI2LTExLTMwVDA5OjE1OjAyLjExOCswMDowMCIsIjVmMGMiXQ:7Tq0…"

LOOKUP_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
TOOL_IN = {
    "name": "lookup_order",
    "description": "Look up an order by id",
    "parameters": LOOKUP_SCHEMA,
    "url": "https://shop.example/orders/lookup",
    "method": "POST",
    "timeout_s": 5,
    "risk_tier": "low",
}
TOOL_OUT = {
    "name": "lookup_order",
    "kind": "http",
    "description": "Look up an order by id",
    "parameters": LOOKUP_SCHEMA,
    "url": "https://shop.example/orders/lookup",
    "method": "POST",
    "timeout_s": 5.0,
    "risk_tier": "low",
    "trust": "untrusted",
    "injection_action": "flag",
    "honours_idempotency_key": False,
    "compensation": None,
    "compensation_arguments": {},
    "created_at": AT,
    "updated_at": AT,
}
AGENT_OUT = {
    "name": "support-bot",
    "version": 2,
    "system_prompt": "You are a customer-support agent.",
    "model": "sim/refund",
    "fallback_model": "",
    "tools": ["issue_refund", "lookup_order"],
    "budgets": {
        "max_tokens": 200000,
        "max_cost_usd": "1.000000",
        "max_tool_calls": 50,
        "max_iterations": 25,
        "max_seconds": 900,
    },
    "loops": {"threshold": 0.7, "window": 3, "repeat_limit": 3},
    "input_trust": "trusted",
    "current": True,
    "status": "current",
    "created_as_draft": False,
    "blocked": None,
    "created_at": AT,
    "version_created_at": LATER,
}
USAGE = {
    "input_tokens": 812,
    "output_tokens": 96,
    "cached_input_tokens": 0,
    "cost_usd": "0.000179",
    "tool_calls": 2,
}
TASK_SUMMARY = {
    "id": TASK,
    "agent": "support-bot",
    "agent_version": 2,
    "session": SESSION,
    "user": "dana",
    "status": "succeeded",
    "input": "Order A-1001 arrived broken, please refund it",
    "result": "Done: I refunded 49.99 USD for order A-1001. You'll see it in 3-5 business days.",
    "partial": False,
    "stop_reason": "",
    "stop_detail": "",
    "usage": USAGE,
    "created_at": AT,
    "started_at": AT,
    "finished_at": LATER,
    "duration_s": 39.384,
}
STEP = {
    "index": 0,
    "status": "completed",
    "model": "sim/refund",
    "content": "Let me look up order A-1001.",
    "input_tokens": 402,
    "output_tokens": 31,
    "cached_input_tokens": 0,
    "cost_usd": "0.000079",
    "model_latency_ms": 12.4,
    "tool_calls": [
        {
            "id": "call_1",
            "name": "lookup_order",
            "arguments": {"order_id": "A-1001"},
            "result": {"status": "success", "data": {"order_id": "A-1001", "amount": 49.99}},
        }
    ],
    "started_at": AT,
    "finished_at": AT,
}
REFUND_ARGS = {"order_id": "A-1001", "amount": 49.99, "reason": "Customer reported the item arrived damaged."}
ACTION_REQUEST = {
    "id": REQUEST,
    "task": TASK,
    "step_index": 1,
    "call_index": 0,
    "tool": "issue_refund",
    "agent": "support-bot",
    "arguments": REFUND_ARGS,
    "original_arguments": REFUND_ARGS,
    "reasoning": "Order A-1001 was delivered and paid; issuing a refund of 49.99 USD.",
    "version": 1,
    "tier": "high",
    "status": "executed",
    "rule": None,
    "policy_errors": [],
    "policy_version": 4,
    "hash": "3f6c0e1d9b2a4c5e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6",
    "approvals_required": 1,
    "approvals": 1,
    "reviewer_group": "reviewers",
    "autosend_at": None,
    "expires_at": None,
    "escalated": False,
    "decided_by": "reviewer",
    "decision_comment": "photo of the damage checks out",
    "result": {"status": "success", "data": {"refund_id": "re_000001", "amount": 49.99}},
    "taint": None,
    "sent_request": None,
    "outcome_by": None,
    "outcome_note": "",
    "created_at": AT,
    "decided_at": LATER,
    "execution_started_at": LATER,
    "executed_at": LATER,
}
RULE_IN = {
    "tool": "issue_refund",
    "condition": "args.amount > 100",
    "tier": "high",
    "approvals_required": 2,
    "reviewer_group": "finance",
    "priority": 10,
}
RULE_OUT = {
    "id": 7,
    "tool": "issue_refund",
    "agent": "",
    "condition": "args.amount > 100",
    "tier": "high",
    "delay_s": 300,
    "approvals_required": 2,
    "reviewer_group": "finance",
    "expiry_s": None,
    "sla_s": None,
    "priority": 10,
    "raise_only": False,
    "policy_version": 5,
}
MEMORY_OUT = {
    "id": 31,
    "text": "Dana prefers store credit.",
    "session": None,
    "task": None,
    "step_index": None,
    "provenance": "admin",
    "end_user": "",
    "model": "wordllama/l2_supercat-256",
    "created_at": AT,
}
SESSION_OUT = {
    "id": SESSION,
    "agent": "support-bot",
    "agent_version": 2,
    "user": "dana",
    "owner": "shop-backend",
    "rollout": 3,
    "rollout_arm": "canary",
    "created_at": AT,
    "updated_at": LATER,
}
ROLLOUT_OUT = {
    "id": 3,
    "agent": "support-bot",
    "status": "active",
    "baseline_version": 1,
    "canary_version": 2,
    "percent": 10,
    "failure_rate_multiple": "2.00",
    "cost_multiple": "1.50",
    "min_tasks": 20,
    "created_by": "admin",
    "created_at": AT,
    "ended_at": None,
    "ended_by": None,
    "ended_reason": "",
}
ARM_BASELINE = {
    "arm": "baseline",
    "version": 1,
    "sessions": 171,
    "tasks": 240,
    "finished": 236,
    "succeeded": 229,
    "failed": 7,
    "success_rate": 0.9703,
    "failure_rate": 0.0297,
    "cost_usd": "0.042244",
    "cost_per_task_usd": "0.000179",
    "approvals_asked": 58,
    "rejections": 4,
    "latency_p50_ms": 2140.0,
    "latency_p95_ms": 41502.5,
}
ARM_CANARY = {
    **ARM_BASELINE,
    "arm": "canary",
    "version": 2,
    "sessions": 19,
    "tasks": 27,
    "finished": 26,
    "succeeded": 25,
    "failed": 1,
    "success_rate": 0.9615,
    "failure_rate": 0.0385,
    "cost_usd": "0.005174",
    "cost_per_task_usd": "0.000199",
    "approvals_asked": 6,
    "rejections": 0,
    "latency_p50_ms": 1988.0,
    "latency_p95_ms": 39870.2,
}
ROLLOUT_DETAIL = {
    **ROLLOUT_OUT,
    "comparison": {"baseline": ARM_BASELINE, "canary": ARM_CANARY},
    "judgment": None,
}
SPAN = {
    "span_id": "a1b2c3d4e5f60718",
    "parent_span_id": "",
    "name": "chat sim/refund",
    "kind": "model",
    "status": "ok",
    "step_index": 0,
    "started_at": AT,
    "ended_at": AT,
    "duration_ms": 12.4,
    "attributes": {"gen_ai.request.model": "sim/refund", "gen_ai.usage.input_tokens": 402},
    "input": None,
    "output": None,
}
ALERT_RULE_OUT = {
    "kind": "tool_error_rate",
    "enabled": True,
    "threshold": "0.0500",
    "window_s": 300,
    "min_samples": 10,
    "updated_at": AT,
}
ALERT_OUT = {
    "id": 3,
    "rule": "tool_error_rate",
    "subject": "check_inventory",
    "state": "firing",
    "value": "0.400000",
    "detail": "4 of 10 calls failed in 300 s",
    "fired_at": AT,
    "resolved_at": None,
}
TOKEN_OUT = {
    "id": 12,
    "name": "ci-deploys",
    "hint": "tg_Zk3x9Qa",
    "created_at": AT,
    "last_used_at": LATER,
    "revoked_at": None,
}
EVAL_RUN = "7d2e9b41-6c0a-4f3e-8b5d-1a9c3e7f2b60"
EVAL_CHECKS = [
    {
        "kind": "tool_calls",
        "name": "looks up, then refunds at most 50",
        "mode": "ordered",
        "only": False,
        "calls": [
            {"tool": "lookup_order", "args": {}},
            {"tool": "issue_refund", "args": {"amount": {"$lte": 50}}},
        ],
    },
    {"kind": "cel", "name": "cheap", "expr": "usage.cost_usd < 0.02"},
    {
        "kind": "judge",
        "name": "polite",
        "rubric": "The answer is polite and confirms the refund.",
        "model": "sim/judge",
    },
]
EVAL_CASE_IN = {
    "name": "damaged item refund",
    "input": "Order A-1001 arrived broken, please refund it",
    "fixtures": [
        {
            "tool": "lookup_order",
            "arguments": None,
            "result": {
                "status": "success",
                "data": {"order_id": "A-1001", "amount": 49.99, "payment": "captured"},
            },
        },
        {
            "tool": "issue_refund",
            "arguments": None,
            "result": {"status": "success", "data": {"refund_id": "re_1"}},
        },
    ],
    "live_tools": [],
    "checks": EVAL_CHECKS,
}
EVAL_CASE_OUT = {
    **EVAL_CASE_IN,
    "id": 12,
    "suite": 3,
    "source_task": None,
    "created_at": AT,
    "updated_at": AT,
}
EVAL_SUITE_OUT = {
    "id": 3,
    "agent": "support-bot",
    "name": "refunds",
    "description": "Refund conversations from production",
    "required": True,
    "cases": 40,
    "created_at": AT,
    "updated_at": AT,
}
EVAL_RUN_OUT = {
    "id": EVAL_RUN,
    "suite": 3,
    "agent": "support-bot",
    "version": 3,
    "status": "failed",
    "gates_version": True,
    "cases_total": 40,
    "cases_passed": 39,
    "cases_failed": 1,
    "cases_errored": 0,
    "input_tokens": 61200,
    "output_tokens": 3900,
    "cost_usd": "0.011523",
    "created_at": AT,
    "finished_at": LATER,
}


REPLAY = "3c8e1f6a-7b2d-4e9c-b5a1-0d4f2c6e8a19"
REPLAY_TASK = "d41e9b7c-5a3f-4c2e-8b6d-1f0a9e3c7b52"
REPLAY_CALL = {
    "tool": "issue_refund",
    "arguments": REFUND_ARGS,
    "tier": "high",
    "decision": "approval",
    "rule": 3,
    "policy_version": 5,
    "status": "success",
    "declined": "",
}
REPLAY_OUT = {
    "id": REPLAY,
    "original": TASK,
    "task": REPLAY_TASK,
    "status": "succeeded",
    "agent": "support-bot",
    "agent_version": 2,
    "policy_version": 6,
    "live_model": False,
    "created_at": LATER,
    "finished": True,
    "identical": False,
    "differences": [
        {"step": 1, "call": 0, "field": "tier", "original": "high", "replay": "medium"},
        {"step": 1, "call": 0, "field": "decision", "original": "approval", "replay": "autosend"},
    ],
    "outcome": {
        "original": {"status": "succeeded", "stop_reason": "completed", "result": TASK_SUMMARY["result"]},
        "replay": {"status": "succeeded", "stop_reason": "completed", "result": TASK_SUMMARY["result"]},
    },
    "steps": [
        {
            "index": 1,
            "changed": True,
            "guards": {"original": [], "replay": []},
            "calls": [
                {
                    "index": 0,
                    "original": REPLAY_CALL,
                    "replay": {**REPLAY_CALL, "tier": "medium", "decision": "autosend", "policy_version": 6},
                }
            ],
        }
    ],
}


REFUND_TASK = "7c2e9b1d-4f3a-4e8b-9d6c-1a2b3c4d5e6f"
UNDO_TASK = "3e8d1f6a-9b2c-4d7e-8f1a-6c5b4a3d2e10"
REFUND_ACTION = f"{REFUND_TASK}:1:0"
EXECUTED_ACTION = {
    "id": REFUND_ACTION,
    "task": REFUND_TASK,
    "step_index": 1,
    "call_index": 0,
    "tool": "issue_refund",
    "arguments": {"order_id": "A-1001", "amount": 49.99, "reason": "arrived damaged"},
    "result": {
        "status": "success",
        "error_type": None,
        "retry_safe": False,
        "message": "",
        "data": {"refund_id": "re_000001", "order_id": "A-1001", "amount": 49.99, "status": "refunded"},
        "retry_after_s": None,
    },
    "executed_at": LATER,
    "action_request": REQUEST,
    "state": "undone",
    "reversible": True,
    "compensation": "reverse_refund",
    "irreversible_reason": "",
    "compensates": None,
    "undo": {
        "status": "undone",
        "undo_task": UNDO_TASK,
        "compensation": "reverse_refund",
        "arguments": {"refund_id": "re_000001"},
        "error": "",
        "requested_by": "reviewer",
        "created_at": LATER,
        "settled_at": LATER,
    },
}


def _page(item: dict[str, Any]) -> dict[str, Any]:
    return {"items": [item], "next": NEXT}


EXAMPLES: dict[str, dict[str, Any]] = {
    "ReplayIn": {"policy_version": 6},
    "ReplayAccepted": {"id": REPLAY, "original": TASK, "task": REPLAY_TASK, "status": "queued"},
    "ReplayOut": REPLAY_OUT,
    "ToolIn": TOOL_IN,
    "ToolOut": TOOL_OUT,
    "ToolPatch": {
        "compensation": "reverse_refund",
        "compensation_arguments": {"refund_id": "result.data.refund_id", "amount": "args.amount"},
    },
    "ToolPage": _page(TOOL_OUT),
    "ToolTierIn": {"risk_tier": "high"},
    "ToolTierOut": {"tool": "issue_refund", "risk_tier": "high", "policy_version": 5},
    "AgentIn": {
        "name": "support-bot",
        "system_prompt": "You are a customer-support agent.",
        "model": "sim/refund",
        "tools": ["lookup_order", "issue_refund"],
        "budgets": {"max_cost_usd": "1.00", "max_tool_calls": 50},
    },
    "AgentPatch": {"model": "sim/refund", "budgets": {"max_cost_usd": "1.00"}},
    "AgentOut": AGENT_OUT,
    "AgentPage": _page(AGENT_OUT),
    "RollbackIn": {"version": 1},
    "RolloutIn": {"canary_version": 2, "percent": 10, "failure_rate_multiple": "2.0", "min_tasks": 20},
    "RolloutEndIn": {"reason": "the canary's refunds match the baseline's; cost per task within 12%"},
    "RolloutDetailOut": ROLLOUT_DETAIL,
    "RolloutPage": _page(ROLLOUT_OUT),
    "MemoryIn": {"text": "Dana prefers store credit."},
    "MemoryOut": MEMORY_OUT,
    "MemoryPage": _page(MEMORY_OUT),
    "SessionOut": SESSION_OUT,
    "SessionPage": _page(SESSION_OUT),
    "SessionActionsOut": {"items": [EXECUTED_ACTION], "irreversible": 0, "truncated": False},
    "UndoIn": {"action": REFUND_ACTION},
    "UndoStartedOut": {"task": UNDO_TASK, "status": "queued", "actions": [REFUND_ACTION]},
    "TaskIn": {
        "agent": "support-bot",
        "input": "Order A-1001 arrived broken, please refund it",
        "user": "dana",
        "idempotency_key": "ticket-1001",
    },
    "TaskAccepted": {"id": TASK, "session": SESSION, "status": "queued"},
    "TaskOut": {**TASK_SUMMARY, "steps": [STEP]},
    "TaskPage": _page(TASK_SUMMARY),
    "StepOut": STEP,
    "StepPage": _page(STEP),
    "TraceOut": {"task": TASK, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "spans": [SPAN], "next": None},
    "RuleIn": RULE_IN,
    "RulePatch": {"condition": "args.amount > 250"},
    "RuleOut": RULE_OUT,
    "DecisionIn": {"decision": "approve", "comment": "photo of the damage checks out", "version": 1},
    "ActionIn": {
        "agent": "support-bot",
        "session": "conv-7f3a",
        "tool": "issue_refund",
        "arguments": REFUND_ARGS,
        "reasoning": "Order A-1001 arrived damaged; refunding it.",
        "idempotency_key": "conv-7f3a/call-2",
    },
    "ActionOut": {
        "id": "5b0f8a54-0c2e-4d43-9e1a-6f3f2b7f9d21",
        "agent": "support-bot",
        "session": "conv-7f3a",
        "tool": "issue_refund",
        "tier": "high",
        "decision": "pending",
        "status": "pending",
        "reason": "waiting for 1 approval in reviewers",
        "arguments": REFUND_ARGS,
        "edited": False,
        "action_request": REQUEST,
        "autosend_at": None,
        "expires_at": None,
        "decided_at": None,
        "execution_token": None,
        "tool_idempotency_key": None,
        "result_reported": False,
        "outcome": None,
        "result": None,
        "created_at": AT,
    },
    "ResultIn": {
        "execution_token": "xt_4c1d9e7a2b",
        "status": "success",
        "result": {"refund_id": "re_000001"},
        "duration_ms": 412.5,
    },
    "ReserveIn": {"agent": "support-bot", "session": "conv-7f3a", "amount_usd": "0.25", "model": "gpt-4o"},
    "BudgetOut": {
        "decision": "reserved",
        "reservation": "rsv_9f2c",
        "scope": "user:requester:day",
        "ceiling_usd": "50",
        "spent_usd": "3.12",
        "reserved_usd": "0.25",
    },
    "SettleIn": {"reservation": "rsv_9f2c", "cost_usd": "0.0183"},
    "SettleOut": {"reservation": "rsv_9f2c", "settled": True},
    "OutcomeIn": {
        "done": True,
        "result": {"refund_id": "re_000001", "amount": 49.99},
        "note": "the shop's refund log shows it, sent once",
    },
    "ActionRequestOut": ACTION_REQUEST,
    "ActionRequestList": _page(
        {**ACTION_REQUEST, "status": "pending", "decided_by": None, "decided_at": None}
    ),
    "AlertRuleOut": ALERT_RULE_OUT,
    "AlertRulePatch": {"threshold": "0.1", "window_s": 600},
    "AlertPage": _page(ALERT_OUT),
    "TokenIn": {"name": "ci-deploys"},
    "TokenOut": TOKEN_OUT,
    "TokenCreated": {**TOKEN_OUT, "last_used_at": None, "token": "tg_Zk3x9Qa…(shown once)"},
    "TokenPage": _page(TOKEN_OUT),
    "SuiteIn": {
        "agent": "support-bot",
        "name": "refunds",
        "description": "Refund conversations",
        "required": True,
    },
    "SuitePatch": {"required": True},
    "SuiteOut": EVAL_SUITE_OUT,
    "SuitePage": _page(EVAL_SUITE_OUT),
    "CaseIn": EVAL_CASE_IN,
    "CasePatch": {"checks": EVAL_CHECKS[:2]},
    "CaseFromTaskIn": {"task": TASK, "name": "refund of a damaged item"},
    "CaseOut": EVAL_CASE_OUT,
    "CasePage": _page(EVAL_CASE_OUT),
    "RunIn": {"version": 3},
    "RunOut": EVAL_RUN_OUT,
    "RunPage": _page(EVAL_RUN_OUT),
    "RunDetailOut": {
        **EVAL_RUN_OUT,
        "predecessor": {"id": "1f6b0c3d-2a4e-4c8b-9d7f-5e3a1b0c9d22", "version": 2, "status": "passed"},
        "changes": {"regression": 1, "failing": 0, "pending": 0, "fixed": 0, "passing": 39},
        "results": [
            {
                "case": 12,
                "case_name": "damaged item refund",
                "task": TASK,
                "status": "failed",
                "before": "passed",
                "change": "regression",
                "checks": [
                    {
                        "check": 0,
                        "kind": "tool_calls",
                        "name": "looks up, then refunds at most 50",
                        "passed": False,
                        "error": False,
                        "detail": "expected call 2 (issue_refund) was not made in order",
                    },
                    {
                        "check": 1,
                        "kind": "cel",
                        "name": "cheap",
                        "passed": True,
                        "error": False,
                        "detail": "",
                    },
                ],
                "input_tokens": 1530,
                "output_tokens": 97,
                "cost_usd": "0.000288",
                "judge_cost_usd": "0.000000",
                "latency_ms": 842.0,
            }
        ],
    },
    "HealthLive": {"status": "ok"},
    "HealthReady": {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}},
}


def openapi_with_examples(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each example on its component schema (`examples`, JSON Schema's keyword)."""
    schemas = document.get("components", {}).get("schemas", {})
    for name, example in EXAMPLES.items():
        if name in schemas:
            schemas[name]["examples"] = [copy.deepcopy(example)]
    return document
