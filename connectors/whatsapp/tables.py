"""The channel's tables as SQLAlchemy Core objects for queries, and the helpers every store uses on them.

The schema is owned by the conversation-log migrations (m0002, m0006, m0011); `tests/conversation_log/
test_schema.py` proves the migrated tables equal these declarations. All times are naive UTC
(`utcnow()`), the same on SQLite and Postgres.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

inbox = sa.Table(
    "whatsapp_inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_sid", sa.String(64), nullable=False, unique=True),
    sa.Column("sender_id", sa.String(32), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("public_base_url", sa.String(500)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime),
    sa.Column("lease_owner", sa.String(120)),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("bot_text", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Column("processed_at", sa.DateTime),
)

senders = sa.Table(
    "whatsapp_senders",
    metadata,
    sa.Column("sender_id", sa.String(32), primary_key=True),
    sa.Column("profile_name", sa.String(200)),
    sa.Column("opted_out", sa.Boolean, nullable=False, default=False),
    sa.Column("opted_out_at", sa.DateTime),
    sa.Column("last_inbound_at", sa.DateTime),
    sa.Column("last_buttons", sa.Text),
    sa.Column("rate_limit_notified_at", sa.DateTime),
    sa.Column("medium", sa.String(10)),  # m0011: how the client last wrote (phones.WHATSAPP / SMS); NULL = whatsapp
    sa.Column("undeliverable_at", sa.DateTime),  # m0011: Twilio said this number cannot get our messages
    sa.Column("undeliverable_code", sa.Integer),  # m0011: the error code that said so
)

outbound = sa.Table(
    "whatsapp_outbound",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(32), nullable=False),
    sa.Column("inbox_id", sa.Integer),
    sa.Column("kind", sa.String(20), nullable=False, default="bot"),
    sa.Column("body", sa.Text),
    sa.Column("media_url", sa.Text),
    sa.Column("twilio_sid", sa.String(64), unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error_code", sa.Integer),
    sa.Column("error_message", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("reply_index", sa.Integer),  # m0006
    sa.Column("template_name", sa.String(100)),  # m0011: the template this message may go as outside the window
    sa.Column("template_variables", sa.Text),  # m0011: its variables, JSON
    sa.Column("template_state", sa.String(20)),  # m0011: offered | sent | retried (see outbound_store)
)

status_events = sa.Table(
    "whatsapp_status_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("twilio_sid", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error_code", sa.Integer),
    sa.Column("received_at", sa.DateTime, nullable=False),
)

# Inbox statuses. pending/processing are "unfinished"; the rest are final.
PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
RATE_LIMITED, OPTED_OUT = "rate_limited", "opted_out"
UNFINISHED = (PENDING, PROCESSING)
# MessageSid prefix of the bot's own queued messages (`proactive.py`): reminders, waitlist offers
PROACTIVE_PREFIX = "proactive:"
# Postgres LISTEN/NOTIFY channel of new inbox rows, payload = the sender id (`inbox_notify.py`)
INBOX_NOTIFY_CHANNEL = "whatsapp_inbox"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def dialect_insert(engine: Engine, table: sa.Table) -> Any:
    """`INSERT` with `on_conflict_*` for Postgres and SQLite (the two dialects we run on)."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect for the WhatsApp channel: {engine.dialect.name}")
