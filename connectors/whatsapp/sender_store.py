"""Per-sender channel state: opt-out, the numbered options last sent, the rate-limit notice, and what
an outbound message needs to know (`Recipient`: medium, last inbound, undeliverable mark) in one read.

Synchronous SQLAlchemy (callers use `asyncio.to_thread`). A sender row exists once a message of
theirs was accepted; writes here upsert so proactive messages work for unknown senders too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.whatsapp.options import Option
from connectors.whatsapp.tables import dialect_insert, inbox, senders, utcnow
from rasa_project.conversation_log.database import autocommit_engine
from rasa_project.phones import SMS, WHATSAPP

_OPTIONS_PINNING_TEXT = sa.text("""
WITH pin AS (UPDATE whatsapp_inbox SET bot_text = body WHERE id = :inbox_id AND bot_text IS NULL)
INSERT INTO whatsapp_senders (sender_id, opted_out, last_buttons) VALUES (:sender_id, false, :buttons)
ON CONFLICT (sender_id) DO UPDATE SET last_buttons = EXCLUDED.last_buttons
""")


@dataclass(frozen=True)
class SenderState:
    sender_id: str
    opted_out: bool
    options: List[Option]
    rate_limit_notified_at: Optional[datetime]


@dataclass(frozen=True)
class Recipient:
    """What the send path needs about a client, read once per message (it replaced the opt-out read)."""

    sender_id: str
    opted_out: bool = False
    medium: str = WHATSAPP
    last_inbound_at: Optional[datetime] = None
    undeliverable_code: Optional[int] = None
    profile_name: Optional[str] = None

    @classmethod
    def stored(cls, sender_id: str, opted_out: Optional[bool], medium: Optional[str],
               last_inbound_at: Optional[datetime], undeliverable_code: Optional[int],
               profile_name: Optional[str]) -> Recipient:
        """From the sender row's columns (a NULL medium is WhatsApp)."""
        return cls(sender_id, bool(opted_out), SMS if medium == SMS else WHATSAPP, last_inbound_at,
                   undeliverable_code, profile_name)


class SenderStore:
    def __init__(self, engine: Engine) -> None:
        """Every method is one statement: on the autocommit engine (`database.autocommit_engine`)."""
        self.engine = engine


    @property
    def autocommit(self) -> Engine:
        """`engine`'s autocommit sibling (`database.autocommit_engine`): one statement, one round trip."""
        return autocommit_engine(self.engine)
    def _upsert(self, conn: sa.engine.Connection, sender_id: str, **values: object) -> None:
        stmt = dialect_insert(self.engine, senders).values({"opted_out": False, **values, "sender_id": sender_id})
        conn.execute(stmt.on_conflict_do_update(index_elements=["sender_id"], set_=values))

    def get(self, sender_id: str) -> SenderState:
        with self.autocommit.connect() as conn:
            row = conn.execute(sa.select(senders).where(senders.c.sender_id == sender_id)).first()
        if row is None:
            return SenderState(sender_id, False, [], None)
        m = row._mapping
        options = [Option(o["title"], o["payload"]) for o in json.loads(m["last_buttons"] or "[]")]
        return SenderState(sender_id, bool(m["opted_out"]), options, m["rate_limit_notified_at"])

    def recipient(self, sender_id: str) -> Recipient:
        """The client's delivery state; an unknown client never wrote (outside the window, WhatsApp)."""
        with self.autocommit.connect() as conn:
            row = conn.execute(sa.select(senders.c.opted_out, senders.c.medium, senders.c.last_inbound_at,
                                         senders.c.undeliverable_code, senders.c.profile_name)
                               .where(senders.c.sender_id == sender_id)).first()
        if row is None:
            return Recipient(sender_id)
        return Recipient.stored(sender_id, row.opted_out, row.medium, row.last_inbound_at, row.undeliverable_code,
                                row.profile_name)

    def undeliverable(self, sender_id: str) -> Optional[int]:
        """The Twilio error code that marked this client undeliverable (63003, 63024, 21610, 63014), or None.

        Proactive senders (reminders, waitlist) ask before queueing anything: the mark means Twilio said
        this number cannot get our messages; it is cleared when the client writes again."""
        with self.autocommit.connect() as conn:
            value = conn.execute(sa.select(senders.c.undeliverable_code)
                                 .where(senders.c.sender_id == sender_id)).scalar()
        return int(value) if value is not None else None

    def mark_undeliverable(self, sender_id: str, code: int) -> None:
        with self.autocommit.begin() as conn:
            self._upsert(conn, sender_id, undeliverable_at=utcnow(), undeliverable_code=code)

    def is_opted_out(self, sender_id: str) -> bool:
        with self.autocommit.connect() as conn:
            value = conn.execute(sa.select(senders.c.opted_out).where(senders.c.sender_id == sender_id)).scalar()
        return bool(value)

    def set_opted_out(self, sender_id: str, opted_out: bool) -> None:
        with self.autocommit.begin() as conn:
            self._upsert(conn, sender_id, opted_out=opted_out, opted_out_at=utcnow() if opted_out else None,
                         last_buttons=None)

    def store_options(self, sender_id: str, options: List[Option], pin_text_of: Optional[int] = None) -> None:
        """The options just sent; `pin_text_of`: the inbox row whose turn sent them gets its text pinned as
        what Rasa receives (`bot_text`, when still unset) in the same statement. The gate leaves a plain
        text unpinned (`gate.py`): a retry maps it again to the same text, since the options are the one
        thing it reads that a turn changes."""
        buttons = json.dumps([o.as_dict() for o in options], ensure_ascii=False)
        if pin_text_of is not None and self.engine.dialect.name == "postgresql":
            with self.autocommit.connect() as conn:
                conn.execute(_OPTIONS_PINNING_TEXT, dict(sender_id=sender_id, buttons=buttons, inbox_id=pin_text_of))
            return
        with self.autocommit.begin() as conn:
            if pin_text_of is not None:
                conn.execute(inbox.update().where(inbox.c.id == pin_text_of, inbox.c.bot_text.is_(None))
                             .values(bot_text=inbox.c.body))
            self._upsert(conn, sender_id, last_buttons=buttons)

    def clear_options(self, sender_id: str) -> None:
        with self.autocommit.begin() as conn:
            conn.execute(senders.update().where(senders.c.sender_id == sender_id).values(last_buttons=None))

    def take_rate_limit_notice(self, sender_id: str, window_seconds: float) -> bool:
        """True (and recorded) when no rate-limit notice went to this sender within the window."""
        now = utcnow()
        cutoff = now - timedelta(seconds=window_seconds)
        with self.autocommit.begin() as conn:
            result = conn.execute(
                senders.update()
                .where(senders.c.sender_id == sender_id,
                       sa.or_(senders.c.rate_limit_notified_at.is_(None),
                              senders.c.rate_limit_notified_at <= cutoff))
                .values(rate_limit_notified_at=now))
            return result.rowcount == 1
