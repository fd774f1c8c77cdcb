"""What one agent step costs, counted in-process: CPU, SQL statements, Redis round trips.

Runs tasks of the concurrency benchmark's shape (4 calls of `echo`, then an answer) against the
simulator at 0 ms latency, each run in this process by the runtime itself (no Celery), one
after another, and counts per step:
- cpu_ms_per_step: this process's CPU time (user + system) over the runs;
- pg_cpu_ms_per_step: the CPU time of the PostgreSQL server's processes over the same runs
  (only with the embedded PostgreSQL, whose processes are this machine's);
- sql_per_step: statements sent (CaptureQueriesContext), with the most frequent listed;
- redis_per_step: round trips to Redis (commands, or pipelines counted once), by command.

`--profile` also prints the top of a cProfile of the runs (the thread's CPU time, by
cumulative). The last line is JSON. Not a timed test: the numbers are for finding where a step's CPU goes.
"""

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import re
import time

from harness import echo_chain_agent, postgres_cpu_s, setup_django, simulator

STEPS = 5  # 4 tool calls, then the answer
DEFAULT_TASKS = 60


class RedisCounter:
    """Counts round trips to Redis from this process (sync and asyncio clients)."""

    def __init__(self) -> None:
        self.commands: collections.Counter[str] = collections.Counter()
        self.round_trips = 0

    def install(self) -> None:
        import redis.asyncio.client
        import redis.asyncio.connection
        import redis.client
        import redis.connection

        counter = self

        def counted(original, name_of):  # type: ignore[no-untyped-def]
            def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                counter.commands[name_of(args)] += 1
                return original(self, *args, **kwargs)

            return wrapper

        def acounted(original, name_of):  # type: ignore[no-untyped-def]
            async def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                counter.commands[name_of(args)] += 1
                return await original(self, *args, **kwargs)

            return wrapper

        def trips(original):  # type: ignore[no-untyped-def]
            def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                counter.round_trips += 1
                return original(self, *args, **kwargs)

            return wrapper

        def atrips(original):  # type: ignore[no-untyped-def]
            async def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                counter.round_trips += 1
                return await original(self, *args, **kwargs)

            return wrapper

        def command(args: tuple) -> str:
            return str(args[0]) if args else "?"

        redis.client.Redis.execute_command = counted(redis.client.Redis.execute_command, command)
        redis.connection.AbstractConnection.send_packed_command = trips(
            redis.connection.AbstractConnection.send_packed_command
        )
        redis.asyncio.client.Redis.execute_command = acounted(
            redis.asyncio.client.Redis.execute_command, lambda args: "async " + command(args)
        )
        redis.asyncio.client.Pipeline.execute = acounted(
            redis.asyncio.client.Pipeline.execute, lambda args: "async pipeline"
        )
        redis.asyncio.connection.AbstractConnection.send_packed_command = atrips(
            redis.asyncio.connection.AbstractConnection.send_packed_command
        )

    def reset(self) -> None:
        self.commands.clear()
        self.round_trips = 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--dump", help="also write the cProfile stats to this file (pstats format)")
    options = parser.parse_args()

    os.environ["GUARD_PROVIDER_RPM"] = os.environ["GUARD_TOOL_RPM"] = "1000000"
    setup_django("tollgate_step_profile")
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agents.models import Task
    from agents.runtime.loop import RunOutcome, task_steps_run
    from agents.services.tasks import task_submit

    owner, _ = User.objects.get_or_create(username="bench")
    agent = echo_chain_agent("bench-step-profile", steps=STEPS)

    def submitted(count: int) -> list:
        # Each in its own session, as in bench/concurrency.py.
        return [task_submit(owner=owner, agent_name=agent.name, input=f"t{i}")[0].id for i in range(count)]

    def run_all(ids: list) -> None:
        for task_id in ids:
            outcome = task_steps_run(task_id=task_id, max_steps=8, max_seconds=60)
            if outcome is not RunOutcome.FINISHED:
                raise RuntimeError(f"task {task_id}: {outcome}")

    redis_counter = RedisCounter()
    with simulator() as sim_url:
        settings.SIMULATOR_URL = sim_url  # read at each call; the worker subprocess inherits it
        run_all(submitted(3))  # warm up: imports, connections, the price table, the embedding model
        ids = submitted(options.tasks)
        redis_counter.install()
        # CPU time of this thread, not wall time: on a shared machine waiting would swamp it.
        profiler = cProfile.Profile(time.thread_time) if options.profile else None
        pg_before = postgres_cpu_s()
        with CaptureQueriesContext(connection) as queries:
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            run_all(ids)
            if profiler:
                profiler.disable()
            cpu = time.process_time() - cpu_before
            wall = time.perf_counter() - wall_before
        pg_after = postgres_cpu_s()
        statuses = collections.Counter(Task.objects.filter(pk__in=ids).values_list("status", flat=True))
    if statuses != {"succeeded": len(ids)}:
        raise RuntimeError(f"not every task succeeded: {dict(statuses)}")

    steps = len(ids) * STEPS
    shapes: collections.Counter[str] = collections.Counter(
        _shape(query["sql"]) for query in queries.captured_queries
    )
    print(f"{len(ids)} tasks x {STEPS} steps, run one after another in this process")
    print(f"  CPU {cpu / steps * 1000:.2f} ms a step; wall {wall / steps * 1000:.2f} ms a step")
    if pg_before is not None and pg_after is not None:
        print(f"  PostgreSQL CPU {(pg_after - pg_before) / steps * 1000:.2f} ms a step")
    print(f"  SQL statements {len(queries) / steps:.2f} a step:")
    for shape, count in shapes.most_common(25):
        print(f"    {count / steps:6.2f}  {shape}")
    print(f"  Redis round trips {redis_counter.round_trips / steps:.2f} a step:")
    for name, count in redis_counter.commands.most_common(15):
        print(f"    {count / steps:6.2f}  {name}")
    if profiler and options.dump:
        profiler.dump_stats(options.dump)
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(options.sort).print_stats(options.top)
        print(out.getvalue())
    print(
        json.dumps(
            {
                "steps": steps,
                "cpu_ms_per_step": round(cpu / steps * 1000, 2),
                "wall_ms_per_step": round(wall / steps * 1000, 2),
                "pg_cpu_ms_per_step": (
                    round((pg_after - pg_before) / steps * 1000, 2)
                    if pg_before is not None and pg_after is not None
                    else None
                ),
                "sql_per_step": round(len(queries) / steps, 2),
                "redis_per_step": round(redis_counter.round_trips / steps, 2),
            }
        )
    )


def _shape(sql: str) -> str:
    """A statement without its values, cut short: what kind of statement it was."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    return sql[:150]


if __name__ == "__main__":
    main()
