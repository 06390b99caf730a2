"""Webhook delivery as Chatwoot does it: a JSON POST per event, signed, retried, recorded.

- Body: the event's payload as Rails' `to_json` writes it: compact, UTF-8 kept, `<`, `>` and `&` escaped as
  `\\u003c`, `\\u003e`, `\\u0026`. Receivers must check the signature over the raw bytes, never over JSON
  they re-serialize.
- Headers (Chatwoot 4.x signing, chatwoot#13573 for account webhooks and #13892 for API-channel inboxes):
  `X-Chatwoot-Timestamp` (unix seconds of this attempt), `X-Chatwoot-Delivery` (a UUID, the same on every
  retry of one delivery) and `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
  Without a secret the sandbox sends none of the three, like Chatwoot before signing.
- Order: one lane per conversation (contact events per contact); a lane sends its next delivery only when
  the previous one has succeeded or given up, so a receiver sees a conversation's events in order.
- Retries: on a 5xx or 429 answer, a timeout or a refused connection, after each of `retry_delays`; other
  4xx answers (a receiver rejecting the signature, say) end the delivery at once. Every attempt is
  recorded with the receiver's answer (`GET /_sandbox/webhooks`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, FrozenSet, List, Sequence

import aiohttp

from rasa_project.sandboxes.chatwoot.payloads import iso
from rasa_project.sandboxes.chatwoot.store import utc_now

logger = logging.getLogger(__name__)

EVENTS = ("conversation_created", "conversation_status_changed", "conversation_updated", "message_created",
          "contact_created")
DEFAULT_EVENTS = ("conversation_created", "conversation_status_changed", "conversation_updated",
                  "message_created")
RESPONSE_EXCERPT_CHARS = 500
_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def rails_json(payload: Dict[str, Any]) -> str:
    """`payload.to_json` as ActiveSupport writes it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).translate(_HTML_ESCAPES)


def sign(secret: str, timestamp: str, body: str) -> str:
    """The `X-Chatwoot-Signature` value for one attempt."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def retryable(status: int) -> bool:
    return status >= 500 or status == 429


@dataclass
class Delivery:
    index: int
    delivery_id: str
    event: str
    lane: str
    payload: Dict[str, Any]
    body: str
    state: str = "pending"  # pending -> delivered | failed
    attempts: List[Dict[str, Any]] = field(default_factory=list)

    def record(self) -> Dict[str, Any]:
        return {"index": self.index, "delivery_id": self.delivery_id, "event": self.event, "lane": self.lane,
                "state": self.state, "attempts": self.attempts, "payload": self.payload}


class WebhookDispatcher:
    """Queues deliveries per lane and runs one worker per busy lane; owns the HTTP session."""

    def __init__(self, url: str | None, secret: str | None, *, events: Sequence[str] = DEFAULT_EVENTS,
                 retry_delays: Sequence[float] = (0.5, 1.0, 2.0), timeout: float = 5.0) -> None:
        unknown = set(events) - set(EVENTS)
        if unknown:
            raise ValueError(f"unknown webhook events {sorted(unknown)}; known: {', '.join(EVENTS)}")
        self.url = url
        self.secret = secret
        self.events: FrozenSet[str] = frozenset(events)
        self.retry_delays = [max(0.0, float(delay)) for delay in retry_delays]
        self.timeout = timeout
        self.deliveries: List[Delivery] = []
        self._lanes: Dict[str, Deque[Delivery]] = {}
        self._workers: Dict[str, asyncio.Task] = {}
        self._pending = 0
        self._changed = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None
        self._index = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        await self._cancel_workers()
        if self._session is not None:
            await self._session.close()

    def emit(self, event: str, payload: Dict[str, Any], lane: str) -> Delivery | None:
        """Queue `payload` (with `event` merged in, as Chatwoot does) unless nothing listens for it."""
        if self.url is None or event not in self.events:
            return None
        self._index += 1
        body = {**payload, "event": event}
        delivery = Delivery(index=self._index, delivery_id=str(uuid.uuid4()), event=event, lane=lane,
                            payload=body, body=rails_json(body))
        self.deliveries.append(delivery)
        self._pending += 1
        self._lanes.setdefault(lane, deque()).append(delivery)
        if lane not in self._workers:
            task = asyncio.get_running_loop().create_task(self._drain(lane))
            self._workers[lane] = task
        return delivery

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                delivery = queue[0]
                try:
                    await self._deliver(delivery)
                except Exception as exc:  # a sandbox bug must not stall the lane forever
                    logger.exception("webhook delivery %s crashed", delivery.delivery_id)
                    delivery.attempts.append({"error": f"{type(exc).__name__}: {exc}"})
                    delivery.state = "failed"
                queue.popleft()
                await self._settle()
        finally:
            self._workers.pop(lane, None)
            if not queue:
                self._lanes.pop(lane, None)

    async def _settle(self) -> None:
        async with self._changed:
            self._pending -= 1
            self._changed.notify_all()

    def _headers(self, delivery: Delivery, timestamp: str) -> Dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "rest-client/2.1.0 (chatwoot-sandbox)"}
        if self.secret:
            headers.update({"X-Chatwoot-Timestamp": timestamp, "X-Chatwoot-Delivery": delivery.delivery_id,
                            "X-Chatwoot-Signature": sign(self.secret, timestamp, delivery.body)})
        return headers

    async def _deliver(self, delivery: Delivery) -> None:
        assert self._session is not None and self.url is not None, "WebhookDispatcher.start() was not awaited"
        for attempt in range(1, len(self.retry_delays) + 2):
            timestamp = str(int(time.time()))
            outcome: Dict[str, Any] = {"attempt": attempt, "at": iso(utc_now()), "timestamp": timestamp,
                                       "status": None, "response": None, "error": None}
            try:
                async with self._session.post(self.url, data=delivery.body.encode(),
                                              headers=self._headers(delivery, timestamp)) as response:
                    outcome["status"] = response.status
                    outcome["response"] = (await response.text(errors="replace"))[:RESPONSE_EXCERPT_CHARS]
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            delivery.attempts.append(outcome)
            status = outcome["status"]
            if status is not None and 200 <= status < 300:
                delivery.state = "delivered"
                return
            if status is not None and not retryable(status):
                break
            if attempt <= len(self.retry_delays):
                logger.info("webhook %s (%s) attempt %s failed (%s); retrying in %.2fs", delivery.event,
                            delivery.delivery_id, attempt, status or outcome["error"],
                            self.retry_delays[attempt - 1])
                await asyncio.sleep(self.retry_delays[attempt - 1])
        delivery.state = "failed"
        logger.warning("webhook %s (%s) to %s failed after %s attempt(s)", delivery.event, delivery.delivery_id,
                       self.url, len(delivery.attempts))

    @property
    def pending(self) -> int:
        return self._pending

    async def wait_settled(self, timeout: float) -> bool:
        """Wait until every queued delivery has succeeded or given up; False if `timeout` came first."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._pending == 0), timeout)
            except asyncio.TimeoutError:
                return False
        return True

    async def _cancel_workers(self) -> None:
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._lanes.clear()

    async def reset(self) -> None:
        """Drop queued and recorded deliveries (in-flight attempts are cancelled)."""
        await self._cancel_workers()
        self.deliveries.clear()
        async with self._changed:
            self._pending = 0
            self._changed.notify_all()
