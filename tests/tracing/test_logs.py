"""JSON logs: one object a line, with the task and session ids on every line a task's run logs."""

import json
import logging
import sys
import time

import pytest

from agents.models import ModelPrice, Task
from agents.runtime import loop
from agents.services.tasks import task_submit
from agents.tasks import run_task
from tests.factories import make_agent
from tests.support.processes import running_worker
from tracing.logs import ContextFilter, JsonFormatter, log_context, log_context_bind_session


def _line(message: str, *args, exc_info=None) -> dict:
    record = logging.LogRecord("tollgate.test", logging.WARNING, __file__, 1, message, args, exc_info)
    ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_lines_inside_a_task_context_carry_its_ids_and_lines_outside_do_not():
    with log_context(task_id="t-1"):
        before = _line("claimed")
        log_context_bind_session(session_id="s-1")
        after = _line("step %s done", 3)
    outside = _line("idle")

    assert (before["task_id"], before["session_id"]) == ("t-1", "")
    assert (after["task_id"], after["session_id"], after["message"]) == ("t-1", "s-1", "step 3 done")
    assert (after["level"], after["logger"]) == ("WARNING", "tollgate.test")
    assert (outside["task_id"], outside["session_id"]) == ("", "")


def test_exceptions_stay_inside_their_one_json_line():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        line = JsonFormatter().format(
            logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
        )

    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


@pytest.mark.django_db(transaction=True)
def test_what_a_run_logs_carries_its_task_and_session_ids(requester, use_simulator, monkeypatch):
    make_agent("echoer", model="sim/echo")
    task, _ = task_submit(owner=requester, agent_name="echoer", input="hi")
    seen: list[tuple[str, str]] = []
    step_run = loop.step_run

    def logging_step_run(*args, **kwargs):
        logging.getLogger("agents.runtime.step").warning("running a step")
        return step_run(*args, **kwargs)

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.task_id, record.session_id))

    monkeypatch.setattr(loop, "step_run", logging_step_run)
    handler = Capture()
    handler.addFilter(ContextFilter())
    logging.getLogger("agents").addHandler(handler)
    try:
        run_task(str(task.id))
        logging.getLogger("agents.runtime").warning("after the run")
    finally:
        logging.getLogger("agents").removeHandler(handler)

    assert Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED
    assert seen == [(str(task.id), str(task.session_id)), ("", "")]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_json_lines_with_the_task_and_session_ids(tmp_path, requester, use_simulator):
    make_agent("unpriced", model="sim/echo")
    # With no price for the model, the worker's run stops and logs why: a line from inside the run.
    ModelPrice.objects.all().delete()
    with running_worker(tmp_path, SIMULATOR_URL=use_simulator, LOG_FORMAT="json") as worker:
        task, _ = task_submit(owner=requester, agent_name="unpriced", input="hi")
        deadline = time.monotonic() + 30
        while not Task.objects.get(pk=task.pk).is_final:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        output = worker.output()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line["task_id"] == str(task.id)]
    assert any("has no price" in line["message"] for line in mine), output[-3000:]
    assert all(line["session_id"] == str(task.session_id) for line in mine if "no price" in line["message"])
