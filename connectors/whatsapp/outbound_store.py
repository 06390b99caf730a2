"""Every outbound message and every Twilio status callback, in the conversation-log database.

Synchronous SQLAlchemy (callers use `asyncio.to_thread`). Status callbacks can arrive before the
send call returned (the row has no SID yet) and out of order (sent after delivered), so a row's
status only moves forward by `STATUS_RANK`, and a SID recorded late picks up callbacks already seen.
"""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.whatsapp.tables import outbound, status_events, utcnow

STATUS_RANK = {
    "sending": 0, "accepted": 1, "scheduled": 1, "queued": 1, "sent": 2, "delivered": 3, "read": 4,
    "failed": 5, "undelivered": 5, "suppressed": 5, "canceled": 5,
}


def _rank(status: Optional[str]) -> int:
    return STATUS_RANK.get(status or "", 0)


class OutboundStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, sender_id: str, inbox_id: Optional[int], kind: str, body: Optional[str],
               media_url: Optional[str], status: str = "sending", error_message: Optional[str] = None) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(outbound.insert().values(
                sender_id=sender_id, inbox_id=inbox_id, kind=kind, body=body, media_url=media_url,
                status=status, error_message=error_message, attempts=0, created_at=now, updated_at=now))
            return int(result.inserted_primary_key[0])

    def record_attempt(self, row_id: int, attempts: int, error_code: Optional[int] = None,
                       error_message: Optional[str] = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                attempts=attempts, error_code=error_code, error_message=error_message, updated_at=utcnow()))

    def record_accepted(self, row_id: int, twilio_sid: str, status: str, attempts: int) -> None:
        """Twilio accepted the message; callbacks that beat us here win if they are further along."""
        with self.engine.begin() as conn:
            seen = conn.execute(
                sa.select(status_events.c.status, status_events.c.error_code)
                .where(status_events.c.twilio_sid == twilio_sid).order_by(status_events.c.id)
            ).all()
            error_code = None
            for event_status, event_error in seen:
                if _rank(event_status) >= _rank(status):
                    status, error_code = event_status, event_error
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                twilio_sid=twilio_sid, status=status, attempts=attempts, error_code=error_code,
                error_message=None, updated_at=utcnow()))

    def record_failed(self, row_id: int, attempts: int, error_code: Optional[int], error_message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbound.update().where(outbound.c.id == row_id).values(
                status="failed", attempts=attempts, error_code=error_code, error_message=error_message,
                updated_at=utcnow()))

    def record_status(self, twilio_sid: str, status: str, error_code: Optional[int]) -> bool:
        """Append the callback; move the outbound row forward. False when no row has this SID (yet)."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(status_events.insert().values(
                twilio_sid=twilio_sid, status=status, error_code=error_code, received_at=now))
            current = conn.execute(
                sa.select(outbound.c.id, outbound.c.status).where(outbound.c.twilio_sid == twilio_sid)
            ).first()
            if current is None:
                return False
            if _rank(status) >= _rank(current.status):
                values = {"status": status, "updated_at": now}
                if error_code is not None:
                    values["error_code"] = error_code
                conn.execute(outbound.update().where(outbound.c.id == current.id).values(**values))
            return True
