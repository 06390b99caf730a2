"""Human handoff: `handoffs` (who is with the team, since when, how it ended) and `helpdesk_outbox`
(messages and handoff events for the helpdesk mirror and the notification webhook).

Frozen copy of the schema at this version (queries use `rasa_project.handoff.tables`, which must match).
`(state, last_message_at)` serves the idle-timeout claim; `(sent_at, next_attempt_at)` the outbox drains
(`FOR UPDATE SKIP LOCKED`), `(sender_id, id)` a conversation's rows in order.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
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
        sa.Index("ix_handoffs_state_last_message", "state", "last_message_at"),
    )
    sa.Table(
        "helpdesk_outbox",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_helpdesk_outbox_sent_next", "sent_at", "next_attempt_at"),
        sa.Index("ix_helpdesk_outbox_sender_id", "sender_id", "id"),
    )
    metadata.create_all(conn, checkfirst=True)
