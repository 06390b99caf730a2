"""A claimed inbox row's lease, as the turn that holds it sees it: kept alive while the turn runs, then
given back with the row's final status.

The inbox's small writes here (renew, finish, retry later) are idempotent for their holder (each applies only
while this owner holds the lease), so a database error is retried rather than left to the lease's expiry:
a row answered but left `processing` would wait out its lease, and the retry would then find the turn
already logged; a dead heartbeat would let another instance run the same turn again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional, TypeVar

import sqlalchemy as sa

from connectors.whatsapp.inbox_store import InboxStore
from rasa_project.backoff import backoff_delay

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS = 4
WRITE_RETRY_BASE_SECONDS = 0.25
T = TypeVar("T")


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()[:200]}"


class Lease:
    """Row `row_id` claimed by `owner` for `seconds`."""

    def __init__(self, inbox: InboxStore, row_id: int, owner: str, seconds: float) -> None:
        self.inbox = inbox
        self.row_id = row_id
        self.owner = owner
        self.seconds = seconds

    async def _write(self, what: str, call: Callable[[], T]) -> T:
        """`call` in a thread; a database error retried with backoff, raised after the last attempt."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return await asyncio.to_thread(call)
            except sa.exc.SQLAlchemyError as exc:
                if attempt == WRITE_ATTEMPTS:
                    raise
                delay = backoff_delay(attempt, WRITE_RETRY_BASE_SECONDS, 2.0)
                logger.warning("Inbox message %d: %s failed (%s); retrying in %.2fs", self.row_id, what,
                               _brief(exc), delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def lost(self, status: str) -> None:
        logger.warning("Inbox message %d: lease lost before it could be marked %s", self.row_id, status)

    async def finish(self, status: str, error: Optional[str] = None) -> None:
        """Mark the row final (done, failed, opted out...)."""
        finished = await self._write(f"marking it {status}",
                                     lambda: self.inbox.finish(self.row_id, self.owner, status, error))
        if not finished:
            self.lost(status)

    async def retry_later(self, error: str, delay_seconds: float) -> None:
        await self._write("scheduling its retry",
                          lambda: self.inbox.retry_later(self.row_id, self.owner, error, delay_seconds))

    async def release(self) -> None:
        """Give the row back untouched (the process is stopping mid-turn): one try, the lease expires anyway."""
        await asyncio.to_thread(self.inbox.release, self.row_id, self.owner)

    async def keep(self) -> None:
        """Renew every third of the lease until cancelled. A database error skips one renewal (the next one
        comes well inside the lease); only a lease another worker took ends the renewals."""
        interval = max(self.seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                renewed = await asyncio.to_thread(self.inbox.renew_lease, self.row_id, self.owner, self.seconds)
            except sa.exc.SQLAlchemyError as exc:
                logger.warning("Inbox message %d: lease renewal failed (%s); retrying in %.1fs", self.row_id,
                               _brief(exc), interval)
                continue
            if not renewed:
                logger.warning("Inbox message %d: lease could not be renewed (taken over)", self.row_id)
                return
