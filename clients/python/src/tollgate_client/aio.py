"""The asyncio client: the same calls as Tollgate, awaited."""

import asyncio
import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import httpx

from tollgate_client import wire
from tollgate_client.client import KeyOf, OnDeny, Spend, _arguments, _ms
from tollgate_client.scope import running, session_of
from tollgate_client.types import ActionDenied, BudgetRefused, Decision, GateTimeout, Reservation

P = ParamSpec("P")
R = TypeVar("R")


class AsyncTollgate:
    """`AsyncTollgate(url, token, agent="my-agent")`; close it with `await client.aclose()`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        agent: str = "agent",
        session: str | None = None,
        timeout: float = 300.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.agent, self.session, self.timeout = agent, session, timeout
        self.http = http or httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=wire.MAX_WAIT_S + 10),
        )

    async def __aenter__(self) -> "AsyncTollgate":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def ask(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        session: str | None = None,
        reasoning: str = "",
        idempotency_key: str | None = None,
        context: dict[str, Any] | None = None,
        callback_url: str | None = None,
    ) -> Decision:
        body = wire.ask_body(
            agent=self.agent,
            session=session_of(session, self.session),
            tool=tool,
            arguments=arguments,
            reasoning=reasoning,
            idempotency_key=idempotency_key,
            context=context,
            callback_url=callback_url,
        )
        return wire.decision_of(await self.http.post("/api/v1/actions", json=body))

    async def get(self, action_id: str, *, wait: float = 0) -> Decision:
        response = await self.http.get(f"/api/v1/actions/{action_id}", params={"wait": wire.wait_step(wait)})
        return wire.decision_of(response)

    async def wait(self, decision: Decision, *, timeout: float | None = None) -> Decision:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while decision.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GateTimeout(decision)
            decision = await self.get(decision.id, wait=remaining)
        return decision

    async def gate(
        self, tool: str, arguments: dict[str, Any], *, timeout: float | None = None, **ask: Any
    ) -> Decision:
        return await self.wait(await self.ask(tool, arguments, **ask), timeout=timeout)

    async def report(
        self, decision: Decision, *, ok: bool = True, result: Any = None, duration_ms: float | None = None
    ) -> Decision:
        body = wire.result_body(decision, ok=ok, result=result, duration_ms=duration_ms)
        return wire.decision_of(await self.http.post(f"/api/v1/actions/{decision.id}/result", json=body))

    async def run(self, decision: Decision, call: Callable[..., Any], *, on_deny: OnDeny = "raise") -> Any:
        """Run `call(**final arguments)` (sync or async) if allowed and report it, once."""
        if not decision.allowed:
            if on_deny == "return":
                return f"Tollgate refused {decision.status} this action: {decision.reason}"
            raise ActionDenied(decision)
        if decision.result_reported:
            return decision.result
        started = time.perf_counter()
        try:
            with running(decision):
                result = call(**decision.arguments)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            await self.report(decision, ok=False, result=str(exc), duration_ms=_ms(started))
            raise
        await self.report(decision, ok=True, result=result, duration_ms=_ms(started))
        return result

    def guarded(
        self,
        fn: Callable[P, Awaitable[R]] | None = None,
        *,
        tool: str | None = None,
        timeout: float | None = None,
        on_deny: OnDeny = "raise",
        key: KeyOf | None = None,
    ) -> Any:
        """Decorate an async tool function (see Tollgate.guarded)."""

        def wrap(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            name = tool or function.__name__
            signature = inspect.signature(function)

            @functools.wraps(function)
            async def guarded_call(*args: P.args, **kwargs: P.kwargs) -> R:
                arguments = _arguments(signature, args, kwargs)
                decision = await self.gate(
                    name, arguments, timeout=timeout, idempotency_key=key(arguments) if key else None
                )
                result: R = await self.run(decision, function, on_deny=on_deny)
                return result

            return guarded_call

        return wrap(fn) if fn is not None else wrap

    async def reserve(
        self, amount_usd: Decimal | str, *, session: str | None = None, model: str = "", user: str = ""
    ) -> Reservation:
        body = wire.reserve_body(
            agent=self.agent,
            session=session_of(session, self.session),
            amount_usd=amount_usd,
            model=model,
            user=user,
        )
        return wire.reservation_of(await self.http.post("/api/v1/budget/reserve", json=body))

    async def settle(self, reservation: Reservation, cost_usd: Decimal | str) -> None:
        body = {"reservation": reservation.id, "cost_usd": str(cost_usd)}
        wire.checked(await self.http.post("/api/v1/budget/settle", json=body))

    @asynccontextmanager
    async def budget(self, amount_usd: Decimal | str, **reserve: Any) -> AsyncIterator[Spend]:
        reservation = await self.reserve(amount_usd, **reserve)
        if not reservation.reserved:
            raise BudgetRefused(reservation)
        spend = Spend(reservation)
        try:
            yield spend
        finally:
            await asyncio.shield(
                self.settle(reservation, spend.cost_usd if spend.cost_usd is not None else amount_usd)
            )
