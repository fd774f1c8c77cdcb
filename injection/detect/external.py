"""An external classifier over HTTP, e.g. a self-hosted model server running Llama Prompt Guard 2.

The server takes POST {"text": "...", "tool": "..."} and answers {"score": <0..1>}. When it cannot
be asked (timeout, refused connection, a bad answer), `fail_closed` decides: a finding of score 1
(the text is treated as injected) or no finding at all.

Plain Python: the caller passes the transport. Tollgate's passes the egress-guarded one
(injection/external.py), so the URL an operator configures obeys TOOL_EGRESS_ALLOW.
"""

import json
import threading
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from core.bounded_http import DeadlineTransport, bounded_exchange
from injection.detect.result import Finding

DETECTOR = "external"
UNAVAILABLE = "external.unavailable"
SKIPPED = "external.skipped"
# What is sent and read back: a model server has a context of its own, and an answer is one number.
MAX_SENT_CHARS = 32_000
MAX_ANSWER_BYTES = 4_096


class TextClassifier(Protocol):
    """What scan() asks besides its own detectors: findings on `text`, from `tool`."""

    def find(self, text: str, *, tool: str | None, flag_at: float) -> list[Finding]: ...


@dataclass
class ExternalClassifier:
    url: str
    timeout_s: float
    fail_closed: bool
    transport: DeadlineTransport | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _last: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def answered_last(self) -> bool:
        """Whether this thread's last `find` had the classifier's answer (a verdict reached
        without it must not be kept as if it had)."""
        return getattr(self._last, "answered", False)

    def find(
        self, text: str, *, tool: str | None, flag_at: float, timeout_s: float | None = None
    ) -> list[Finding]:
        """Findings on `text`; `timeout_s`, when given, replaces `self.timeout_s` for this call."""
        self._last.answered = False
        try:
            score = self._score(text[:MAX_SENT_CHARS], tool, timeout_s)
        # Whatever stops the answer (the network, the egress guard, the server) ends the same way.
        except Exception as exc:
            if not self.fail_closed:
                return []
            return [Finding(UNAVAILABLE, 1.0, f"external classifier unavailable: {type(exc).__name__}", 0, 0)]
        self._last.answered = True
        if score < flag_at:
            return []
        return [Finding(DETECTOR, score, text[:200], 0, min(len(text), MAX_SENT_CHARS))]

    def within(self, seconds: float) -> "TimedCall":
        """This classifier, waiting at most `seconds` (and never longer than its own timeout)."""
        return TimedCall(self, min(seconds, self.timeout_s))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _score(self, text: str, tool: str | None, timeout_s: float | None) -> float:
        if self._client is None:
            # Without a transport of the caller's, still one that bounds the whole exchange.
            transport = self.transport or DeadlineTransport(limits=httpx.Limits())
            self._client = httpx.Client(transport=transport, follow_redirects=False)
        answer = bounded_exchange(
            self._client,
            "POST",
            self.url,
            timeout_s=self.timeout_s if timeout_s is None else timeout_s,
            max_bytes=MAX_ANSWER_BYTES,
            json={"text": text, "tool": tool},
        )
        answer.response.raise_for_status()
        if not answer.complete:
            raise ValueError("the classifier's answer is too long")
        score = json.loads(answer.body)["score"]
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
            raise ValueError(f"the classifier's score is not a number in 0..1: {score!r}")
        return float(score)


@dataclass(frozen=True)
class TimedCall:
    """The external classifier asked with a shorter timeout: what is left of a request's time
    for the classifier (injection/reported.py)."""

    classifier: ExternalClassifier
    timeout_s: float

    def find(self, text: str, *, tool: str | None, flag_at: float) -> list[Finding]:
        return self.classifier.find(text, tool=tool, flag_at=flag_at, timeout_s=self.timeout_s)


@dataclass(frozen=True)
class NotAsked:
    """In place of the external classifier for a text it is not sent (one request's texts past
    the number it may send, injection/reported.py). Fail-closed counts the text as injected, as
    when the classifier cannot answer; fail-open adds nothing."""

    fail_closed: bool
    reason: str

    def find(self, text: str, *, tool: str | None, flag_at: float) -> list[Finding]:
        if not self.fail_closed:
            return []
        return [Finding(SKIPPED, 1.0, self.reason[:200], 0, 0)]
