"""`tracker_snapshots`: where each sender's bounded retrieve window starts, and the state before it.

`WindowedSQLTrackerStore.retrieve` loads only the events after `event_id` plus synthetic events that
restore `state` (slot values, active loop), so a turn costs the same at turn 400 as at turn 10.
One row per sender, rewritten when the window moves.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    snapshots = sa.Table(
        "tracker_snapshots",
        metadata,
        sa.Column("sender_id", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, server_default=sa.func.current_timestamp()),
    )
    snapshots.create(conn, checkfirst=True)
