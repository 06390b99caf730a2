"""The durable inbox: accepted inbound messages and their per-sender, in-order claims.

Synchronous SQLAlchemy (callers use `asyncio.to_thread`). Order per sender: only a sender's OLDEST
unfinished message can be claimed, and only when it is pending (and out of backoff) or its lease
expired (the instance processing it died). On Postgres the claim reads that row with
`FOR UPDATE SKIP LOCKED`, so instances sharing the inbox never wait on each other, only while it is still
unfinished (a row finished since the subquery's snapshot is not claimed again), and the update is
conditional on the row being unchanged (attempts doubles as a version), so a claim is taken once.

Round trips (issue 13): on Postgres each method is ONE statement on the autocommit engine
(`database.autocommit_engine`): `accept` inserts the row, upserts the sender and NOTIFYs in one statement
(durable when it returns, before the webhook's 200); `claim_next` locks, claims and reads what the turn
needs (the sender's state, the delivery state, the rate-limit count, whether more messages wait) in one
statement too; the statements are in `inbox_sql.py`. SQLite (the embedded default) runs the same steps as
separate statements in a transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.whatsapp.inbound import InboundMessage
from connectors.whatsapp.inbox_notify import notify as notify_inbox
from connectors.whatsapp.inbox_sql import ACCEPT, BOT_TEXT_CLEARING_OPTIONS, CLAIM, FINISH, SET_BOT_TEXT, finish_update
from connectors.whatsapp.options import Option
from connectors.whatsapp.sender_store import Recipient, SenderState
from connectors.whatsapp.tables import (
    INBOX_NOTIFY_CHANNEL,
    PENDING,
    PROACTIVE_PREFIX,
    PROCESSING,
    UNFINISHED,
    dialect_insert,
    inbox,
    senders,
    utcnow,
)
from rasa_project.conversation_log.database import autocommit_engine


@dataclass(frozen=True)
class ClaimContext:
    """What the claim statement read for the turn, so the turn does not ask again."""

    sender: SenderState  # the gate's state: opt-out, the options last sent, the rate-limit notice
    recent: Optional[int]  # the client's messages in the rate-limit window before this one (None: not read)
    recipient: Optional[Recipient] = None  # what the turn's replies need (medium, window, undeliverable mark)


@dataclass(frozen=True)
class InboxRow:
    id: int
    message_sid: str
    sender_id: str
    received_at: datetime
    body: str
    metadata: Dict[str, Any]
    public_base_url: Optional[str]
    status: str
    attempts: int
    bot_text: Optional[str]
    context: Optional[ClaimContext] = None  # what the claim read along (Postgres); None: ask the stores

    @classmethod
    def from_row(cls, row: Any) -> InboxRow:
        m = row._mapping
        return cls(m["id"], m["message_sid"], m["sender_id"], m["received_at"], m["body"],
                   json.loads(m["metadata"] or "{}"), m["public_base_url"], m["status"], m["attempts"],
                   m["bot_text"])


@dataclass(frozen=True)
class Claim:
    row: Optional[InboxRow]  # claimed for us, or None
    retry_in: Optional[float] = None  # the sender's oldest message is in backoff for this long
    more: bool = True  # other unfinished messages of the sender wait behind this one (True: unknown)


def _context(m: Any, sender_id: str) -> ClaimContext:
    if m["s_sender_id"] is None:
        return ClaimContext(SenderState(sender_id, False, [], None), m["recent"], Recipient(sender_id))
    options = [Option(o["title"], o["payload"]) for o in json.loads(m["s_last_buttons"] or "[]")]
    recipient = Recipient.stored(sender_id, m["s_opted_out"], m["s_medium"], m["s_last_inbound_at"],
                                 m["s_undeliverable_code"], m["s_profile_name"])
    return ClaimContext(SenderState(sender_id, recipient.opted_out, options, m["s_rate_limit_notified_at"]),
                        m["recent"], recipient)


class InboxStore:
    def __init__(self, engine: Engine, *, notify: bool = False) -> None:
        """`notify`: `accept` also sends `NOTIFY whatsapp_inbox, '<sender>|<id>'` in its transaction (Postgres
        only), which wakes the worker of every Rasa process listening (`inbox_notify.py`)."""
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self.notify = notify and self.is_postgres
        self._accept = sa.text(ACCEPT.format(
            notify=", pg_notify(:channel, sender_id || '|' || id)" if self.notify else ""))


    @property
    def autocommit(self) -> Engine:
        """`engine`'s autocommit sibling (`database.autocommit_engine`): one statement, one round trip."""
        return autocommit_engine(self.engine)
    def accept(self, message: InboundMessage, public_base_url: str) -> Optional[int]:
        """Store a new message; its id, or None when this MessageSid was accepted before."""
        now = utcnow()
        metadata = json.dumps(message.metadata, ensure_ascii=False)
        if self.is_postgres:
            with self.autocommit.connect() as conn:
                inserted = conn.execute(self._accept, dict(
                    message_sid=message.message_sid, sender_id=message.sender_id, now=now, body=message.text,
                    metadata=metadata, public_base_url=public_base_url, profile_name=message.profile_name,
                    medium=message.medium, channel=INBOX_NOTIFY_CHANNEL)).scalar()
            return None if inserted is None else int(inserted)
        values = dict(message_sid=message.message_sid, sender_id=message.sender_id, received_at=now,
                      body=message.text, metadata=metadata,
                      public_base_url=public_base_url, status=PENDING, attempts=0)
        with self.engine.begin() as conn:
            stmt = dialect_insert(self.engine, inbox).values(**values)
            stmt = stmt.on_conflict_do_nothing(index_elements=["message_sid"])
            if self.is_postgres:
                inserted = conn.execute(stmt.returning(inbox.c.id)).scalar()
            else:
                result = conn.execute(stmt)
                inserted = result.lastrowid if result.rowcount == 1 else None
            if inserted is None:
                return None
            # the client wrote: the window opens, the medium is the one they used, an undeliverable mark goes
            upsert = dialect_insert(self.engine, senders).values(
                sender_id=message.sender_id, profile_name=message.profile_name, opted_out=False,
                last_inbound_at=now, medium=message.medium)
            conn.execute(upsert.on_conflict_do_update(
                index_elements=["sender_id"],
                set_={"profile_name": upsert.excluded.profile_name, "last_inbound_at": now,
                      "medium": message.medium, "undeliverable_at": None, "undeliverable_code": None}))
            if self.notify:  # delivered at commit, with the row
                notify_inbox(conn, message.sender_id, int(inserted))
            return int(inserted)

    def claim_next(self, sender_id: str, owner: str, lease_seconds: float,
                   recent_window: Optional[float] = None) -> Claim:
        """The sender's oldest unfinished message, claimed for `owner`, or why not. `recent_window`: on
        Postgres the claim also counts the client's messages in this many seconds before it (rate limit)."""
        now = utcnow()
        if self.is_postgres:
            return self._claim_postgres(sender_id, owner, lease_seconds, recent_window, now)
        oldest = (sa.select(sa.func.min(inbox.c.id))
                  .where(inbox.c.sender_id == sender_id, inbox.c.status.in_(UNFINISHED))
                  .scalar_subquery())
        # The status test is repeated outside the subquery on purpose: under READ COMMITTED, FOR UPDATE
        # re-checks the outer WHERE against the row as a concurrent commit left it, never the subquery's
        # snapshot; without it a row another worker just finished comes back locked and is claimed again.
        query = sa.select(inbox).where(inbox.c.id == oldest, inbox.c.status.in_(UNFINISHED))
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            found = conn.execute(query).first()
            if found is None:
                return Claim(None)
            row = InboxRow.from_row(found)
            m = found._mapping
            if row.status == PENDING and m["next_attempt_at"] is not None and m["next_attempt_at"] > now:
                return Claim(None, (m["next_attempt_at"] - now).total_seconds())
            if row.status == PROCESSING and m["lease_until"] is not None and m["lease_until"] > now:
                return Claim(None)  # another worker holds it; order means we wait
            updated = conn.execute(
                inbox.update()
                .where(inbox.c.id == row.id, inbox.c.status == row.status, inbox.c.attempts == row.attempts)
                .values(status=PROCESSING, lease_owner=owner,
                        lease_until=now + timedelta(seconds=lease_seconds), attempts=row.attempts + 1)
            )
            if updated.rowcount != 1:
                return Claim(None)
        return Claim(InboxRow(**{**row.__dict__, "status": PROCESSING, "attempts": row.attempts + 1}))

    def _claim_postgres(self, sender_id: str, owner: str, lease_seconds: float, recent_window: Optional[float],
                        now: datetime) -> Claim:
        with self.autocommit.connect() as conn:
            found = conn.execute(CLAIM, dict(
                sender_id=sender_id, owner=owner, until=now + timedelta(seconds=lease_seconds), now=now,
                window=float(recent_window or 0.0), proactive=PROACTIVE_PREFIX + "%")).first()
        if found is None:
            return Claim(None, more=False)
        m = found._mapping
        more = bool(m["more"])
        if not m["claimed"]:
            if m["status"] == PENDING and m["next_attempt_at"] is not None and m["next_attempt_at"] > now:
                return Claim(None, (m["next_attempt_at"] - now).total_seconds(), more=more)
            return Claim(None, more=more)  # another worker holds it; order means we wait
        context = _context(m, m["sender_id"])
        if recent_window is None:
            context = ClaimContext(context.sender, None, context.recipient)
        row = InboxRow.from_row(found)
        return Claim(InboxRow(**{**row.__dict__, "status": PROCESSING, "attempts": row.attempts + 1,
                                 "context": context}), more=more)

    def renew_lease(self, row_id: int, owner: str, lease_seconds: float) -> bool:
        with self.autocommit.begin() as conn:
            result = conn.execute(
                inbox.update().where(inbox.c.id == row_id, inbox.c.lease_owner == owner,
                                     inbox.c.status == PROCESSING)
                .values(lease_until=utcnow() + timedelta(seconds=lease_seconds)))
            return result.rowcount == 1

    def set_bot_text(self, row_id: int, owner: str, bot_text: str, clear_options_of: Optional[str] = None) -> None:
        """What Rasa receives for this row; `clear_options_of`: that sender's stored options are forgotten in
        the same statement (they were used to map this reply)."""
        if clear_options_of is not None and self.is_postgres:
            with self.autocommit.connect() as conn:
                conn.execute(BOT_TEXT_CLEARING_OPTIONS, dict(bot_text=bot_text, id=row_id, owner=owner,
                                                              sender_id=clear_options_of))
            return
        with self.autocommit.begin() as conn:
            conn.execute(SET_BOT_TEXT, dict(row_id=row_id, owner=owner, bot_text=bot_text))
            if clear_options_of is not None:
                conn.execute(senders.update().where(senders.c.sender_id == clear_options_of)
                             .values(last_buttons=None))

    def finish(self, row_id: int, owner: str, status: str, error: Optional[str] = None) -> bool:
        """Final status (done, failed, rate_limited, opted_out); False when our lease was lost."""
        with self.autocommit.begin() as conn:
            return conn.execute(FINISH, dict(row_id=row_id, owner=owner, status=status, now=utcnow(),
                                              error=error)).rowcount == 1

    @staticmethod
    def finish_statement(row_id: int, owner: str, status: str, error: Optional[str] = None) -> sa.sql.Update:
        """`finish`'s UPDATE with its values in it, for the turn's tracker save to run along (`save_along.py`:
        composed into that save's statement, where SQLAlchemy cannot bind an UPDATE's parameters later)."""
        return finish_update(row_id, owner, status, utcnow(), error)

    def retry_later(self, row_id: int, owner: str, error: str, delay_seconds: float) -> bool:
        with self.autocommit.begin() as conn:
            result = conn.execute(
                inbox.update().where(inbox.c.id == row_id, inbox.c.lease_owner == owner)
                .values(status=PENDING, lease_owner=None, lease_until=None, last_error=error,
                        next_attempt_at=utcnow() + timedelta(seconds=delay_seconds)))
            return result.rowcount == 1

    def hand_off(self, sender_id: str) -> None:
        """`NOTIFY whatsapp_inbox, '<sender>|'`: every listening process is woken for `sender_id`, and the
        first one free to claim runs its next message (`worker.py`: a busy instance hands a sender on).
        A no-op without NOTIFY (SQLite, `INBOX_NOTIFY=false`): nobody else listens."""
        if not self.notify:
            return
        with self.autocommit.connect() as conn:
            notify_inbox(conn, sender_id)

    def release(self, row_id: int, owner: str) -> None:
        """Give a claimed row back untouched (shutdown): pending again, the attempt not counted."""
        with self.autocommit.begin() as conn:
            conn.execute(
                inbox.update().where(inbox.c.id == row_id, inbox.c.lease_owner == owner,
                                     inbox.c.status == PROCESSING)
                .values(status=PENDING, lease_owner=None, lease_until=None, attempts=inbox.c.attempts - 1))

    def claimable_senders(self, limit: int = 500) -> List[str]:
        """Senders whose OLDEST unfinished message is ready: pending out of backoff, or leased by an
        instance whose lease expired (it died mid-turn)."""
        now = utcnow()
        ready = sa.or_(
            sa.and_(inbox.c.status == PENDING,
                    sa.or_(inbox.c.next_attempt_at.is_(None), inbox.c.next_attempt_at <= now)),
            sa.and_(inbox.c.status == PROCESSING, inbox.c.lease_until < now),
        )
        older = inbox.alias("older")
        is_oldest = ~sa.exists().where(older.c.sender_id == inbox.c.sender_id, older.c.id < inbox.c.id,
                                       older.c.status.in_(UNFINISHED))
        query = (sa.select(inbox.c.sender_id).where(ready, is_oldest)
                 .group_by(inbox.c.sender_id).limit(limit))
        with self.autocommit.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def backlog(self) -> int:
        with self.autocommit.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(inbox)
                                    .where(inbox.c.status.in_(UNFINISHED))).scalar() or 0)

    def count_recent(self, sender_id: str, before_id: int, since: datetime) -> int:
        """Messages of `sender_id` received after `since` and accepted before row `before_id` (the
        bot's own proactive rows are not the client writing)."""
        with self.autocommit.connect() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(inbox)
                .where(inbox.c.sender_id == sender_id, inbox.c.id < before_id, inbox.c.received_at > since,
                       ~inbox.c.message_sid.startswith(PROACTIVE_PREFIX))
            ).scalar() or 0)
