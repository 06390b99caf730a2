"""Helpers for the reminder tests: bookings as the API returns them, and row reads."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from connectors.whatsapp.tables import utcnow
from rasa_project.booking_api.models import Booking
from rasa_project.reminders.tables import reminders

ANA = "+5215512345678"
_ids = itertools.count(1)


def booking(starts_in: timedelta, *, booking_id: Optional[str] = None, status: str = "confirmed",
            phone: str = ANA, booked_ago: timedelta = timedelta(days=3), now: Optional[datetime] = None) -> Booking:
    """A booking starting `starts_in` from now (aware UTC, as the API speaks with an offset)."""
    now = (now or utcnow()).replace(tzinfo=timezone.utc)
    starts = now + starts_in
    return Booking(id=booking_id or f"BK-{next(_ids):05d}", slot_id=1, service_code="pilates",
                   service_name="Pilates", starts_at=starts, ends_at=starts + timedelta(hours=1), status=status,
                   created_at=now - booked_ago, cancelled_at=now if status == "cancelled" else None,
                   client_phone=phone)


def rows(engine: sa.engine.Engine, booking_id: Optional[str] = None) -> List[Dict[str, Any]]:
    query = sa.select(reminders).order_by(reminders.c.booking_id, reminders.c.offset_minutes.desc())
    if booking_id is not None:
        query = query.where(reminders.c.booking_id == booking_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def states(engine: sa.engine.Engine, booking_id: Optional[str] = None) -> List[tuple]:
    return [(r["offset_minutes"], r["state"], r["reason"]) for r in rows(engine, booking_id)]


def insert_due(engine: sa.engine.Engine, count: int, *, phone_base: int = 5215550000000,
               due_ago: timedelta = timedelta(minutes=1), starts_in: timedelta = timedelta(hours=3)) -> List[int]:
    """`count` pending reminders already due, one booking and one client each; returns their ids."""
    now = utcnow()
    values = [dict(booking_id=f"DUE-{phone_base - 5215550000000 + i:05d}", client_phone=f"+{phone_base + i}",
                   service_code="yoga", service_name="Yoga", starts_at=now + starts_in, offset_minutes=120,
                   due_at=now - due_ago, state="pending", attempts=0, created_at=now, updated_at=now)
              for i in range(count)]
    with engine.begin() as conn:
        conn.execute(reminders.insert(), values)
        return [r[0] for r in conn.execute(sa.select(reminders.c.id).where(
            reminders.c.booking_id.in_([v["booking_id"] for v in values])).order_by(reminders.c.id))]
