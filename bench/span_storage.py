"""Storage of a 200-step session's conversation: model spans and task checkpoints.

One session of 4 tasks of 50 steps each (49 tool calls and a final answer; every tool result
about 1,500 characters, like a looked-up record), run in-process through the real runtime
against the simulator, with context control's budget out of the way so that nothing is
summarised (the last step's prompt is about 380,000 characters, some 95k tokens).

- after: what is stored now: each model span's input (its step's new messages and a
  reference to the span it continues: the previous step's, or the earlier task's last) and
  each task's own messages (the session's earlier conversation referred to, not copied).
- before: what the code stored until this change, rebuilt exactly from the same run: each
  model span's whole prompt (reassembled, as the trace page shows it) and each task's whole
  conversation (the earlier tasks' copied in), written to a table of the same jsonb columns,
  so both sides are measured by PostgreSQL after the same TOAST compression.

The last line is JSON with `bytes_before` and `bytes_after` (spans' inputs plus tasks'
messages) and each part.
"""

import json
import random
import time
from typing import Any

from harness import setup_django, simulator

TASKS = 4
STEPS_PER_TASK = 50
RESULT_CHARS = 1_500
WORDS = [
    "order",
    "parcel",
    "refund",
    "courier",
    "street",
    "damaged",
    "delivered",
    "invoice",
    "customer",
    "box",
    "late",
    "item",
]


def main() -> None:
    setup_django("tollgate_bench_spans")
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection

    from agents.guards.models import GuardConfig
    from agents.models import Agent, AgentVersion, Task, Tool
    from agents.runtime.loop import task_steps_run
    from agents.runtime.messages import task_conversation
    from agents.services.tasks import task_submit
    from agents.tools.python import python_tool, python_tools_sync
    from tracing.models import Span
    from tracing.prompts import PromptAssembler

    @python_tool(
        name="bench_lookup",
        description="Look a record up (span storage benchmark).",
        parameters={"type": "object", "properties": {"i": {"type": "integer"}}},
    )
    def bench_lookup(args: dict[str, Any], *, idempotency_key: str) -> dict[str, str]:
        # Text that compresses like prose (words drawn at random), not like a repeated line.
        i = args.get("i", 0)
        draw = random.Random(i)
        notes = " ".join(draw.choice(WORDS) + str(draw.randrange(100)) for _ in range(RESULT_CHARS // 7))
        return {"order": f"A-{i}", "notes": notes[:RESULT_CHARS]}

    python_tools_sync()
    owner, _ = User.objects.get_or_create(username="bench-spans")
    name = f"bench-spans-{int(time.time())}"
    agent = Agent.objects.create(name=name)
    version = AgentVersion.objects.create(
        agent=agent,
        number=1,
        model=f"sim/chain?calls={STEPS_PER_TASK - 1}&tool=bench_lookup",
        system_prompt="You look records up for the support team. Be brief.",
        max_tokens=50_000_000,
        max_cost_usd=1000,
        max_tool_calls=STEPS_PER_TASK,
        max_iterations=STEPS_PER_TASK + 5,
        max_seconds=3600,
        # A chain of lookups is what the loop guard looks for; here it is the workload.
        loop_threshold=1.0,
        loop_window=1000,
    )
    version.tools.set(Tool.objects.filter(name="bench_lookup"))
    agent.current_version = version
    agent.save()
    GuardConfig.objects.create(
        agent=agent, context_max_tokens=10_000_000, session_max_tokens=50_000_000, user_day_usd=1000
    )

    tasks: list[Task] = []
    started = time.perf_counter()
    with simulator() as url:
        settings.SIMULATOR_URL = url  # read by the provider registry at each call
        session_id = None
        for n in range(TASKS):
            task, _ = task_submit(
                owner=owner, agent_name=name, input=f"Look up batch {n}.", session_id=session_id
            )
            session_id = task.session_id
            task_steps_run(task_id=task.id, max_steps=STEPS_PER_TASK + 5, max_seconds=600)
            task.refresh_from_db()
            assert task.status == Task.Status.SUCCEEDED, (task.status, task.stop_reason, task.stop_detail)
            tasks.append(task)
    run_s = time.perf_counter() - started
    steps = sum(task.step_index for task in tasks)

    model_spans = list(
        Span.objects.filter(trace__task__in=tasks, kind=Span.Kind.MODEL).order_by(
            "trace_id", "started_at", "id"
        )
    )
    full_prompts = []
    for trace_id in dict.fromkeys(span.trace_id for span in model_spans):
        assembler = PromptAssembler()
        full_prompts += [assembler.prompt(span) for span in model_spans if span.trace_id == trace_id]
    conversations = [task_conversation(task) for task in tasks]
    # The reassembly is exact: the last step's prompt is the conversation before its reply.
    last = conversations[-1]
    assert full_prompts[-1] == [{"role": "system", "content": version.system_prompt}, *last[:-1]]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_column_size(input)), 0) FROM tracing_span WHERE id = ANY(%s)",
            [[span.pk for span in model_spans]],
        )
        spans_after = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT coalesce(sum(pg_column_size(messages)), 0) FROM agents_task WHERE id = ANY(%s)",
            [[task.pk for task in tasks]],
        )
        tasks_after = int(cursor.fetchone()[0])
        cursor.execute("CREATE TEMP TABLE stored_before (kind text, value jsonb)")
        cursor.executemany(
            "INSERT INTO stored_before VALUES (%s, %s::jsonb)",
            [("span", json.dumps(prompt)) for prompt in full_prompts]
            + [("task", json.dumps(messages)) for messages in conversations],
        )
        cursor.execute("SELECT kind, sum(pg_column_size(value)) FROM stored_before GROUP BY kind")
        before = {kind: int(size) for kind, size in cursor.fetchall()}
        cursor.execute("DROP TABLE stored_before")

    result = {
        "steps": steps,
        "tasks": len(tasks),
        "model_spans": len(model_spans),
        "last_prompt_chars": len(json.dumps(full_prompts[-1])),
        "span_input_bytes_before": before["span"],
        "span_input_bytes_after": spans_after,
        "task_messages_bytes_before": before["task"],
        "task_messages_bytes_after": tasks_after,
        "bytes_before": before["span"] + before["task"],
        "bytes_after": spans_after + tasks_after,
    }
    result["ratio"] = round(result["bytes_before"] / max(result["bytes_after"], 1), 1)
    print(f"{steps} steps in {len(tasks)} tasks of one session, run in {run_s:.1f} s")
    print(f"model span inputs: {before['span']:,} bytes before, {spans_after:,} after")
    print(f"task messages:     {before['task']:,} bytes before, {tasks_after:,} after")
    print(
        f"total:             {result['bytes_before']:,} bytes before, {result['bytes_after']:,} after "
        f"({result['ratio']}x less)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
