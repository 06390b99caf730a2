"""A turn's bookkeeping under database errors (a terminated backend, a restart). The lease heartbeat: an
error skips one renewal, never the rest (a dead heartbeat lets the lease expire mid-turn, and another
instance would run the same turn again). The final mark: retried, so an answered message does not stay
`processing` until its lease expires."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
import sqlalchemy as sa

from connectors.whatsapp.inbox_store import InboxRow
from connectors.whatsapp.turn import FINISH_ATTEMPTS, TurnProcessor
from rasa_project.settings import Settings


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


def processor(inbox: FlakyInbox) -> TurnProcessor:
    settings = Settings(inbox_lease_seconds=1.5)  # renewals every 0.5 s
    return TurnProcessor(settings, inbox, None, None, None, None, "me")  # type: ignore[arg-type]


def dropped() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("UPDATE whatsapp_inbox", {}, Exception("terminating connection"))


async def test_a_database_error_does_not_stop_the_renewals() -> None:
    inbox = FlakyInbox([dropped(), dropped(), True, True])
    heartbeat = asyncio.create_task(processor(inbox)._keep_lease(7))
    await asyncio.sleep(2.3)
    assert not heartbeat.done(), "the heartbeat stopped after a database error"
    heartbeat.cancel()
    await asyncio.gather(heartbeat, return_exceptions=True)
    assert inbox.calls == 4, f"{inbox.calls} renewal attempts in 2.3 s (one per 0.5 s expected)"


async def test_a_lease_taken_over_stops_the_renewals() -> None:
    inbox = FlakyInbox([True, False, True])
    heartbeat = asyncio.create_task(processor(inbox)._keep_lease(7))
    await asyncio.wait_for(heartbeat, timeout=3)
    assert inbox.calls == 2


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ValueError("a bug")])
async def test_an_unexpected_error_is_not_swallowed(error: Exception) -> None:
    inbox = FlakyInbox([error])
    with pytest.raises(type(error)):
        await asyncio.wait_for(processor(inbox)._keep_lease(7), timeout=3)


def row() -> InboxRow:
    return InboxRow(7, "SM1", "+5215500000001", None, "hola", {}, None, "processing", 1, None)  # type: ignore[arg-type]


async def test_the_final_mark_is_retried_after_a_database_error() -> None:
    inbox = FlakyInbox([dropped(), dropped(), True])
    await asyncio.wait_for(processor(inbox)._finish(row(), "done"), timeout=10)
    assert inbox.calls == 3


async def test_the_final_mark_gives_up_after_its_attempts_and_says_so() -> None:
    inbox = FlakyInbox([dropped()] * FINISH_ATTEMPTS)
    with pytest.raises(sa.exc.OperationalError):
        await asyncio.wait_for(processor(inbox)._finish(row(), "done"), timeout=15)
    assert inbox.calls == FINISH_ATTEMPTS
