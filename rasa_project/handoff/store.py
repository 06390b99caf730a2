"""Reading the handoff tables and claiming their work, safely with several Rasa instances.

Synchronous SQLAlchemy (callers use `asyncio.to_thread`). Every claim is one statement that marks what it
took, so two instances never take the same row and a crash never loses one:
- idle handoffs: the claim moves `last_message_at` to now (a lease of one idle period): the claimer hands
  the conversation back; if it dies first, the row is idle again one period later;
- 'notify' outbox rows: the claim counts the attempt and moves `next_attempt_at` past a lease; a success
  sets `sent_at`, a failure the next attempt by backoff. Only kind 'notify' is ours: the helpdesk mirror
  drains the other kinds with the same `FOR UPDATE SKIP LOCKED` pattern.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from rasa_project.handoff.tables import BOT, HUMAN, NOTIFY, handoffs, helpdesk_outbox, utcnow

EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"), sa.column("data"))


@dataclass(frozen=True)
class OutboxRow:
    id: int
    sender_id: str
    payload: Dict[str, Any]
    attempts: int


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() + "Z" if value is not None else None


class HandoffStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # -- what the operator reads ------------------------------------------------------------------

    def open_handoffs(self) -> List[Dict[str, Any]]:
        """Conversations the team has now, oldest first."""
        query = (sa.select(handoffs.c.sender_id, handoffs.c.reason, handoffs.c.started_at, handoffs.c.last_message_at,
                           handoffs.c.helpdesk_conversation_id)
                 .where(handoffs.c.state == HUMAN).order_by(handoffs.c.started_at))
        with self.engine.connect() as conn:
            return [{"sender": row.sender_id, "reason": row.reason, "since": _iso(row.started_at),
                     "last_message_at": _iso(row.last_message_at),
                     "helpdesk_conversation_id": row.helpdesk_conversation_id}
                    for row in conn.execute(query)]

    def state(self, sender_id: str) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(handoffs.c.state).where(handoffs.c.sender_id == sender_id)).scalar()

    def transcript(self, sender_id: str, limit: int = 50) -> Optional[List[Dict[str, Any]]]:
        """The last `limit` user/bot texts of the log (every session), oldest first; None: no such conversation.

        `author` is 'client', 'bot' or the team member's `metadata.helpdesk` dict."""
        query = (sa.select(EVENTS.c.type_name, EVENTS.c.data)
                 .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name.in_(("user", "bot")))
                 .order_by(EVENTS.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            if not rows and conn.execute(sa.select(EVENTS.c.id).where(EVENTS.c.sender_id == sender_id)
                                         .limit(1)).first() is None:
                return None
        messages = []
        for row in reversed(rows):
            data = json.loads(row.data)
            if not data.get("text"):
                continue
            helpdesk = (data.get("metadata") or {}).get("helpdesk")
            author: Any = "client" if row.type_name == "user" else (helpdesk or "bot")
            messages.append({"author": author, "text": data["text"], "timestamp": data.get("timestamp")})
        return messages

    # -- idle handoffs ----------------------------------------------------------------------------

    def claim_idle(self, idle_minutes: float, now: Optional[datetime] = None) -> List[str]:
        """Senders whose handoff had no message for `idle_minutes`, each claimed by one caller only."""
        now = now or utcnow()
        cutoff = now - timedelta(minutes=idle_minutes)
        idle = (handoffs.c.state == HUMAN) & (handoffs.c.last_message_at < cutoff)
        with self.engine.begin() as conn:
            if self._postgres:
                chosen = sa.select(handoffs.c.sender_id).where(idle).with_for_update(skip_locked=True)
                result = conn.execute(handoffs.update().where(handoffs.c.sender_id.in_(chosen.scalar_subquery()))
                                      .values(last_message_at=now).returning(handoffs.c.sender_id))
                return [row[0] for row in result]
            return [sender for sender in conn.execute(sa.select(handoffs.c.sender_id).where(idle)).scalars().all()
                    if conn.execute(handoffs.update().where(handoffs.c.sender_id == sender, idle)
                                    .values(last_message_at=now)).rowcount]

    def close(self, sender_id: str, by: str) -> bool:
        """Mark a handoff ended whose tracker is no longer paused (a row left behind); True when it was open."""
        with self.engine.begin() as conn:
            return bool(conn.execute(handoffs.update().where(handoffs.c.sender_id == sender_id,
                                                             handoffs.c.state == HUMAN)
                                     .values(state=BOT, ended_at=utcnow(), ended_by=by)).rowcount)

    # -- the 'notify' outbox rows -----------------------------------------------------------------

    def claim_notify(self, limit: int, lease_seconds: float, max_attempts: int) -> List[OutboxRow]:
        now = utcnow()
        due = ((helpdesk_outbox.c.kind == NOTIFY) & helpdesk_outbox.c.sent_at.is_(None)
               & (helpdesk_outbox.c.next_attempt_at <= now) & (helpdesk_outbox.c.attempts < max_attempts))
        claim = dict(attempts=helpdesk_outbox.c.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds))
        columns = (helpdesk_outbox.c.id, helpdesk_outbox.c.sender_id, helpdesk_outbox.c.payload,
                   helpdesk_outbox.c.attempts)
        with self.engine.begin() as conn:
            if self._postgres:
                chosen = (sa.select(helpdesk_outbox.c.id).where(due).order_by(helpdesk_outbox.c.id).limit(limit)
                          .with_for_update(skip_locked=True))
                rows = conn.execute(helpdesk_outbox.update().where(helpdesk_outbox.c.id.in_(chosen.scalar_subquery()))
                                    .values(**claim).returning(*columns)).all()
            else:
                rows = self._claim_sqlite(conn, due, claim, columns, limit)
        return sorted((OutboxRow(r.id, r.sender_id, json.loads(r.payload), r.attempts) for r in rows),
                      key=lambda r: r.id)

    @staticmethod
    def _claim_sqlite(conn: Connection, due: Any, claim: Dict[str, Any], columns: Any, limit: int) -> List[Any]:
        ids = conn.execute(sa.select(helpdesk_outbox.c.id).where(due).order_by(helpdesk_outbox.c.id)
                           .limit(limit)).scalars().all()
        taken = [i for i in ids if conn.execute(helpdesk_outbox.update()
                                                .where(helpdesk_outbox.c.id == i, due).values(**claim)).rowcount]
        return conn.execute(sa.select(*columns).where(helpdesk_outbox.c.id.in_(taken))).all() if taken else []

    def mark_sent(self, row_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(helpdesk_outbox.update().where(helpdesk_outbox.c.id == row_id)
                         .values(sent_at=utcnow(), last_error=None))

    def mark_failed(self, row_id: int, error: str, retry_in_seconds: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(helpdesk_outbox.update().where(helpdesk_outbox.c.id == row_id)
                         .values(last_error=error[:2000],
                                 next_attempt_at=utcnow() + timedelta(seconds=retry_in_seconds)))
