"""A turn's bookkeeping under database errors (a terminated backend, a restart). The lease heartbeat: an
error skips one renewal, never the rest (a dead heartbeat lets the lease expire mid-turn, and another
instance would run the same turn again). The final mark: retried, so an answered message does not stay
`processing` until its lease expires (`connectors/whatsapp/lease.py`)."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
import sqlalchemy as sa

from connectors.whatsapp.lease import WRITE_ATTEMPTS, Lease


class FlakyInbox:
    """`renew_lease` and `finish` answer from a script: an exception is raised, a bool returned."""

    def __init__(self, script: List[object]) -> None:
        self.script = list(script)
        self.calls = 0

    def _answer(self) -> bool:
        self.calls += 1
        outcome = self.script.pop(0) if self.script else True
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    def renew_lease(self, row_id: int, owner: str, lease_seconds: float) -> bool:
        return self._answer()

    def finish(self, row_id: int, owner: str, status: str, error: object = None) -> bool:
        return self._answer()

    def retry_later(self, row_id: int, owner: str, error: str, delay_seconds: float) -> bool:
        return self._answer()


def lease(inbox: FlakyInbox) -> Lease:
    return Lease(inbox, 7, "me", seconds=1.5)  # type: ignore[arg-type]  # renewals every 0.5 s


def dropped() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("UPDATE whatsapp_inbox", {}, Exception("terminating connection"))


async def test_a_database_error_does_not_stop_the_renewals() -> None:
    inbox = FlakyInbox([dropped(), dropped(), True, True])
    heartbeat = asyncio.create_task(lease(inbox).keep())
    await asyncio.sleep(2.3)
    assert not heartbeat.done(), "the heartbeat stopped after a database error"
    heartbeat.cancel()
    await asyncio.gather(heartbeat, return_exceptions=True)
    assert inbox.calls == 4, f"{inbox.calls} renewal attempts in 2.3 s (one per 0.5 s expected)"


async def test_a_lease_taken_over_stops_the_renewals() -> None:
    inbox = FlakyInbox([True, False, True])
    heartbeat = asyncio.create_task(lease(inbox).keep())
    await asyncio.wait_for(heartbeat, timeout=3)
    assert inbox.calls == 2


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ValueError("a bug")])
async def test_an_unexpected_error_is_not_swallowed(error: Exception) -> None:
    inbox = FlakyInbox([error])
    with pytest.raises(type(error)):
        await asyncio.wait_for(lease(inbox).keep(), timeout=3)


async def test_the_final_mark_is_retried_after_a_database_error() -> None:
    inbox = FlakyInbox([dropped(), dropped(), True])
    await asyncio.wait_for(lease(inbox).finish("done"), timeout=10)
    assert inbox.calls == 3


async def test_the_final_mark_gives_up_after_its_attempts_and_says_so() -> None:
    inbox = FlakyInbox([dropped()] * WRITE_ATTEMPTS)
    with pytest.raises(sa.exc.OperationalError):
        await asyncio.wait_for(lease(inbox).finish("done"), timeout=15)
    assert inbox.calls == WRITE_ATTEMPTS


async def test_scheduling_a_retry_is_retried_after_a_database_error() -> None:
    inbox = FlakyInbox([dropped(), True])
    await asyncio.wait_for(lease(inbox).retry_later("Boom: x", 1.0), timeout=10)
    assert inbox.calls == 2
