"""When `manage.py up` restarts a child that died, and when it stops trying.

Plain bookkeeping over monotonic timestamps handed in by the caller, so tests drive it
without sleeping.
"""

from collections import deque
from dataclasses import dataclass

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 16.0
# A child that dies more often than this is broken, not unlucky: `up` stops everything.
MAX_DEATHS = 5
DEATH_WINDOW_S = 60.0
# A child that stayed up this long is healthy again: its next restart waits FIRST_DELAY_S.
STABLE_AFTER_S = 30.0


@dataclass(frozen=True)
class RestartPolicy:
    first_delay_s: float = FIRST_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    max_deaths: int = MAX_DEATHS
    death_window_s: float = DEATH_WINDOW_S
    stable_after_s: float = STABLE_AFTER_S


class Restarts:
    """One child's recent deaths and the delay before its next restart (1 s, 2 s, 4 s, … capped)."""

    def __init__(self, policy: RestartPolicy, *, started_at: float) -> None:
        self.policy = policy
        self._started_at = started_at
        self._deaths: deque[float] = deque()
        self._next_delay_s = policy.first_delay_s

    @property
    def recent_deaths(self) -> int:
        return len(self._deaths)

    def started(self, *, at: float) -> None:
        self._started_at = at

    def died(self, *, at: float) -> float | None:
        """Record a death at `at`; return the seconds to wait before restarting, or None to give up."""
        if at - self._started_at >= self.policy.stable_after_s:
            self._next_delay_s = self.policy.first_delay_s
        self._deaths.append(at)
        while self._deaths[0] <= at - self.policy.death_window_s:
            self._deaths.popleft()
        if len(self._deaths) > self.policy.max_deaths:
            return None
        delay_s = self._next_delay_s
        self._next_delay_s = min(delay_s * 2, self.policy.max_delay_s)
        return delay_s
