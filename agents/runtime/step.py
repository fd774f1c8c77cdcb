"""One step: a model call (or its stored reply, on redelivery) and the tool calls it asked for."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings

from agents.guards.context import context_fit
from agents.guards.plan import step_plan
from agents.guards.ratelimits import provider_rate_wait
from agents.guards.retries import tool_call_guarded
from agents.guards.routing import route_attributes
from agents.guards.spend import plan_settle, plan_settle_recorded, plan_spend_insert, plan_spent
from agents.models import Step, Tool
from agents.providers.base import ChatProvider, ChatRequest, ChatResponse, ProviderError, ToolCall
from agents.providers.pricing import model_cost
from agents.providers.registry import provider_for
from agents.runtime import messages as conversation
from agents.runtime.gate import GateAnswer, tool_gate, verdict_attributes
from agents.runtime.inspect import Inspection, tool_result_inspector
from agents.runtime.serialize import response_from_json, response_to_json
from agents.runtime.state import RunState
from agents.runtime.waiting import waiting
from agents.tools.at_most_once import (
    DispatchFound,
    dispatch_answer,
    dispatch_find,
    dispatch_outcome_unknown,
    dispatch_send,
    tool_call_at_most_once,
)
from agents.tools.executor import tool_call_execute, tool_call_idempotency_key, tool_unknown_result
from agents.tools.http import http_tool_request
from agents.tools.result import ToolResult
from core import clock
from core.raw_rows import prepared_cursor, row_insert, row_inserted
from tracing.models import Span
from tracing.prompts import prompt_delta
from tracing.recorder import COST_ATTRIBUTE, TOOL_DECLINED, TOOL_STATUS_ATTRIBUTE, SpanBuffer, model_span_id

logger = logging.getLogger(__name__)

# Attempts at a model call that failed transiently, before the task fails.
MODEL_ATTEMPTS = 3


@dataclass
class StepOutcome:
    step: Step
    response: ChatResponse
    new_messages: list[dict[str, Any]]
    tool_results: list[ToolResult]
    cost: Decimal


class ModelCallFailed(Exception):
    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error
        # What the step spent before its call failed (a context summary): still the task's cost.
        self.spent = Decimal(0)


def step_run(state: RunState, spans: SpanBuffer, *, model: str, stored: Step | None) -> StepOutcome:
    """Run the task's next step with `model` (the agent's, or its fallback after a downgrade).

    `stored`: the step's stored reply, when a delivery that died started it (only a run's
    first step can have one; the run's load read it). It is reused, so the same tool calls
    go out with the same idempotency keys and the model is not asked (and paid) twice.
    """
    index = state.task.step_index
    step = stored
    replayed = step is not None
    if step is None:
        step = _model_step(state, spans, index, model)
    else:
        plan_settle(state)  # no new call: its cost reservation goes back at once
        if _model_span_written(state, index):
            # Written when a held call parked the task: this run follows the people's decision.
            logger.info("step %s of task %s resumed after a decision on its held call", index, state.task.id)
        else:
            logger.info(
                "step %s of task %s redelivered: reusing the stored model reply", index, state.task.id
            )
            # The first delivery's spans were never written (they go with the checkpoint), its
            # summary span included: this span carries the step's whole cost, once. Its prompt is
            # the checkpointed conversation, as context control left it for the first delivery.
            messages = state.task.messages
            prompt = conversation.with_system_prompt(state.version.system_prompt, messages)
            _add_model_span(
                state,
                spans,
                step,
                response_from_json(step.response),
                cost=step.cost_usd,
                prompt=_prompt_stored(
                    state, prompt, kept=conversation.previous_prompt_kept(messages, messages)
                ),
            )
    response = response_from_json(step.response)
    inspected = [
        _tool_call(state, spans, index, call_index, call, replayed=replayed)
        for call_index, call in enumerate(response.tool_calls)
    ]
    results = [inspection.result for inspection in inspected]
    # An inspector's own model calls (a quarantine summary) are part of the step's cost.
    step.cost_usd += sum((inspection.cost for inspection in inspected), Decimal(0))
    new_messages = [conversation.assistant_message(response)]
    new_messages += [
        conversation.tool_message(call.id, result)
        for call, result in zip(response.tool_calls, results, strict=True)
    ]
    return StepOutcome(
        step=step, response=response, new_messages=new_messages, tool_results=results, cost=step.cost_usd
    )


def _model_step(state: RunState, spans: SpanBuffer, index: int, model: str) -> Step:
    task = state.task
    playback = state.playback
    before = task.messages
    # Context control may shorten task.messages to the context budget with a summary: a metered
    # call, so not for a recorded reply, which no model reads (playback makes no model call).
    summary_cost = Decimal(0) if playback.recorded_model else context_fit(state, spans)
    kept = conversation.previous_prompt_kept(before, task.messages)
    started = clock.now()
    if playback.recorded_model:
        # A recorded reply: no call is made, so nothing is paid (its token counts are kept,
        # so the token guards decide as they did); PlaybackExhausted past the recording.
        request = _chat_request(state, model)
        response = playback.reply(index)
        call_cost = Decimal(0)
    else:
        provider, provider_model = provider_for(model)
        request = _chat_request(state, provider_model)
        try:
            response = _complete_with_retries(provider, request, spans=spans, index=index, state=state)
        except ModelCallFailed as failure:
            plan_settle(state)
            failure.spent = summary_cost
            raise
        call_cost = model_cost(model=model, usage=response.usage, at=started)
    step = Step(
        task_id=task.id,
        index=index,
        model=model,
        response=response_to_json(response),
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        cached_input_tokens=response.usage.cached_input_tokens,
        # The step's whole spend: its call and the context summary made for it (the summary
        # was settled by context_fit). Each span carries only its own call's cost, so the
        # spans of a task add up to its cost exactly, each call counted once.
        cost_usd=call_cost + summary_cost,
        model_latency_ms=response.latency_ms,
        started_at=started,
    )
    # The call was made and billed. Its ledger row is written with the step (here with the
    # stored reply, or with the checkpoint of a last step), and Redis settled after that
    # commits; a run that leaves before then settles it on its way out (plan_settle).
    plan_spent(state, cost=call_cost, at=started)
    if response.tool_calls:
        # Stored before any tool runs: a redelivered step then replays these exact calls
        # with the same idempotency keys instead of asking the model again.
        stored = _step_store(state, step)
        plan_settle_recorded(state)  # the call's ledger row went in with it, stored or not
        if not stored:
            # A duplicate delivery stored its reply first: follow it. This call was billed too.
            logger.warning("step %s of task %s: a duplicate delivery stored its reply first", index, task.id)
            spans.spans.clear()
            step = Step.objects.get(task_id=task.id, index=index)
            response = response_from_json(step.response)
            call_cost = step.cost_usd
    prompt = _prompt_stored(state, request.messages, kept=kept)
    recorded = playback.recorded_model
    _add_model_span(
        state, spans, step, response, cost=call_cost, prompt=prompt, routed=True, recorded=recorded
    )
    return step


def _step_store(state: RunState, step: Step) -> bool:
    """Store a step's reply and its model call's ledger row in one statement: atomic on its
    own, so it pays no BEGIN and COMMIT round trips. False: a duplicate delivery stored the
    step first (the ledger row is written all the same: this call was billed too).

    Prepared (planned once per connection, its values bound rather than quoted into the text):
    a taken (task, index) touches nothing instead of failing, and a prepared statement must
    not fail (core/raw_rows.py prepared_cursor)."""
    sql, params = row_insert(step, on_conflict=_STEP_ONCE)
    spend = plan_spend_insert(state)
    if spend is not None:
        sql, params = f"WITH spend AS ({spend[0]}) {sql}", [*spend[1], *params]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    row_inserted(step, row)
    return True


_STEP_ONCE = "ON CONFLICT (task_id, index) DO NOTHING"


def _chat_request(state: RunState, provider_model: str) -> ChatRequest:
    return ChatRequest(
        model=provider_model,
        messages=conversation.with_system_prompt(state.version.system_prompt, state.task.messages),
        tools=state.tool_specs,
        max_tokens=settings.MAX_OUTPUT_TOKENS,
    )


def _model_span_written(state: RunState, index: int) -> bool:
    return Span.objects.filter(
        trace_id=state.trace_pk, step_index=index, kind=Span.Kind.MODEL, status=Span.Status.OK
    ).exists()


def _prompt_stored(state: RunState, prompt: list[dict[str, Any]], *, kept: int) -> Any:
    """The span's copy of the prompt: its new messages and a reference to the previous step's
    span for the `kept` messages before them (tracing/prompts.py)."""
    index = state.task.step_index
    system = conversation.system_messages(state.version.system_prompt)
    if index == 0 and state.continues is not None:
        # A session's next task continues the earlier task's last prompt, in that task's trace.
        # (Fewer, if context control rewrote the earlier part first.)
        trace_id, span_id, messages = state.continues
        kept = min(messages, system + kept)
        return prompt_delta(prompt=prompt, previous_span_id=span_id, kept=kept, trace_id=trace_id)
    if index == 0 or kept == 0:
        return prompt
    return prompt_delta(
        prompt=prompt, previous_span_id=model_span_id(state.trace_id, index - 1), kept=system + kept
    )


def _add_model_span(
    state: RunState,
    spans: SpanBuffer,
    step: Step,
    response: ChatResponse,
    *,
    cost: Decimal,
    prompt: Any,
    routed: bool = False,
    recorded: bool = False,
) -> None:
    started: datetime = step.started_at
    request_model = step.model.partition("/")[2]
    spans.add(
        name=f"chat {request_model}",
        kind="model",
        span_id=model_span_id(state.trace_id, step.index),
        step_index=step.index,
        started_at=started,
        ended_at=started + timedelta(milliseconds=response.latency_ms),
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": response.provider,
            "gen_ai.request.model": request_model,
            "gen_ai.response.model": response.model,
            "gen_ai.response.id": response.response_id,
            "gen_ai.response.finish_reasons": [response.finish_reason],
            "gen_ai.usage.input_tokens": response.usage.input_tokens,
            "gen_ai.usage.output_tokens": response.usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": response.usage.cached_input_tokens,
            "gen_ai.usage.cache_creation.input_tokens": response.usage.cache_write_tokens,
            "gen_ai.conversation.id": str(state.task.session_id),
            COST_ATTRIBUTE: str(cost),
            **(route_attributes(state) if routed else {}),
            # Served from a recording (a replay, an undo): no call was made.
            **({"tollgate.playback": "recorded"} if recorded else {}),
        },
        input=prompt,
        output=conversation.assistant_message(response),
    )


def _complete_with_retries(
    provider: ChatProvider, request: ChatRequest, *, spans: SpanBuffer, index: int, state: RunState
) -> ChatResponse:
    plan = step_plan(state)
    for attempt in range(1, MODEL_ATTEMPTS + 1):
        started = clock.now()
        # The first attempt's request was taken with the cost reservation, for this provider.
        taken = plan.provider_rate if plan is not None else None
        if plan is not None:
            plan.provider_rate = None
        first_wait_s = taken[1] if taken is not None and taken[0] == provider.name else None
        try:
            with waiting(state):
                provider_rate_wait(provider=provider.name, first_wait_s=first_wait_s)
                return provider.complete(request)
        except ProviderError as error:
            spans.add(
                name=f"chat {request.model}",
                kind="model",
                step_index=index,
                started_at=started,
                ended_at=clock.now(),
                error=True,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider.name,
                    "gen_ai.request.model": request.model,
                    "gen_ai.conversation.id": str(state.task.session_id),
                    "error.type": error.kind,
                    "http.response.status_code": error.status,
                    "tollgate.attempt": attempt,
                },
                output={"error": str(error)},
            )
            if error.kind == "permanent" or attempt == MODEL_ATTEMPTS:
                raise ModelCallFailed(error) from error
            with waiting(state):
                time.sleep(min(error.retry_after_s or 0.2 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


def _tool_call(
    state: RunState, spans: SpanBuffer, index: int, call_index: int, call: ToolCall, *, replayed: bool
) -> Inspection:
    started = clock.now()
    tool = state.tools.get(call.name)
    inspection = None
    declined = ""
    verdict: dict[str, Any] | None = None
    if tool is None:
        result = tool_unknown_result(name=call.name, available=sorted(state.tools))
    else:
        # The gate first (the risk policy, when approvals is installed): a held call raises
        # ToolCallHeld; a decided one is answered (rejected, critical) or runs with the
        # arguments and idempotency key its decision fixed.
        gate = tool_gate()
        answer = gate.check(
            task=state.task,
            agent_name=state.version.agent.name,
            tool=tool,
            step_index=index,
            call_index=call_index,
            call=call,
            may_be_known=replayed,
        )
        verdict = answer.verdict
        if answer.waited is not None:
            _add_wait_span(spans, index, call, waited=answer.waited, decision=answer.declined or "approved")
        if answer.result is not None:
            result, declined = answer.result, answer.declined
        else:
            result = _tool_call_run(state, spans, index, call_index, call, tool, answer, replayed=replayed)
        # What the model may see of the result (agents/runtime/inspect.py); the span keeps it raw.
        inspection = tool_result_inspector().inspect(
            state=state,
            spans=spans,
            tool=tool,
            call=call,
            step_index=index,
            call_index=call_index,
            result=result,
        )
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.id,
        "gen_ai.conversation.id": str(state.task.session_id),
        TOOL_STATUS_ATTRIBUTE: result.status,
    }
    if declined:
        # People decided it does not run: the model is told (an error result), but the tool
        # did not fail, so neither the span nor the error-rate alert counts it as an error.
        attributes[TOOL_STATUS_ATTRIBUTE] = TOOL_DECLINED
        attributes["tollgate.approval.decision"] = declined
    elif result.error_type:
        attributes["error.type"] = result.error_type
    if inspection is not None:
        attributes.update(inspection.span_attributes)
    attributes.update(verdict_attributes(verdict))
    spans.add(
        name=f"execute_tool {call.name}",
        kind="tool",
        step_index=index,
        started_at=started,
        ended_at=clock.now(),
        error=result.status == "error" and not declined,
        attributes=attributes,
        input=call.arguments if call.arguments is not None else call.raw_arguments,
        output=result.as_dict(),
    )
    return inspection or Inspection(result=result)


def _tool_call_run(
    state: RunState,
    spans: SpanBuffer,
    index: int,
    call_index: int,
    call: ToolCall,
    tool: Tool,
    answer: GateAnswer,
    *,
    replayed: bool,
) -> ToolResult:
    """Run a call the gate let through (with the arguments and key its decision fixed), once
    if the tool may not see it twice; the gate records the outcome."""
    gate = tool_gate()
    arguments = answer.arguments if answer.arguments is not None else call.arguments
    playback = state.playback
    if playback.serves(tool.name):
        # Answered from the recording: the tool is never run.
        recorded = playback.tool_result(step=index, call=call_index, tool_name=call.name, arguments=arguments)
        return gate.record(answer=answer, result=recorded)
    idempotency_key = answer.idempotency_key or tool_call_idempotency_key(
        task_id=state.task.id, step_index=index, call_index=call_index
    )
    call_args = {
        "tool": tool,
        "arguments": arguments,
        "raw_arguments": call.raw_arguments,
        "idempotency_key": idempotency_key,
    }
    once = tool_call_at_most_once(tool)
    try:
        if once and replayed:
            # Only a replayed step can have sent its calls before.
            found = dispatch_find(task_id=state.task.id, step_index=index, call_index=call_index)
            if found is not None:
                raise DispatchFound(found)
        if once:
            request = http_tool_request(
                tool=tool,
                arguments=arguments if arguments is not None else {"raw": call.raw_arguments},
                idempotency_key=idempotency_key,
            )
            execute = partial(
                _tool_call_send_once, state, index=index, call_index=call_index, request=request, **call_args
            )
        else:
            execute = partial(_tool_call_execute_waiting, state, **call_args)
        # Breaker, rate limit and retries wrap the call (agents/guards/retries.py).
        result = tool_call_guarded(state=state, spans=spans, tool=tool, execute=execute)
    except DispatchFound as sent:
        stored = dispatch_answer(sent.dispatch)
        if stored is None:
            dispatch_outcome_unknown(sent.dispatch)
            # Raises ToolCallHeld while a person has not said what happened.
            return gate.outcome_unknown(
                task=state.task,
                agent_name=state.version.agent.name,
                tool=tool,
                step_index=index,
                call_index=call_index,
                call=call,
                answer=answer,
                sent=sent.dispatch.request,
            )
        result = stored
    return gate.record(answer=answer, result=result)


def _add_wait_span(
    spans: SpanBuffer, index: int, call: ToolCall, *, waited: tuple[datetime, datetime], decision: str
) -> None:
    since, until = waited
    spans.add(
        name=f"wait approval {call.name}",
        kind="wait",
        step_index=index,
        started_at=since,
        ended_at=until,
        attributes={
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "tollgate.wait.reason": "approval",
            "tollgate.approval.decision": decision,
        },
    )


def _tool_call_execute_waiting(state: RunState, **call: Any) -> ToolResult:
    with waiting(state):
        return tool_call_execute(**call)


def _tool_call_send_once(
    state: RunState, *, index: int, call_index: int, request: dict[str, Any], **call: Any
) -> ToolResult:
    # The lease first: a run that lost it must not even mark the call.
    with waiting(state):
        return dispatch_send(
            task_id=state.task.id,
            step_index=index,
            call_index=call_index,
            tool=call["tool"],
            request=request,
            send=partial(tool_call_execute, **call),
        )
