"""The WhatsApp channel's tables: durable inbox, per-sender state, outbound messages, status callbacks.

Frozen copy of the schema at this version (queries use `connectors.whatsapp.tables`, which must match;
later changes get their own migration). Times are naive UTC `TIMESTAMP`s on both SQLite and Postgres.

- whatsapp_inbox: every accepted inbound message (MessageSid unique = idempotency), its processing
  status and lease; `(sender_id, id)` serves the per-sender "oldest unfinished" claim,
  `(status, next_attempt_at)` the poller, `(sender_id, received_at)` the rate-limit count.
- whatsapp_senders: opt-out state, the last numbered options, when the rate-limit notice went out.
- whatsapp_outbound: every message we tried to send, with Twilio's SID and final status.
- whatsapp_status_events: every status callback, append-only.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
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
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("lease_owner", sa.String(120)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("bot_text", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("processed_at", sa.DateTime),
        sa.Index("ix_whatsapp_inbox_sender_id_id", "sender_id", "id"),
        sa.Index("ix_whatsapp_inbox_status_next_attempt", "status", "next_attempt_at"),
        sa.Index("ix_whatsapp_inbox_sender_received", "sender_id", "received_at"),
    )
    sa.Table(
        "whatsapp_senders",
        metadata,
        sa.Column("sender_id", sa.String(32), primary_key=True),
        sa.Column("profile_name", sa.String(200)),
        sa.Column("opted_out", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("opted_out_at", sa.DateTime),
        sa.Column("last_inbound_at", sa.DateTime),
        sa.Column("last_buttons", sa.Text),
        sa.Column("rate_limit_notified_at", sa.DateTime),
    )
    sa.Table(
        "whatsapp_outbound",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(32), nullable=False),
        sa.Column("inbox_id", sa.Integer),
        sa.Column("kind", sa.String(20), nullable=False, server_default="bot"),
        sa.Column("body", sa.Text),
        sa.Column("media_url", sa.Text),
        sa.Column("twilio_sid", sa.String(64), unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Index("ix_whatsapp_outbound_sender_id", "sender_id"),
        sa.Index("ix_whatsapp_outbound_status_created", "status", "created_at"),
    )
    sa.Table(
        "whatsapp_status_events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("twilio_sid", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Index("ix_whatsapp_status_events_sid", "twilio_sid"),
    )
    metadata.create_all(conn, checkfirst=True)
