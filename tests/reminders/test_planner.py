"""The planner on Postgres: one row per offset, idempotent, re-planned when the booking moves, cancelled
with it, and the client's confirmation counted in `reminder_stats`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from connectors.whatsapp.tables import utcnow
from rasa_project.reminders.offsets import to_naive_utc
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.reminders.tables import reminders
from rasa_project.settings import Settings
from tests.reminders.support import booking, rows, states


def _set_state(engine: sa.engine.Engine, booking_id: str, offset: int, state: str) -> None:
    with engine.begin() as conn:
        conn.execute(reminders.update().where(reminders.c.booking_id == booking_id,
                                              reminders.c.offset_minutes == offset).values(state=state))


async def test_plan_creates_one_row_per_offset_once(planner: ReminderPlanner, engine: sa.engine.Engine) -> None:
    b = booking(timedelta(days=3))
    assert await planner.plan(b) == 2
    assert await planner.plan(b) == 0
    assert await planner.plan(b) == 0
    found = rows(engine, b.id)
    assert [(r["offset_minutes"], r["state"]) for r in found] == [(1440, "pending"), (120, "pending")]
    starts = to_naive_utc(b.starts_at)
    assert [r["due_at"] for r in found] == [starts - timedelta(days=1), starts - timedelta(hours=2)]
    assert {(r["client_phone"], r["service_code"], r["service_name"], r["starts_at"]) for r in found} == \
        {(b.client_phone, "pilates", "Pilates", starts)}


async def test_a_moved_booking_is_replanned_except_what_was_sent(planner: ReminderPlanner,
                                                                 engine: sa.engine.Engine) -> None:
    b = booking(timedelta(days=3))
    await planner.plan(b)
    _set_state(engine, b.id, 1440, "sent")
    moved = b.copy(update={"starts_at": b.starts_at + timedelta(days=2), "ends_at": b.ends_at + timedelta(days=2)})
    assert await planner.plan(moved) == 1
    assert await planner.plan(moved) == 0
    by_offset = {r["offset_minutes"]: r for r in rows(engine, b.id)}
    assert by_offset[1440]["state"] == "sent" and by_offset[1440]["starts_at"] == to_naive_utc(b.starts_at)
    assert by_offset[120]["state"] == "pending"
    assert by_offset[120]["due_at"] == to_naive_utc(moved.starts_at) - timedelta(hours=2)


async def test_a_skipped_reminder_of_a_booking_moved_later_is_pending_again(planner: ReminderPlanner,
                                                                             engine: sa.engine.Engine) -> None:
    b = booking(timedelta(minutes=90), booked_ago=timedelta(minutes=1))
    assert await planner.plan(b) == 2
    assert states(engine, b.id) == [(1440, "skipped", "too_late"), (120, "skipped", "too_late")]
    moved = b.copy(update={"starts_at": b.starts_at + timedelta(days=3)})
    assert await planner.plan(moved) == 2
    assert states(engine, b.id) == [(1440, "pending", None), (120, "pending", None)]


async def test_cancel_stops_pending_and_claimed_rows_only(planner: ReminderPlanner, engine: sa.engine.Engine) -> None:
    b = booking(timedelta(days=3))
    await planner.plan(b)
    _set_state(engine, b.id, 1440, "sent")
    assert await planner.cancel(b.id) == 1
    assert await planner.cancel(b.id) == 0
    assert states(engine, b.id) == [(1440, "sent", None), (120, "cancelled", "booking_cancelled")]

    other = booking(timedelta(days=3))
    await planner.plan(other)
    _set_state(engine, other.id, 120, "claimed")
    assert await planner.plan(other.copy(update={"status": "cancelled", "cancelled_at": other.created_at})) == 2
    assert [s for _, s, _ in states(engine, other.id)] == ["cancelled", "cancelled"]


async def test_missed_reminders_at_planning(planner: ReminderPlanner, engine: sa.engine.Engine) -> None:
    # booked 3 days ago, class in 5 h (the 24 h reminder was missed, e.g. the sync was down): still pending
    missed = booking(timedelta(hours=5))
    await planner.plan(missed)
    assert states(engine, missed.id) == [(1440, "pending", None), (120, "pending", None)]
    # booked a minute ago for tomorrow-ish (20 h): the 24 h reminder was due before the booking existed
    fresh = booking(timedelta(hours=20), booked_ago=timedelta(minutes=1))
    await planner.plan(fresh)
    assert states(engine, fresh.id) == [(1440, "skipped", "too_late"), (120, "pending", None)]


async def test_an_offset_removed_from_the_settings_cancels_its_pending_rows(
        settings: Settings, engine: sa.engine.Engine) -> None:
    b = booking(timedelta(days=3))
    await ReminderPlanner(settings, engine).plan(b)
    only_2h = ReminderPlanner(replace(settings, reminder_offsets=("2h",)), engine)
    assert await only_2h.plan(b) == 1
    assert states(engine, b.id) == [(1440, "cancelled", "offset_removed"), (120, "pending", None)]


async def test_confirmed_marks_the_sent_reminders_and_the_figure_counts_it(
        planner: ReminderPlanner, engine: sa.engine.Engine) -> None:
    b = booking(timedelta(days=3))
    await planner.plan(b)
    assert await planner.confirmed(b.id) is False  # nothing sent yet
    _set_state(engine, b.id, 1440, "sent")
    assert await planner.confirmed(b.id) is True
    first = rows(engine, b.id)[0]["confirmed_at"]
    assert first is not None and abs(first - utcnow()) < timedelta(minutes=1)
    assert await planner.confirmed(b.id) is True
    assert rows(engine, b.id)[0]["confirmed_at"] == first  # once
    with engine.connect() as conn:
        stats = conn.execute(sa.text("SELECT SUM(sent), SUM(confirmed) FROM reminder_stats")).one()
    assert tuple(stats) == (1, 1)


async def test_a_listing_read_before_a_cancellation_does_not_bring_its_reminders_back(
        planner: ReminderPlanner, engine: sa.engine.Engine) -> None:
    """The sync read the day while the booking was still confirmed; the client then cancelled it with the bot
    (the action cancels its reminders); the sync's plan of that stale read must not make them pending again."""
    b = booking(timedelta(days=3))
    await planner.plan(b)
    listed_at = utcnow()
    assert await planner.cancel(b.id) == 2
    assert await planner.plan(b, listed_at=listed_at) == 0
    assert states(engine, b.id) == [(1440, "cancelled", "booking_cancelled"), (120, "cancelled", "booking_cancelled")]
    assert await planner.plan(b, listed_at=utcnow() + timedelta(seconds=1)) == 2  # a read made after it counts
    assert states(engine, b.id) == [(1440, "pending", None), (120, "pending", None)]
