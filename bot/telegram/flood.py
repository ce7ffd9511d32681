"""The per-user flood guard: a few people pasting in a loop must not starve everyone else.

Telegram caps a bot at about 30 messages a second in total, so one person sending hundreds of
messages would delay every other answer. The guard allows `limit` messages per sliding `period`
per user, answers the first one over the limit with a polite "slow down", and silently drops the
rest until the window has room again. Pure: the clock is injected, so tests need not sleep.

Button presses are counted by a guard of their own, allowing TAP_ALLOWANCE times as many:
browsing the menu is several quick taps, and someone who has asked a lot must still be able to
open an answer's related entry. A press over the limit is never left spinning: the front end
answers it with a short toast instead (Telegram shows a spinner until a press is answered).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

# Forget idle users once this many are tracked, so memory stays bounded on a busy bot.
PRUNE_ABOVE = 10_000
# Button presses allowed per period, as a multiple of the messages allowed (KBBOT_FLOOD_LIMIT).
TAP_ALLOWANCE = 2


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first message over the limit: say "slow down" once
    DROP = "drop"  # every further one: ignore


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    warned: bool = False


class FloodGuard:
    """Counts accepted messages per user in a sliding window.

    Only accepted messages count, so someone who keeps sending while blocked is let through again
    as soon as their earlier messages leave the window.
    """

    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("the flood guard needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._users: dict[int, _Window] = {}

    def check(self, user_id: int) -> Verdict:
        """Record one message from `user_id` and say whether to handle it."""
        now = self._clock()
        window = self._users.get(user_id)
        if window is None:
            if len(self._users) >= PRUNE_ABOVE:
                self._prune(now)
            window = self._users[user_id] = _Window()
        times = window.times
        while times and now - times[0] >= self.period:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            window.warned = False
            return Verdict.ALLOW
        if window.warned:
            return Verdict.DROP
        window.warned = True
        return Verdict.WARN

    def _prune(self, now: float) -> None:
        idle = [
            user
            for user, window in self._users.items()
            if not window.times or now - window.times[-1] >= self.period
        ]
        for user in idle:
            del self._users[user]

    def __len__(self) -> int:
        return len(self._users)
