"""The helpdesk mirror's own tables: which Chatwoot conversation mirrors each WhatsApp conversation, and
which Chatwoot webhook deliveries were already handled.

Frozen copy of the schema at this version (queries use `rasa_project.helpdesk.tables`, which must match).
- helpdesk_conversations: every conversation is mirrored from its first message, before any handoff, so
  the mapping cannot live on `handoffs`; `conversation_id` is looked up by the webhook (indexed).
- helpdesk_webhook_events: one row per handled event (`message:<id>`, `status:<conversation>:<time>`), so
  a re-delivered webhook never sends an agent's reply twice. Times are naive UTC.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "helpdesk_conversations",
        metadata,
        sa.Column("sender_id", sa.Text, primary_key=True),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Index("ix_helpdesk_conversations_conversation", "conversation_id"),
    )
    sa.Table(
        "helpdesk_webhook_events",
        metadata,
        sa.Column("event_key", sa.Text, primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
    )
    metadata.create_all(conn, checkfirst=True)
