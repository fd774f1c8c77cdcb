"""The synchronous client: ask, wait, report; budgets; the @guarded decorator."""

import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Literal, ParamSpec, TypeVar

import httpx

from tollgate_client import wire
from tollgate_client.scope import running, session_of
from tollgate_client.types import ActionDenied, BudgetRefused, Decision, GateTimeout, Reservation

P = ParamSpec("P")
R = TypeVar("R")
OnDeny = Literal["raise", "return"]
KeyOf = Callable[[dict[str, Any]], str | None]


class Spend:
    """What a budget block spent; set `cost_usd` before the block ends."""

    def __init__(self, reservation: Reservation) -> None:
        self.reservation = reservation
        self.cost_usd: Decimal | None = None


class Tollgate:
    """`Tollgate(url, token, agent="my-agent")`: one agent's connection to Tollgate."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        agent: str = "agent",
        session: str | None = None,
        timeout: float = 300.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.agent, self.session, self.timeout = agent, session, timeout
        self.http = http or httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=wire.MAX_WAIT_S + 10),
        )

    def __enter__(self) -> "Tollgate":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def ask(
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
        """The gate's first answer: allow, deny, or pending (then `wait` for it)."""
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
        return wire.decision_of(self.http.post("/api/v1/actions", json=body))

    def get(self, action_id: str, *, wait: float = 0) -> Decision:
        response = self.http.get(f"/api/v1/actions/{action_id}", params={"wait": wire.wait_step(wait)})
        return wire.decision_of(response)

    def wait(self, decision: Decision, *, timeout: float | None = None) -> Decision:
        """Long-poll until decided; GateTimeout if still pending after `timeout` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while decision.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GateTimeout(decision)
            decision = self.get(decision.id, wait=remaining)
        return decision

    def gate(
        self, tool: str, arguments: dict[str, Any], *, timeout: float | None = None, **ask: Any
    ) -> Decision:
        """Ask and wait for the decision: an allowed or denied Decision, or GateTimeout."""
        return self.wait(self.ask(tool, arguments, **ask), timeout=timeout)

    def report(
        self, decision: Decision, *, ok: bool = True, result: Any = None, duration_ms: float | None = None
    ) -> Decision:
        """The outcome of an allowed action, once (a second report is a TollgateError 409)."""
        body = wire.result_body(decision, ok=ok, result=result, duration_ms=duration_ms)
        return wire.decision_of(self.http.post(f"/api/v1/actions/{decision.id}/result", json=body))

    def run(self, decision: Decision, call: Callable[..., R], *, on_deny: OnDeny = "raise") -> R | Any:
        """Run `call(**final arguments)` if allowed and report it; exactly once per action."""
        if not decision.allowed:
            if on_deny == "return":
                return f"Tollgate refused {decision.status} this action: {decision.reason}"
            raise ActionDenied(decision)
        if decision.result_reported:
            return decision.result  # it already ran (a retry with the same key): never again
        started = time.perf_counter()
        try:
            with running(decision):
                result = call(**decision.arguments)
        except Exception as exc:
            self.report(decision, ok=False, result=str(exc), duration_ms=_ms(started))
            raise
        self.report(decision, ok=True, result=result, duration_ms=_ms(started))
        return result

    def guarded(
        self,
        fn: Callable[P, R] | None = None,
        *,
        tool: str | None = None,
        timeout: float | None = None,
        on_deny: OnDeny = "raise",
        key: KeyOf | None = None,
    ) -> Any:
        """Decorate a tool function: it runs only when allowed, with the final arguments, and
        its outcome is reported. `key(arguments)` names the call for exactly-once retries."""

        def wrap(function: Callable[P, R]) -> Callable[P, R]:
            name = tool or function.__name__
            signature = inspect.signature(function)

            @functools.wraps(function)
            def guarded_call(*args: P.args, **kwargs: P.kwargs) -> R:
                arguments = _arguments(signature, args, kwargs)
                decision = self.gate(
                    name, arguments, timeout=timeout, idempotency_key=key(arguments) if key else None
                )
                result: R = self.run(decision, function, on_deny=on_deny)
                return result

            return guarded_call

        return wrap(fn) if fn is not None else wrap

    def reserve(
        self, amount_usd: Decimal | str, *, session: str | None = None, model: str = "", user: str = ""
    ) -> Reservation:
        body = wire.reserve_body(
            agent=self.agent,
            session=session_of(session, self.session),
            amount_usd=amount_usd,
            model=model,
            user=user,
        )
        return wire.reservation_of(self.http.post("/api/v1/budget/reserve", json=body))

    def settle(self, reservation: Reservation, cost_usd: Decimal | str) -> None:
        body = {"reservation": reservation.id, "cost_usd": str(cost_usd)}
        wire.checked(self.http.post("/api/v1/budget/settle", json=body))

    @contextmanager
    def budget(self, amount_usd: Decimal | str, **reserve: Any) -> Iterator[Spend]:
        """Reserve, run the block, settle what it set as `cost_usd` (the whole amount if it did
        not say: never less than may have been spent). BudgetRefused if there is no room."""
        reservation = self.reserve(amount_usd, **reserve)
        if not reservation.reserved:
            raise BudgetRefused(reservation)
        spend = Spend(reservation)
        try:
            yield spend
        finally:
            self.settle(reservation, spend.cost_usd if spend.cost_usd is not None else amount_usd)


def _arguments(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
