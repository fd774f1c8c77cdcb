"""The guardrail pipeline's cost per model call, against a bare call to the same model.

In one process and one run: a bare call to the simulator (0 ms latency) through the provider,
and the guard work around one model call and one tool call: the whole MODEL_CALL_GUARDS
pipeline (budgets, loop guards, routing, the cost reservation in Redis), the context check
(token count against the budget), the provider rate
limit, the settle of the real cost (Redis and the Postgres ledger), the tool's breaker and
rate limit, and the spans they add. `budget_check` is the reservation script alone.

The task has a previous output at every iteration (an assistant message with a tool call and
its result, different each time, as a running task has), so the loop guard does its real work:
it embeds that output (the configured embedder, wordllama by default) and stores it and reads
the session's latest outputs back in one pgvector statement. The bench checks that one
embedding row was written per measured call. The last line is JSON.
"""

import json
import os
import time
import uuid
from dataclasses import replace
from decimal import Decimal

from harness import percentile, setup_django, simulator

ITERATIONS = 2000
WARMUP = 100


def main() -> None:
    os.environ["GUARD_KEY_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}:"
    setup_django("tollgate_bench")
    from django.conf import settings
    from django.contrib.auth.models import User

    from agents.guards.breakers import breaker_admit, breaker_record, tool_limits
    from agents.guards.context import context_fit
    from agents.guards.decision import Verdict
    from agents.guards.pipeline import guards_before_model_call
    from agents.guards.plan import step_plan
    from agents.guards.ratelimits import provider_rate_wait
    from agents.guards.spend import cost_reserve, cost_settle, plan_settle, plan_spent, spend_reservation_for
    from agents.guards.store import guard_key, guard_redis
    from agents.models import Agent, AgentVersion, OutputEmbedding, Tool
    from agents.providers.base import ChatRequest
    from agents.providers.registry import provider_for
    from agents.runtime import messages as conversation
    from agents.runtime.loop import _load
    from agents.services.tasks import task_submit
    from core import clock
    from tracing.recorder import SpanBuffer

    owner, _ = User.objects.get_or_create(username="bench")
    tool, _ = Tool.objects.get_or_create(name="bench_guard_tool", defaults={"url": "http://127.0.0.1:9/"})
    agent, _ = Agent.objects.get_or_create(name="bench-guards")
    version = AgentVersion.objects.create(
        agent=agent,
        number=agent.versions.count() + 1,
        model="sim/echo",
        max_cost_usd=Decimal(1000),
        # Thousands of steps of one task: no budget may stop the pipeline before the loop guard.
        max_iterations=100_000,
        max_seconds=86_400,
    )
    version.tools.set([tool])
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    task, _ = task_submit(owner=owner, agent_name=agent.name, input="bench the guards")
    task.messages = conversation.initial_messages(task).own  # a new session: no history
    task.save(update_fields=["messages"])
    state = _load(task.id)
    # Its rate window lifted, as the step's was before: the bench makes thousands of calls a minute.
    limits = replace(tool_limits(tool=tool), requests_per_minute=10**9)
    opening = list(state.task.messages)

    def give_previous_output(i: int) -> None:
        """Step i of a running task: the model's last output (a tool call) and its result."""
        state.task.step_index = i + 1
        state.task.messages = [
            *opening,
            {
                "role": "assistant",
                "content": f"Looking up order A-{1000 + i} before deciding on the refund.",
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {
                            "name": tool.name,
                            "arguments": json.dumps({"order_id": f"A-{1000 + i}"}),
                        },
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": f"call_{i}",
                "content": json.dumps({"status": "success", "data": {"order": f"A-{1000 + i}", "total": i}}),
            },
        ]

    with simulator() as sim_url:
        settings.SIMULATOR_URL = sim_url
        provider, provider_model = provider_for("sim/echo")
        request = ChatRequest(
            model=provider_model,
            messages=conversation.with_system_prompt(version.system_prompt, state.task.messages),
            max_tokens=256,
        )
        from agents.guards import pipeline

        parts: dict[str, list[float]] = {g.__name__: [] for g in pipeline.MODEL_CALL_GUARDS}
        for i in range(300):
            give_previous_output(i)
            pipeline.step_plan_start(state)
            for guard in pipeline.MODEL_CALL_GUARDS:
                started = time.perf_counter()
                guard(state)
                parts[guard.__name__].append((time.perf_counter() - started) * 1000)
            plan = step_plan(state)
            if plan is not None and plan.reservation is not None:
                started = time.perf_counter()
                plan_spent(state, cost=Decimal("0.000012"), at=clock.now())
                plan_settle(state)
                parts.setdefault("settle", []).append((time.perf_counter() - started) * 1000)
        for name, values in parts.items():
            print(f"  {name}: p50 {percentile(values, 50):.3f} ms, p95 {percentile(values, 95):.3f} ms")
        bare, guarded, budget = [], [], []
        embedded_before = OutputEmbedding.objects.filter(task_id=task.id).count()
        for i in range(WARMUP + ITERATIONS):
            give_previous_output(300 + i)
            started = time.perf_counter()
            provider.complete(request)
            bare_ms = (time.perf_counter() - started) * 1000

            spans = SpanBuffer(trace_pk=state.trace_pk, parent_span_id="bench")
            started = time.perf_counter()
            decision = guards_before_model_call(state, spans)
            context_fit(state, spans)
            provider_rate_wait(provider=provider.name)
            plan_spent(state, cost=Decimal("0.000012"), at=clock.now())
            plan_settle(state)
            admitted = breaker_admit(tool=tool, limits=limits, take_rate=True).admitted
            breaker_record(tool=tool, limits=limits, failed=False)
            guard_ms = (time.perf_counter() - started) * 1000
            assert admitted
            assert decision.verdict is Verdict.ALLOW, decision  # every guard ran

            reservation = spend_reservation_for(state, model="sim/echo", amount=Decimal("0.0002"))
            started = time.perf_counter()
            code = cost_reserve(reservation, now=clock.now())[0]
            budget_ms = (time.perf_counter() - started) * 1000
            assert code == 1, code
            cost_settle(reservation, cost=Decimal(0), at=clock.now())
            if i >= WARMUP:
                bare.append(bare_ms)
                guarded.append(guard_ms)
                budget.append(budget_ms)

    embedded = OutputEmbedding.objects.filter(task_id=task.id).count() - embedded_before
    # The loop guard really ran: it embedded and stored the previous output of every call.
    assert embedded == WARMUP + ITERATIONS, embedded
    print(f"loop guard: {embedded} outputs embedded and stored (one per call)")
    client = guard_redis()
    keys = list(client.scan_iter(match=guard_key("*"), count=1000))
    if keys:
        client.delete(*keys)
    result = {
        "bare_call_p50_ms": round(percentile(bare, 50), 3),
        "bare_call_p95_ms": round(percentile(bare, 95), 3),
        "guard_p50_ms": round(percentile(guarded, 50), 3),
        "guard_p95_ms": round(percentile(guarded, 95), 3),
        "budget_check_p50_ms": round(percentile(budget, 50), 3),
        "budget_check_p95_ms": round(percentile(budget, 95), 3),
    }
    print(f"iterations: {ITERATIONS} (after {WARMUP} warm-up)")
    for label, key in (
        ("bare model call (simulator, 0 ms)", "bare_call"),
        ("guard pipeline per model call", "guard"),
        ("budget check (reserve script)", "budget_check"),
    ):
        print(f"{label:36} p50 {result[key + '_p50_ms']} ms, p95 {result[key + '_p95_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
