"""The helpdesk mirror's tables as SQLAlchemy Core objects (the schema is owned by migration m0010);
the outbox it drains and the `handoffs` row it annotates are H1's (`rasa_project.handoff.tables`, m0008).
Times are naive UTC, like every table of the conversation log."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

conversations = sa.Table(
    "helpdesk_conversations",
    metadata,
    sa.Column("sender_id", sa.Text, primary_key=True),
    sa.Column("contact_id", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

webhook_events = sa.Table(
    "helpdesk_webhook_events",
    metadata,
    sa.Column("event_key", sa.Text, primary_key=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
)
