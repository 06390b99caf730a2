"""The handoff tables as SQLAlchemy Core objects (the schema itself is owned by migration m0008).

- handoffs: one row per conversation ever handed off; `state` 'human' while the team has it, 'bot'
  after it came back (`ended_by` says how: operator, helpdesk, idle_timeout, ...).
- helpdesk_outbox: what must reach outside systems, written in the same transaction as the events
  that caused it; the helpdesk mirror drains every kind but 'notify', `notify.py` drains 'notify'.
  `payload` is JSON text. Times are naive UTC, like every table of the conversation log.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

metadata = sa.MetaData()

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("sender_id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("last_message_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("ended_by", sa.Text),
    sa.Column("helpdesk_conversation_id", sa.Text),
    sa.Column("helpdesk_contact_id", sa.Text),
)

helpdesk_outbox = sa.Table(
    "helpdesk_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("last_error", sa.Text),
)

HUMAN, BOT = "human", "bot"
MESSAGE_IN, MESSAGE_OUT, HANDOFF, HANDBACK, NOTIFY = "message_in", "message_out", "handoff", "handback", "notify"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
