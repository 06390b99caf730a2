"""Rasa's `events` table, created by us so the schema has one owner.

Same columns as `rasa.core.tracker_store.SQLTrackerStore.SQLEvent`, so Rasa's own `create_all` finds
it and does nothing; events are read in `id` order, never by float timestamp (rasa#13019).
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    events = sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, sa.Sequence("events_seq"), primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )
    events.create(conn, checkfirst=True)
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_id ON events (sender_id)"))
