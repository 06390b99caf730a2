"""The sync: bookings made or changed outside the bot (front desk, web) get their reminders planned.

Every `REMINDERS_SYNC_SECONDS`, for each local day from today to today + `horizon_days` in the business
zone (enough that a booking is seen before its earliest reminder is due), `GET /admin/bookings?date=`
(confirmed and cancelled bookings of that day) and `plan()` each: a confirmed one gets its rows, a
cancelled one has its rows cancelled. Then rows still pending for a class in those days whose booking the
API listed on none of them (it moved beyond the horizon, or vanished) are cancelled `not_listed`; a moved
booking listed on another day of the range was re-planned by `plan()`. If any day could not be read,
that last step is skipped (an API outage must not cancel reminders). Idempotent: a second run changes
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, List, Optional, Set

import sqlalchemy as sa

from rasa_project.booking_api.errors import BookingApiError
from rasa_project.booking_api.models import Booking
from rasa_project.reminders.offsets import horizon_days, to_naive_utc
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.reminders.tables import CANCELLED, NOT_LISTED, PENDING, reminders

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    days: int = 0
    bookings: int = 0
    changed: int = 0  # rows created, re-planned or cancelled
    failed_days: int = 0


class ReminderSync:
    def __init__(self, planner: ReminderPlanner, booking_api: Any) -> None:
        self.planner = planner
        self.booking_api = booking_api  # BookingApiClient (anything with `admin_bookings(day)`)

    def days(self, now: Optional[datetime] = None) -> List[date]:
        now = now or datetime.now(timezone.utc)
        today = (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).astimezone(self.planner.zone).date()
        return [today + timedelta(days=n) for n in range(horizon_days(self.planner.offsets) + 1)]

    async def run_once(self, now: Optional[datetime] = None) -> SyncResult:
        result = SyncResult()
        days = self.days(now)
        seen: Set[str] = set()
        # rows planned after the listing began (a booking made meanwhile) were not in it: never "unlisted"
        listing_started = to_naive_utc(datetime.now(timezone.utc))
        for day in days:
            try:
                bookings: List[Booking] = await self.booking_api.admin_bookings(day)
            except BookingApiError as exc:
                result.failed_days += 1
                logger.warning("Reminder sync: bookings of %s unreadable (%s); retried next sync", day, exc)
                continue
            result.days += 1
            started = now or datetime.now(timezone.utc)
            for booking in bookings:
                seen.add(booking.id)
                if booking.is_active and booking.starts_at <= started:
                    continue  # this morning's classes: nothing left to remind
                result.bookings += 1
                result.changed += await self.planner.plan(booking, listed_at=listing_started)
        if not result.failed_days:
            result.changed += await asyncio.to_thread(self._cancel_unlisted, days, seen, listing_started)
        return result

    def _local_midnight_utc(self, day: date) -> datetime:
        return to_naive_utc(datetime.combine(day, time(0), tzinfo=self.planner.zone))

    def _cancel_unlisted(self, days: List[date], seen: Set[str], listed_since: datetime) -> int:
        start, end = self._local_midnight_utc(days[0]), self._local_midnight_utc(days[-1] + timedelta(days=1))
        in_range = sa.and_(reminders.c.state == PENDING, reminders.c.starts_at >= start, reminders.c.starts_at < end,
                           reminders.c.created_at < listed_since)
        with self.planner.engine().begin() as conn:
            listed = {r[0] for r in conn.execute(sa.select(reminders.c.booking_id).where(in_range).distinct())}
            gone = sorted(listed - seen)
            if not gone:
                return 0
            logger.info("Reminder sync: %d booking(s) no longer listed; their pending reminders cancelled", len(gone))
            return conn.execute(reminders.update().where(in_range, reminders.c.booking_id.in_(gone))
                                .values(state=CANCELLED, reason=NOT_LISTED, updated_at=to_naive_utc(
                                    datetime.now(timezone.utc)))).rowcount
