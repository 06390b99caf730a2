"""The handoff notification webhook: each 'notify' outbox row POSTed to `handoff_notify_url`.

A row is written in the same transaction as the pause that started the handoff, so a crash between the
save and the POST only delays it. The body is `{client, name, reason, last_turns, since}` (JSON). A 2xx
answer marks the row sent; anything else (or no answer within the timeout) retries with the project's
backoff (`backoff.py`), up to `MAX_ATTEMPTS`; the last error stays on the row.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

import httpx
import sqlalchemy as sa

from rasa_project.backoff import backoff_delay
from rasa_project.handoff.store import HandoffStore, OutboxRow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
LEASE_SECONDS = 60.0
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0


class HandoffNotifier:
    def __init__(self, store: HandoffStore, url: str, *, poll_seconds: float = 5.0, timeout_seconds: float = 10.0,
                 retry_base_seconds: float = RETRY_BASE_SECONDS) -> None:
        self.store = store
        self.url = url
        self.poll_seconds = poll_seconds
        self.retry_base_seconds = retry_base_seconds
        self.client = httpx.AsyncClient(timeout=timeout_seconds)
        self._task: Optional[asyncio.Task] = None

    async def deliver(self, row: OutboxRow) -> bool:
        try:
            response = await self.client.post(self.url, json=row.payload)
            error = None if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            await asyncio.to_thread(self.store.mark_sent, row.id)
            return True
        delay = backoff_delay(row.attempts, self.retry_base_seconds, RETRY_MAX_SECONDS)
        log = logger.error if row.attempts >= MAX_ATTEMPTS else logger.warning
        log("Handoff notification %d for %s failed (attempt %d/%d): %s", row.id, row.sender_id, row.attempts,
            MAX_ATTEMPTS, error)
        await asyncio.to_thread(self.store.mark_failed, row.id, error, delay)
        return False

    async def run_once(self) -> int:
        """Claims the due rows and delivers them; returns how many were delivered."""
        rows = await asyncio.to_thread(self.store.claim_notify, 20, LEASE_SECONDS, MAX_ATTEMPTS)
        return sum([await self.deliver(row) for row in rows])

    async def _forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except sa.exc.SQLAlchemyError as exc:
                logger.error("Handoff notifications: database error (%s: %s)", type(exc).__name__, exc)
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="handoff-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.client.aclose()
