"""When a failed delivery is tried again, and when it is given up (docs/webhooks.md, "Retries").

Attempt n+1 comes `5 s x 4^(n-1)` after attempt n fails, at most 8 hours later, each delay
spread by +-20 % (jitter) so that deliveries failed together are not retried together. A
Retry-After from the receiver (429, 503) is taken when it asks for longer, up to the same 8
hours. Ten attempts span about 23.7 hours: a receiver down for most of a day misses nothing.
Timeouts, connection errors, 408, 429 and 5xx are retried; any other answer is final.
"""

import random
from datetime import timedelta

FIRST_DELAY = 5.0  # seconds
FACTOR = 4
LONGEST_DELAY = 8 * 3600.0
JITTER = 0.2
MAX_ATTEMPTS = 10
# Deliveries that failed for good in a row before their subscription is paused. A delivery that
# ran out of retries (a receiver failing for about a day) pauses it at once.
PAUSE_AFTER_FAILURES = 5


def retryable(status: int | None) -> bool:
    """No answer at all (None), or an answer that says "later"."""
    return status is None or status in (408, 429) or status >= 500


def delay(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> timedelta:
    """How long after failed attempt number `attempt` (1 for the first) to try again."""
    base = min(LONGEST_DELAY, FIRST_DELAY * FACTOR ** (attempt - 1))
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    seconds = min(LONGEST_DELAY, base * spread)
    if retry_after is not None:
        seconds = max(seconds, min(LONGEST_DELAY, retry_after))
    return timedelta(seconds=seconds)


def nominal_schedule() -> list[float]:
    """The delays before attempts 2..MAX_ATTEMPTS without jitter, in seconds (for the docs' table)."""
    return [min(LONGEST_DELAY, FIRST_DELAY * FACTOR ** (n - 1)) for n in range(1, MAX_ATTEMPTS)]
