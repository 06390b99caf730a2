"""The waitlist table as a SQLAlchemy Core object (the schema itself is owned by migration m0013).

waitlist_entries: one row per client per slot per attempt, ordered by (joined_at, id). Times are naive UTC,
like every table of the conversation log. The states and which of them are live (a client is on the list)
or hold the slot's place (at most one entry per slot, enforced by a partial unique index) are here.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

metadata = sa.MetaData()

WAITING, OFFERED, ACCEPTED, BOOKED = "waiting", "offered", "accepted", "booked"
DECLINED, EXPIRED, CANCELLED, WITHDRAWN = "declined", "expired", "cancelled", "withdrawn"
STATES = (WAITING, OFFERED, ACCEPTED, BOOKED, DECLINED, EXPIRED, CANCELLED, WITHDRAWN)
LIVE = (WAITING, OFFERED, ACCEPTED)  # the client is on the slot's list (one such entry per client and slot)
HOLDING = (OFFERED, ACCEPTED)  # the entry holds the slot's freed place (one such entry per slot)

_LIVE_SQL = sa.text("state IN ('waiting', 'offered', 'accepted')")
_HOLDING_SQL = sa.text("state IN ('offered', 'accepted')")

entries = sa.Table(
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
             postgresql_where=_LIVE_SQL, sqlite_where=_LIVE_SQL),
    sa.Index("uq_waitlist_one_offer_per_slot", "slot_id", unique=True,
             postgresql_where=_HOLDING_SQL, sqlite_where=_HOLDING_SQL),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
