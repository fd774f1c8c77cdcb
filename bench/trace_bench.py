"""Tracing's hot path and its heaviest page.

1. Span write throughput through SpanBuffer.flush, as the runtime writes them: a step's spans
   (a guardrail decision, a model call with its prompt and reply, tool calls) in one bulk
   insert inside one transaction, many steps in a row; also in large batches for comparison.
   Sizes are a running task's, stored as the runtime stores them: a model span keeps the
   messages new at its step (the previous step's tool call and its result, about 1.6 KB) and a
   reference to the previous step's model span (tracing/prompts.py); the first step of each
   STEPS_PER_TASK stores its whole prompt (the system prompt and the input, about 2 KB). A tool
   span stores its ~1.2 KB result.
2. The task page's server time for a task whose trace holds 10,000 spans: the whole Django
   request (session, task, steps, the first page of spans, the waterfall's rendering), and the
   last page reached by its keyset cursor, p50 over several loads.

The last line is JSON with `spans_per_s` and `trace_page_10k_ms`.
"""

import json
import statistics
import time
from datetime import timedelta

from harness import percentile, setup_django

TRACE_SPANS = 10_000
STEP_SPANS = 5  # guardrail, model, three tool calls
STEPS = 2_000
STEPS_PER_TASK = 20
PAGE_LOADS = 15
SYSTEM_PROMPT = (
    "You are the support agent of an online shop. Answer in the customer's language. "
    "Look orders up before answering; never promise a refund you have not issued. " * 12
)


def tool_result(n: int) -> dict:
    """A tool's answer of about 1.2 KB: an order with its lines and history."""
    lines = [
        {"sku": f"SKU-{n}-{k}", "name": f"Item {k} of order {n}", "qty": k + 1, "price": "19.90"}
        for k in range(6)
    ]
    history = [{"at": f"2026-11-{10 + k:02d}T10:00:00Z", "event": f"status change {k}"} for k in range(5)]
    return {"status": "success", "data": {"order": f"A-{n}", "lines": lines, "history": history}}


def conversation(steps: int) -> list[dict]:
    """The request's messages at step `steps` of a task: what a model span stores as input."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": "Where is my order A-1001? It was due last week and I need it for a trip. " * 3,
        },
    ]
    for k in range(steps):
        call = {
            "id": f"call_{k}",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": f"A-{1001 + k}"})},
        }
        messages.append(
            {"role": "assistant", "content": f"Let me look up order A-{1001 + k}.", "tool_calls": [call]}
        )
        messages.append(
            {"role": "tool", "tool_call_id": f"call_{k}", "content": json.dumps(tool_result(1001 + k))}
        )
    return messages


PROMPTS = [conversation(step) for step in range(STEPS_PER_TASK)]


def main() -> None:
    setup_django("tollgate_bench")
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse

    from agents.models import Agent, AgentVersion
    from agents.services.tasks import task_submit
    from core import clock
    from tracing.models import Span
    from tracing.prompts import prompt_delta
    from tracing.recorder import SpanBuffer, model_span_id, root_span_id

    owner, _ = User.objects.get_or_create(username="bench-trace")
    agent, _ = Agent.objects.get_or_create(name="bench-trace")
    if agent.current_version is None:
        agent.current_version = AgentVersion.objects.create(agent=agent, number=1, model="sim/echo")
        agent.save(update_fields=["current_version"])

    def new_task():
        task, _ = task_submit(owner=owner, agent_name=agent.name, input="bench")
        return task

    reply = {"role": "assistant", "content": "Looking it up.", "tool_calls": []}

    def model_input(trace_id: str, step: int) -> object:
        """What the runtime stores for step `step`'s prompt: the new messages and a reference."""
        position = step % STEPS_PER_TASK
        return prompt_delta(
            prompt=PROMPTS[position],
            previous_span_id=model_span_id(trace_id, step - 1) if position else None,
            kept=len(PROMPTS[position - 1]) if position else 0,
        )

    def fill(buffer: SpanBuffer, trace_id: str, count: int, start, *, first: int = 0) -> None:
        """`count` spans of consecutive steps, from the trace's `first` span on."""
        for n in range(first, first + count):
            at = start + timedelta(microseconds=n)
            kind = ("guardrail", "model", "tool", "tool", "tool")[n % STEP_SPANS]
            step = n // STEP_SPANS
            buffer.add(
                name=f"{kind} {n}",
                kind=kind,
                step_index=step,
                span_id=model_span_id(trace_id, step) if kind == "model" else None,
                started_at=at,
                ended_at=at + timedelta(milliseconds=3),
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "bench",
                    "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 30,
                    "tollgate.cost_usd": "0.000321",
                },
                input=model_input(trace_id, step) if kind == "model" else {"order_id": n},
                output=reply if kind == "model" else tool_result(n),
            )

    def write_rate(*, batch: int, batches: int) -> tuple[float, float]:
        """Spans/s of the flush alone (inside the checkpoint's transaction, whose commit the
        step pays anyway), and spans/s counting a commit of its own per flush."""
        task = new_task()
        trace = task.trace
        parent = root_span_id(trace.trace_id)
        start = clock.now()
        flushing = committing = 0.0
        for index in range(batches):
            buffer = SpanBuffer(trace_pk=trace.pk, parent_span_id=parent)
            fill(buffer, trace.trace_id, batch, start + timedelta(seconds=index), first=index * batch)
            began = time.perf_counter()  # building spans in memory is the step's, not the write's
            with transaction.atomic():
                buffer.flush()
                flushed = time.perf_counter()
            committing += time.perf_counter() - flushed
            flushing += flushed - began
        spans = batch * batches
        return spans / flushing, spans / (flushing + committing)

    model_input_bytes = statistics.mean(
        len(json.dumps(model_input("0" * 32, step))) for step in range(STEPS_PER_TASK)
    )
    step_bytes = model_input_bytes + 3 * len(json.dumps(tool_result(1)))
    print(
        f"a model span's input: {model_input_bytes / 1000:.1f} KB on average; "
        f"a step writes {step_bytes / 1000:.1f} KB"
    )
    per_step, per_step_committed = write_rate(batch=STEP_SPANS, batches=STEPS)
    bulk, bulk_committed = write_rate(batch=500, batches=20)
    print(
        f"span writes, {STEP_SPANS} per flush (one step): {per_step:,.0f} spans/s "
        f"({per_step_committed:,.0f} counting a commit per flush)"
    )
    print(f"span writes, 500 per flush: {bulk:,.0f} spans/s ({bulk_committed:,.0f} counting its commit)")

    # A task whose trace holds 10,000 spans.
    task = new_task()
    buffer = SpanBuffer(trace_pk=task.trace.pk, parent_span_id=root_span_id(task.trace.trace_id))
    fill(buffer, task.trace.trace_id, TRACE_SPANS, clock.now())
    with transaction.atomic():
        buffer.flush()
    assert Span.objects.filter(trace=task.trace).count() == TRACE_SPANS

    client = Client(SERVER_NAME="localhost")
    client.force_login(owner)
    url = reverse("console:task", args=[task.id])
    last_cursor = (
        Span.objects.filter(trace=task.trace)
        .order_by("-started_at", "-id")
        .values_list("span_id", flat=True)[500]
    )

    def load(params: dict[str, str]) -> list[float]:
        timings = []
        for _ in range(PAGE_LOADS + 2):
            began = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
        return timings[2:]  # the first loads warm templates and connections

    first = load({})
    last = load({"after": last_cursor})
    first_p50 = statistics.median(first)
    first_p95 = percentile(first, 95)
    print(f"task page, 10,000-span trace, first page: p50 {first_p50:.1f} ms, p95 {first_p95:.1f} ms")
    print(
        f"task page, 10,000-span trace, last page: p50 {statistics.median(last):.1f} ms, "
        f"p95 {percentile(last, 95):.1f} ms"
    )
    print(
        json.dumps(
            {
                "spans_per_s": round(per_step),
                "model_span_input_kb": round(model_input_bytes / 1000, 1),
                "spans_per_s_with_own_commit": round(per_step_committed),
                "spans_per_s_500_per_flush": round(bulk),
                "trace_page_10k_ms": round(first_p50, 1),
                "trace_page_10k_last_page_ms": round(statistics.median(last), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
