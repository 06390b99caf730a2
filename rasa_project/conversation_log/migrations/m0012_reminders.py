"""Reminders of upcoming bookings (`rasa_project/reminders/`): one row per (booking, offset), and the
`reminder_stats` figure.

Frozen copy of the schema at this version (queries use `rasa_project.reminders.tables`, which must match).
Times are naive UTC. `(state, due_at)` serves the scheduler's claim of due rows (`FOR UPDATE SKIP LOCKED`),
`starts_at` the sync's "rows of the days it read", `booking_id` (first column of the unique key) the planner.

`reminder_stats`: per UTC day of the due time, how many reminders were planned (every row but the
cancelled ones), sent, skipped, failed, cancelled and confirmed (the client answered "1 confirmo" to a
sent one), and the confirmation rate (confirmed / sent, NULL when none was sent).
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

STATS_SQL = """
CREATE VIEW reminder_stats AS
SELECT day,
       SUM(CASE WHEN state <> 'cancelled' THEN 1 ELSE 0 END) AS planned,
       SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS sent,
       SUM(CASE WHEN state = 'skipped' THEN 1 ELSE 0 END) AS skipped,
       SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       SUM(CASE WHEN state = 'sent' AND confirmed_at IS NOT NULL THEN 1 ELSE 0 END) AS confirmed,
       CASE WHEN SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) = 0 THEN NULL
            ELSE 1.0 * SUM(CASE WHEN state = 'sent' AND confirmed_at IS NOT NULL THEN 1 ELSE 0 END)
                 / SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) END AS confirmation_rate
  FROM (SELECT CAST(due_at AS DATE) AS day, state, confirmed_at FROM reminders) r
 GROUP BY day
"""
SQLITE_DAY = "CAST(due_at AS DATE)"


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "reminders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("booking_id", sa.String(64), nullable=False),
        sa.Column("client_phone", sa.String(32), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("service_name", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("offset_minutes", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text),
        sa.Column("twilio_sid", sa.String(64)),
        sa.Column("twilio_status", sa.String(20)),
        sa.Column("claimed_by", sa.String(120)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("confirmed_at", sa.DateTime),
        sa.UniqueConstraint("booking_id", "offset_minutes", name="uq_reminders_booking_offset"),
        sa.Index("ix_reminders_state_due", "state", "due_at"),
        sa.Index("ix_reminders_starts_at", "starts_at"),
    )
    metadata.create_all(conn, checkfirst=True)
    sql = STATS_SQL if conn.dialect.name == "postgresql" else STATS_SQL.replace(SQLITE_DAY, "date(due_at)")
    conn.execute(sa.text(sql))
