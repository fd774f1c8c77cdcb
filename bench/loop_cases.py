"""A labelled set of scripted runs for loop detection, and the detector replayed over them.

Each case is one session: one or more tasks, each played by a simulator scenario generated
here (the simulator's own parser and player, in-process), with tool results scripted per
case. The detector is the runtime's: before every model call after the first, the exact
check on the task's messages, then the semantic check over the session's embedded outputs,
using agents/guards/loop_signals.py and the configured embedder, as agents/guards/loops.py
does with pgvector. A looping case must be halted before its scenario ends; a healthy case
must run to its end.

The set comes in two halves that share no topic and no random seed: `tuning`, on which the
threshold is chosen (bench/loop_threshold.py), and `held_out`, on which the chosen threshold's
recall and false-kill rate are reported, so the reported figures are not the ones it was fitted to.

Looping families: a reworded wrong answer with the same lookup; reworded queries that get
the same documents back; the same failing call; oscillation between two calls; the same
wrong final answer, reworded, task after task in one session. Healthy families, each
repeating its structure on purpose: pagination; polling a job that finishes; the same check
on different orders; research over different aspects of a topic; a session of similar-looking
answers to different questions.
"""

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agents.embeddings.base import Embedder
from agents.guards.loop_signals import (
    LOOKBACK,
    OutputRecord,
    loop_similarities,
    output_text,
    previous_output,
    repeated_tool_call,
    result_values,
)
from agents.providers.openai import parse_chat_completion
from agents.runtime.messages import assistant_message
from agents.tools.result import ToolResult
from simulator.play import Player
from simulator.scenarios import scenario_parse

ToolScript = Callable[[str, dict[str, Any], int], ToolResult]

TOPICS = [
    ("the capital of Australia", "Sydney", "Canberra"),
    ("the boiling point of water at sea level", "90 degrees Celsius", "100 degrees Celsius"),
    ("the largest planet", "Saturn", "Jupiter"),
    ("the author of Hamlet", "Christopher Marlowe", "William Shakespeare"),
    ("the speed of light", "300,000 km per hour", "300,000 km per second"),
    ("the chemical symbol for gold", "Ag", "Au"),
    ("the tallest mountain", "K2", "Mount Everest"),
    ("the currency of Japan", "the yuan", "the yen"),
    ("the number of continents", "six", "seven"),
    ("the refund window for orders", "90 days", "30 days"),
    ("the warranty on the kettle", "five years", "two years"),
    ("the shipping cost to Canada", "free", "12 USD"),
    ("the opening hours of the Leeds store", "24 hours", "9 to 6"),
    ("the API rate limit", "unlimited", "600 requests per minute"),
    ("the maximum upload size", "10 GB", "100 MB"),
    ("the default timeout", "none", "30 seconds"),
    ("the on-call engineer this week", "Priya", "Marco"),
    ("the status of invoice 4471", "paid", "overdue"),
    ("the SLA for priority tickets", "one week", "four hours"),
    ("the price of the premium plan", "9 USD", "29 USD"),
]
PARAPHRASES = [
    "{topic} is {wrong}. Let me double-check that.",
    "I believe {topic} is {wrong}; let me verify it.",
    "{topic} is {wrong}, I think. Checking once more.",
    "As far as I can tell, {topic} is {wrong}. Verifying again.",
    "{topic}: {wrong}. I will confirm this with another lookup.",
]
QUERY_REWORDINGS = [
    "{topic}",
    "what is {topic}",
    "{topic} exact answer",
    "find {topic}",
    "official source for {topic}",
    "{topic} confirmed",
]
NAMES = ["Ann", "Bob", "Chen", "Dana", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]


@dataclass
class Case:
    name: str
    family: str
    looping: bool
    tasks: list[dict[str, Any]]  # scenario documents, one per task of the session
    tools: ToolScript


@dataclass
class Outcome:
    case: Case
    halted_by: str  # "", "repeated_tool_call" or "loop_detected"
    halted_at: int  # the model call (counted over the session) the guard refused
    similarities: list[float]


Split = Literal["tuning", "held_out"]
# Even topics and seeds from 0 for tuning; odd topics and seeds from 50,000 held out.
_SPLITS: dict[str, tuple[list[tuple[str, str, str]], int]] = {
    "tuning": (TOPICS[0::2], 0),
    "held_out": (TOPICS[1::2], 50_000),
}


def labelled_cases(split: Split) -> list[Case]:
    """120 looping and 120 healthy sessions of one half of the set."""
    topics, seed = _SPLITS[split]
    cases: list[Case] = []
    for i in range(120):
        rng = random.Random(seed + i)
        topic, wrong, right = topics[i % len(topics)]
        builder = [
            _reworded_answer_loop,
            _reworded_query_loop,
            _failing_call_loop,
            _oscillation_loop,
            _session_answer_loop,
        ][i % 5]
        cases.append(builder(i, rng, topic, wrong, right))
    for i in range(120):
        rng = random.Random(seed + 1000 + i)
        topic, _wrong, right = topics[i % len(topics)]
        builder = [_pagination, _polling, _order_checks, _research, _session_of_questions][i % 5]
        cases.append(builder(i, rng, topic, right))
    return cases


def case_replay(case: Case, *, model: Embedder, threshold: float, window: int, limit: int) -> Outcome:
    player = Player(
        {f"t{n}": scenario_parse(doc, name=f"t{n}", source=case.name) for n, doc in enumerate(case.tasks)}
    )
    messages: list[dict[str, Any]] = []
    records: list[OutputRecord] = []
    calls = 0
    for number in range(len(case.tasks)):
        messages.append({"role": "user", "content": f"request {number + 1} of {case.name}"})
        for step in range(40):
            if step > 0 or number > 0:
                verdict = _guards(messages, records, model, threshold=threshold, window=window, limit=limit)
                if verdict is not None:
                    return Outcome(case, verdict[0], calls, verdict[1])
            answer = player.answer({"model": f"t{number}", "messages": messages})
            response = parse_chat_completion(answer.body, provider="simulator", latency_ms=0.0)
            calls += 1
            messages.append(assistant_message(response))
            if not response.tool_calls:
                break
            for call in response.tool_calls:
                result = case.tools(call.name, call.arguments or {}, calls)
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": json.dumps(result.as_dict(), default=str, sort_keys=True),
                    }
                )
    return Outcome(case, "", calls, [])


def _guards(
    messages: list[dict[str, Any]],
    records: list[OutputRecord],
    model: Embedder,
    *,
    threshold: float,
    window: int,
    limit: int,
) -> tuple[str, list[float]] | None:
    if repeated_tool_call(messages, limit=limit) is not None:
        return "repeated_tool_call", []
    output = previous_output(messages)
    if output is None:
        return None
    vector = model.embed([output_text(output.message)])[0]
    records.append(OutputRecord(vector=vector, result_values=frozenset(result_values(output))))
    found = loop_similarities(records[-(window + LOOKBACK) :], threshold=threshold, window=window)
    return ("loop_detected", found) if found is not None else None


# Looping runs


def _reworded_answer_loop(i: int, rng: random.Random, topic: str, wrong: str, right: str) -> Case:
    content = [p.format(topic=topic.capitalize(), wrong=wrong) for p in rng.sample(PARAPHRASES, 4)]
    turns = [
        {"content": content, "tool": "kb_search", "arguments": {"query": topic}, "repeat": 12},
        {"answer": f"{topic.capitalize()} is {wrong}."},
    ]
    documents = _documents(rng, topic, right)
    return Case(
        f"reworded-answer-{i}",
        "reworded answer, same lookup",
        True,
        [{"turns": turns}],
        lambda name, args, n: ToolResult.success(documents),
    )


def _reworded_query_loop(i: int, rng: random.Random, topic: str, wrong: str, right: str) -> Case:
    # Different arguments every time, so only the semantic check can see it; the search
    # finds the same documents for every rewording.
    queries = [q.format(topic=topic) for q in QUERY_REWORDINGS]
    rng.shuffle(queries)
    turns: list[dict[str, Any]] = [
        {
            "content": f"Still looking for {topic}; searching again.",
            "tool": "kb_search",
            "arguments": {"query": queries[k % len(queries)]},
        }
        for k in range(12)
    ]
    turns.append({"answer": f"I could not confirm {topic}."})
    documents = _documents(rng, topic, right)
    return Case(
        f"reworded-query-{i}",
        "reworded query, same documents",
        True,
        [{"turns": turns}],
        lambda name, args, n: ToolResult.success(documents),
    )


def _failing_call_loop(i: int, rng: random.Random, topic: str, wrong: str, right: str) -> Case:
    sku = f"SKU-{rng.randint(1000, 9999)}"
    content = [
        f"The inventory check for {sku} failed; trying again.",
        f"Inventory for {sku} is unavailable, retrying.",
        f"Retrying the inventory lookup for {sku}.",
    ]
    turns = [
        {"content": content, "tool": "check_inventory", "arguments": {"sku": sku}, "repeat": 12},
        {"answer": "Inventory is unavailable."},
    ]
    return Case(
        f"failing-call-{i}",
        "same failing call",
        True,
        [{"turns": turns}],
        lambda name, args, n: ToolResult.error(
            "transient", "inventory service unavailable (HTTP 503)", retry_safe=True
        ),
    )


def _oscillation_loop(i: int, rng: random.Random, topic: str, wrong: str, right: str) -> Case:
    ticket = f"T-{rng.randint(100, 999)}"
    a = {
        "content": f"Setting ticket {ticket} to open, since the customer replied.",
        "tool": "set_status",
        "arguments": {"ticket": ticket, "status": "open"},
    }
    b = {
        "content": f"Setting ticket {ticket} to closed, since the issue is solved.",
        "tool": "set_status",
        "arguments": {"ticket": ticket, "status": "closed"},
    }
    turns: list[dict[str, Any]] = [a if k % 2 == 0 else b for k in range(12)]
    turns.append({"answer": f"Ticket {ticket} updated."})

    def tools(name: str, args: dict[str, Any], n: int) -> ToolResult:
        return ToolResult.success({"ticket": ticket, "status": args.get("status"), "updated": True})

    return Case(f"oscillation-{i}", "oscillation between two calls", True, [{"turns": turns}], tools)


def _session_answer_loop(i: int, rng: random.Random, topic: str, wrong: str, right: str) -> Case:
    # The user asks again and again; the agent gives the same wrong answer, reworded.
    answers = [p.format(topic=topic.capitalize(), wrong=wrong) for p in rng.sample(PARAPHRASES, 4)]
    tasks = [{"turns": [{"answer": answers[k % len(answers)]}]} for k in range(8)]
    return Case(
        f"session-answer-{i}",
        "same answer task after task",
        True,
        tasks,
        lambda name, args, n: ToolResult.success({}),
    )


# Healthy runs


def _pagination(i: int, rng: random.Random, topic: str, right: str) -> Case:
    pages = rng.randint(4, 12)
    kind = rng.choice(["orders", "tickets", "invoices", "customers"])
    turns = [
        {
            "content": f"Fetching page {{n}} of the {kind}.",
            "tool": f"list_{kind}",
            "arguments": {"page": "{n}", "per_page": 5},
            "repeat": pages,
        },
        {"answer": f"Read {pages} pages of {kind}."},
    ]

    def tools(name: str, args: dict[str, Any], n: int) -> ToolResult:
        page = int(args.get("page", 1))
        rows = [
            {
                "id": f"{kind[0].upper()}-{page * 100 + k}",
                "name": rng.choice(NAMES),
                "total": round(rng.uniform(5, 500), 2),
                "status": rng.choice(["open", "paid", "shipped"]),
            }
            for k in range(5)
        ]
        return ToolResult.success(
            {"page": page, "items": rows, "next_page": page + 1 if page < pages else None}
        )

    return Case(f"pagination-{i}", "pagination", False, [{"turns": turns}], tools)


def _polling(i: int, rng: random.Random, topic: str, right: str) -> Case:
    job = f"job-{rng.randint(1000, 9999)}"
    polls = rng.randint(3, 10)
    # Two identical "queued" answers at most (below N = 3), then progress until done.
    queued = rng.randint(0, 2)
    progress = sorted(rng.sample(range(5, 96), polls - queued - 1))
    states = [{"job": job, "status": "queued"}] * queued
    states += [{"job": job, "status": "running", "progress": p} for p in progress]
    states.append(
        {"job": job, "status": "done", "progress": 100, "result_url": f"https://files.example/{job}.csv"}
    )
    turns: list[dict[str, Any]] = [
        {
            "choose": [
                {"when": {"contains": '"done"'}, "answer": f"The export {job} is ready."},
                {
                    "content": f"Checking whether {job} has finished.",
                    "tool": "job_status",
                    "arguments": {"job": job},
                },
            ]
        }
        for _ in range(polls + 1)
    ]

    def tools(name: str, args: dict[str, Any], n: int) -> ToolResult:
        return ToolResult.success(states[min(n - 1, len(states) - 1)])

    return Case(f"polling-{i}", "polling a job that finishes", False, [{"turns": turns}], tools)


def _order_checks(i: int, rng: random.Random, topic: str, right: str) -> Case:
    count = rng.randint(4, 10)
    orders = [f"A-{rng.randint(1000, 9999)}" for _ in range(count)]
    turns: list[dict[str, Any]] = [
        {
            "content": f"Checking order {order} for the refund report.",
            "tool": "lookup_order",
            "arguments": {"order_id": order},
        }
        for order in orders
    ]
    turns.append({"answer": f"Checked {count} orders."})

    def tools(name: str, args: dict[str, Any], n: int) -> ToolResult:
        return ToolResult.success(
            {
                "order_id": args.get("order_id"),
                "status": rng.choice(["delivered", "shipped", "declined"]),
                "amount": round(rng.uniform(5, 300), 2),
                "customer": rng.choice(NAMES),
            }
        )

    return Case(f"order-checks-{i}", "the same check on different orders", False, [{"turns": turns}], tools)


def _research(i: int, rng: random.Random, topic: str, right: str) -> Case:
    aspects = rng.sample(
        [
            "history",
            "pricing",
            "reviews",
            "alternatives",
            "security",
            "limits",
            "roadmap",
            "support",
            "benchmarks",
            "licensing",
        ],
        rng.randint(3, 7),
    )
    turns: list[dict[str, Any]] = [
        {
            "content": f"Searching for {topic} {aspect}.",
            "tool": "kb_search",
            "arguments": {"query": f"{topic} {aspect}"},
        }
        for aspect in aspects
    ]
    turns.append({"answer": f"Summary of {topic}: {right}."})

    def tools(name: str, args: dict[str, Any], n: int) -> ToolResult:
        return ToolResult.success(_documents(rng, str(args.get("query")), right))

    return Case(f"research-{i}", "research over different aspects", False, [{"turns": turns}], tools)


def _session_of_questions(i: int, rng: random.Random, topic: str, right: str) -> Case:
    # One user, several questions of the same shape with different answers.
    count = rng.randint(4, 8)
    tasks = []
    for _ in range(count):
        order = f"A-{rng.randint(1000, 9999)}"
        day = rng.randint(1, 28)
        status = rng.choice(["shipped", "was delivered", "is waiting for payment", "was refunded"])
        tasks.append({"turns": [{"answer": f"Order {order} {status} on {day} May, to {rng.choice(NAMES)}."}]})
    return Case(
        f"session-questions-{i}",
        "similar answers to different questions",
        False,
        tasks,
        lambda name, args, n: ToolResult.success({}),
    )


def _documents(rng: random.Random, topic: str, right: str) -> dict[str, Any]:
    return {
        "documents": [
            {
                "id": f"doc-{rng.randint(10000, 99999)}",
                "title": f"{topic.capitalize()}: {kind}",
                "snippet": f"{topic.capitalize()} is {right}.",
                "score": round(rng.uniform(0.5, 0.99), 3),
            }
            for kind in ("overview", "reference", "FAQ")
        ]
    }
