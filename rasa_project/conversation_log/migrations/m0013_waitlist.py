"""The waitlist: clients waiting for a place in a full schedule slot, in the order they joined.

Frozen copy of the schema at this version (queries use `rasa_project.waitlist.tables`, which must match).
- waitlist_entries: one row per client per slot per attempt; `state` waiting → offered → accepted → booked,
  or declined / expired / cancelled / withdrawn. Times are naive UTC.
- uq_waitlist_live_client: a client is on a slot's waitlist once while the entry is live (waiting, offered,
  accepted); a second join finds the first place.
- uq_waitlist_one_offer_per_slot: at most one entry per slot holds the place (offered or accepted), so two
  clients are never offered the same place at once, whatever the code does (partial unique index, on
  Postgres and SQLite).
- ix_waitlist_slot_queue serves "the first waiting client of a slot" (slot_id, state, joined_at, id);
  ix_waitlist_state_expires the sweep of offers whose time ran out; ix_waitlist_phone_state a client's offer.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_LIVE = "state IN ('waiting', 'offered', 'accepted')"
_HOLDING = "state IN ('offered', 'accepted')"


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "waitlist_entries",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slot_id", sa.Integer, nullable=False),
        sa.Column("service_code", sa.Text, nullable=False),
        sa.Column("service_name", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("client_phone", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("joined_at", sa.DateTime, nullable=False),
        sa.Column("offered_at", sa.DateTime),
        sa.Column("offer_expires_at", sa.DateTime),
        sa.Column("answered_at", sa.DateTime),
        sa.Column("booking_id", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Index("uq_waitlist_live_client", "slot_id", "client_phone", unique=True,
                 postgresql_where=sa.text(_LIVE), sqlite_where=sa.text(_LIVE)),
        sa.Index("uq_waitlist_one_offer_per_slot", "slot_id", unique=True,
                 postgresql_where=sa.text(_HOLDING), sqlite_where=sa.text(_HOLDING)),
        sa.Index("ix_waitlist_slot_queue", "slot_id", "state", "joined_at", "id"),
        sa.Index("ix_waitlist_state_expires", "state", "offer_expires_at"),
        sa.Index("ix_waitlist_phone_state", "client_phone", "state"),
    )
    metadata.create_all(conn, checkfirst=True)
