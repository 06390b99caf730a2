"""The mirror's claims on `helpdesk_outbox` (H1's table): per sender in id order, each row taken once.

Synchronous SQLAlchemy (the mirror calls it through `asyncio.to_thread`). Only a sender's OLDEST unsent
row (notify rows aside: `notify.py` drains those) can be claimed, so a sender's messages reach Chatwoot
in order even with several workers. On Postgres the claim reads it `FOR UPDATE SKIP LOCKED`; on both
dialects it then moves `next_attempt_at` to a lease (compare-and-set on the value it read) and counts the
attempt, so a second worker neither waits nor takes it; the row stays unsent, which holds back the
sender's later rows until it is finished. A worker that dies mid-send leaves the lease to expire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rasa_project.handoff.tables import NOTIFY, helpdesk_outbox

outbox = helpdesk_outbox


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    sender_id: str
    kind: str
    payload: Dict[str, Any]
    attempts: int  # including this one: > 1 means an earlier attempt may have reached Chatwoot
    lease_until: datetime


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    def claim(self, lease_seconds: float) -> Optional[OutboxRow]:
        """The oldest due row that heads its sender's queue, leased to the caller; None when none is due."""
        now = utcnow()
        earlier = outbox.alias("earlier")
        heads_its_sender = ~sa.exists().where(
            earlier.c.sender_id == outbox.c.sender_id, earlier.c.id < outbox.c.id,
            earlier.c.sent_at.is_(None), earlier.c.kind != NOTIFY)
        query = (sa.select(outbox)
                 .where(outbox.c.sent_at.is_(None), outbox.c.kind != NOTIFY, outbox.c.next_attempt_at <= now,
                        heads_its_sender)
                 .order_by(outbox.c.id).limit(1))
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True, of=outbox)
        with self.engine.begin() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            lease_until = now + timedelta(seconds=lease_seconds)
            taken = conn.execute(
                outbox.update()
                .where(outbox.c.id == row["id"], outbox.c.sent_at.is_(None),
                       outbox.c.next_attempt_at == row["next_attempt_at"])
                .values(next_attempt_at=lease_until, attempts=outbox.c.attempts + 1)).rowcount
            if taken != 1:  # SQLite: another worker took it between our read and our write
                return None
        try:
            payload = json.loads(row["payload"] or "{}")
        except ValueError:
            payload = {"unreadable": str(row["payload"])[:200]}
        return OutboxRow(int(row["id"]), str(row["sender_id"]), str(row["kind"]),
                         payload if isinstance(payload, dict) else {"value": payload},
                         int(row["attempts"] or 0) + 1, lease_until)

    def mark_sent(self, row: OutboxRow, note: Optional[str] = None) -> bool:
        """Done; False if the lease was lost. `note` (why Chatwoot refused it for good) replaces last_error,
        which otherwise keeps the last failure before this success."""
        return self._finish(row, sent_at=utcnow(), **({"last_error": note} if note else {}))

    def retry_later(self, row: OutboxRow, error: str, delay_seconds: float) -> bool:
        return self._finish(row, next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
                            last_error=error[:1000])

    def _finish(self, row: OutboxRow, **values: Any) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id, outbox.c.sent_at.is_(None), outbox.c.next_attempt_at == row.lease_until)
                .values(**values)).rowcount == 1

    def backlog(self) -> int:
        """Rows not yet in Chatwoot (notify rows aside)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(outbox)
                                    .where(outbox.c.sent_at.is_(None), outbox.c.kind != NOTIFY)).scalar() or 0)
