"""The planner: a booking's reminders, one row per offset, kept in step with the booking.

Called by the actions after booking, cancelling or rescheduling (`actions/services.py` builds one per
action-server process) and by the sync (`sync.py`) for bookings made elsewhere. Every call is idempotent:
- `plan(booking)`: a confirmed booking gets one row per offset of `REMINDER_OFFSETS`; a booking that moved
  (its `starts_at` changed) has its rows re-planned (back to pending with the new due time) unless
  already claimed or sent; offsets no longer configured are cancelled; a cancelled booking → `cancel`.
  `listed_at` (the sync): when the booking was read; rows cancelled since then stay cancelled, since the
  listing is older than that cancellation (the bot cancelled the booking while the sync read its day).
- `cancel(booking_id)`: pending and claimed rows → cancelled.
- `confirmed(booking_id)`: the client answered "1 confirmo": `confirmed_at` on the sent reminders.

The API is async over a sync engine (`asyncio.to_thread`). The engine is the process's shared one for
`tracker_db_url` (`rasa_project/conversation_log/database.py`), opened on first use, which migrates the
schema, so the action server can use the table even when it starts before Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.whatsapp.tables import dialect_insert, utcnow
from rasa_project.booking_api.models import Booking
from rasa_project.conversation_log.database import shared_engine
from rasa_project.metrics import REMINDERS_PLANNED
from rasa_project.reminders.offsets import due_at, parse_offsets, to_naive_utc
from rasa_project.reminders.rules import plan_state
from rasa_project.reminders.tables import (
    BOOKING_CANCELLED,
    CANCELLED,
    CLAIMED,
    OFFSET_REMOVED,
    PENDING,
    SENT,
    reminders,
)
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

KEPT_STATES = (CLAIMED, SENT)  # handed to the channel: never re-planned


@dataclass(frozen=True)
class PlannedRow:
    offset_minutes: int
    due_at: datetime
    state: str
    reason: Optional[str]


def planned_rows(booking: Booking, offsets: Sequence[int], zone: ZoneInfo, now: datetime,
                 min_lead_minutes: float) -> List[PlannedRow]:
    """What the booking's rows should be at `now` (pure)."""
    starts = to_naive_utc(booking.starts_at)
    booked = to_naive_utc(booking.created_at)
    rows = []
    for offset in offsets:
        due = due_at(booking.starts_at, offset, zone)
        state, reason = plan_state(due, starts, booked, now, min_lead_minutes)
        rows.append(PlannedRow(offset, due, state, reason))
    return rows


class ReminderPlanner:
    def __init__(self, settings: Settings, engine: Optional[Engine] = None) -> None:
        self.settings = settings
        self.offsets = parse_offsets(settings.reminder_offsets)
        self.zone = ZoneInfo(settings.business_timezone)
        self._engine = engine
        self._engine_lock = threading.Lock()

    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = shared_engine(self.settings.tracker_db_url, self.settings)
            return self._engine

    # -- the async API (actions, sync) -----------------------------------------------------------

    async def plan(self, booking: Booking, listed_at: Optional[datetime] = None) -> int:
        """Rows created or re-planned (0 when the booking's rows were already right)."""
        return await asyncio.to_thread(self.plan_sync, booking, None, listed_at)

    async def cancel(self, booking_id: str) -> int:
        """Rows cancelled (pending or claimed before)."""
        return await asyncio.to_thread(self.cancel_sync, booking_id)

    async def confirmed(self, booking_id: str) -> bool:
        """True when the booking has a sent reminder (now marked confirmed, once)."""
        return await asyncio.to_thread(self.confirmed_sync, booking_id)

    # -- the same, blocking ----------------------------------------------------------------------

    def plan_sync(self, booking: Booking, now: Optional[datetime] = None, listed_at: Optional[datetime] = None) -> int:
        if not booking.is_active:
            return self.cancel_sync(booking.id, BOOKING_CANCELLED)
        now = now or utcnow()
        wanted = planned_rows(booking, self.offsets, self.zone, now, self.settings.reminders_min_lead_minutes)
        with self.engine().begin() as conn:
            changed = self._apply(conn, booking, wanted, now, listed_at)
        if changed:
            REMINDERS_PLANNED.inc(changed)
        return changed

    def _apply(self, conn: Connection, booking: Booking, wanted: List[PlannedRow], now: datetime,
               listed_at: Optional[datetime] = None) -> int:
        starts = to_naive_utc(booking.starts_at)
        existing = self._rows_of(conn, booking.id)
        changed = 0
        for row in wanted:
            current = existing.pop(row.offset_minutes, None)
            if current is None:
                changed += self._insert(conn, booking, row, starts, now)
                continue
            state, row_starts, updated_at = current
            if state in KEPT_STATES or (row_starts == starts and state != CANCELLED):
                continue  # in flight or sent, or already planned for this time
            if state == CANCELLED and listed_at is not None and updated_at >= listed_at:
                continue  # cancelled after the booking was read: the read is the stale one
            conn.execute(reminders.update().where(reminders.c.booking_id == booking.id,
                                                  reminders.c.offset_minutes == row.offset_minutes)
                         .values(**self._booking_values(booking), starts_at=starts, due_at=row.due_at,
                                 state=row.state, reason=row.reason, attempts=0, claimed_by=None,
                                 lease_until=None, updated_at=now))
            changed += 1
        for offset, (state, _, _) in existing.items():  # offsets no longer configured
            if state == PENDING:
                changed += self._cancel_rows(conn, booking.id, OFFSET_REMOVED, now, offset)
        return changed

    @staticmethod
    def _rows_of(conn: Connection, booking_id: str) -> Dict[int, Tuple[str, datetime, datetime]]:
        query = (sa.select(reminders.c.offset_minutes, reminders.c.state, reminders.c.starts_at,
                           reminders.c.updated_at)
                 .where(reminders.c.booking_id == booking_id).with_for_update())
        return {r.offset_minutes: (r.state, r.starts_at, r.updated_at) for r in conn.execute(query)}

    @staticmethod
    def _booking_values(booking: Booking) -> Dict[str, str]:
        return dict(client_phone=booking.client_phone, service_code=booking.service_code,
                    service_name=booking.service_name)

    def _insert(self, conn: Connection, booking: Booking, row: PlannedRow, starts: datetime, now: datetime) -> int:
        stmt = dialect_insert(conn.engine, reminders).values(
            booking_id=booking.id, **self._booking_values(booking), starts_at=starts,
            offset_minutes=row.offset_minutes, due_at=row.due_at, state=row.state, reason=row.reason,
            attempts=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["booking_id", "offset_minutes"])
        return conn.execute(stmt).rowcount  # 0 when a concurrent planner inserted it first

    def cancel_sync(self, booking_id: str, reason: str = BOOKING_CANCELLED) -> int:
        with self.engine().begin() as conn:
            return self._cancel_rows(conn, booking_id, reason, utcnow())

    @staticmethod
    def _cancel_rows(conn: Connection, booking_id: str, reason: str, now: datetime,
                     offset: Optional[int] = None) -> int:
        stmt = reminders.update().where(reminders.c.booking_id == booking_id,
                                        reminders.c.state.in_((PENDING, CLAIMED)))
        if offset is not None:
            stmt = stmt.where(reminders.c.offset_minutes == offset)
        return conn.execute(stmt.values(state=CANCELLED, reason=reason, updated_at=now)).rowcount

    def confirmed_sync(self, booking_id: str) -> bool:
        now = utcnow()
        with self.engine().begin() as conn:
            conn.execute(reminders.update()
                         .where(reminders.c.booking_id == booking_id, reminders.c.state == SENT,
                                reminders.c.confirmed_at.is_(None))
                         .values(confirmed_at=now, updated_at=now))
            sent = conn.execute(sa.select(sa.func.count()).select_from(reminders)
                                .where(reminders.c.booking_id == booking_id, reminders.c.state == SENT)).scalar()
        return bool(sent)
