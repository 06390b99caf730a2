"""The `reminders` table as SQLAlchemy Core, and its states.

The schema is owned by migration m0012 (`tests/conversation_log/test_schema.py` proves they match).
Times are naive UTC, like the channel's tables.

States: pending (waiting for its due time) → claimed (its proactive message is in the inbox) → sent
(Twilio accepted it) / skipped (not sent on purpose: `reason`) / failed (`reason`); cancelled (the
booking was cancelled or moved away) from pending or claimed.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

reminders = sa.Table(
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
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
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
)

PENDING, CLAIMED, SENT = "pending", "claimed", "sent"
CANCELLED, FAILED, SKIPPED = "cancelled", "failed", "skipped"
STATES = (PENDING, CLAIMED, SENT, CANCELLED, FAILED, SKIPPED)

# Why a reminder was skipped (closed set: also the metric's label)
TOO_LATE = "too_late"  # the class starts within reminders_min_lead_minutes, or it was booked after the due time
OPTED_OUT = "opted_out"  # the client wrote BAJA
UNDELIVERABLE = "undeliverable"  # Twilio said the number cannot receive WhatsApp (whatsapp_senders.undeliverable_at)
SUPERSEDED = "superseded"  # missed while down, and a later reminder of the same booking is due too: one is sent
NOT_LISTED = "not_listed"  # cancelled: the booking API no longer lists the booking on the days the sync read
OFFSET_REMOVED = "offset_removed"  # cancelled: REMINDER_OFFSETS no longer has this offset
BOOKING_CANCELLED = "booking_cancelled"

INTENT = "EXTERNAL_recordatorio"  # the external event the conversation side renders


def key_of(reminder_id: int) -> str:
    """The proactive message key of a reminder (`connectors.whatsapp.proactive`): queued once per row."""
    return f"reminder-{reminder_id}"
