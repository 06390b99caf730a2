"""The one retry delay of the project: exponential backoff with "equal jitter".

Used by every loop that retries an outside system (Twilio sends, failed inbox turns, the booking
API): half of the delay is fixed so retries never hammer, half is random so many clients retrying
at once spread out instead of arriving together.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry): `base * 2**(attempt-1)`,
    capped at `cap`, of which a random half."""
    delay = min(cap, base * (2 ** max(attempt - 1, 0)))
    return delay / 2 + random.uniform(0, delay / 2)
