"""The sync against the real booking sandbox: a booking made there (not through the bot) gets its
reminders, one cancelled there has them cancelled, one the API no longer lists has them cancelled, and
a second run changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
import sqlalchemy as sa

from rasa_project.booking_api import BookingApiClient
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.reminders.sync import ReminderSync
from tests.reminders.support import booking, states
from tests.support.booking_sandbox import (  # noqa: F401  (fixtures)
    ANA,
    LUCIA,
    TOKEN,
    TZ,
    Sandbox,
    sandbox,
    sandbox_server,
)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[BookingApiClient]:  # noqa: F811
    async with BookingApiClient(sandbox.url, TOKEN, timeout=3.0, max_retries=1, backoff_base=0.01) as client:
        yield client


async def test_sync_plans_bookings_made_elsewhere_and_cancels_those_cancelled_there(
        planner: ReminderPlanner, engine: sa.engine.Engine, api: BookingApiClient) -> None:
    assert planner.settings.business_timezone == TZ
    real_now = datetime.now(timezone.utc)
    today = real_now.astimezone(planner.zone).date()
    for shift in range(3):  # the day after tomorrow, or the next day with classes: no Sunday ones (seed.py)
        day_after = today + timedelta(days=2 + shift)  # more than 24 h ahead: both reminders ahead
        slots = [s for s in await api.list_slots(day_after, day_after) if s.starts_at.date() == day_after]
        if slots:
            break
    assert slots, f"no class from {today + timedelta(days=2)} to {day_after}"
    now = real_now + timedelta(days=shift)  # the sync's "day after tomorrow" is that day (every run the same)
    sync = ReminderSync(planner, api)
    first = await sync.run_once(now)
    assert first.failed_days == 0 and first.days == 3  # today, tomorrow, the day after (24 h offset)
    seeded = {r[0] for r in _booking_ids(engine)}
    assert first.bookings >= 1 and seeded  # the seeded upcoming bookings got theirs

    made = await api.create_booking(LUCIA, slots[0].id)  # at the front desk: the bot never saw it
    assert made.id not in seeded
    assert (await sync.run_once(now)).changed == 2
    assert states(engine, made.id) == [(1440, "pending", None), (120, "pending", None)]
    assert (await sync.run_once(now)).changed == 0  # idempotent

    await api.cancel_booking(LUCIA, made.id)
    assert (await sync.run_once(now)).changed == 2
    assert states(engine, made.id) == [(1440, "cancelled", "booking_cancelled"),
                                       (120, "cancelled", "booking_cancelled")]
    assert (await sync.run_once(now)).changed == 0


async def test_a_booking_the_api_no_longer_lists_has_its_pending_reminders_cancelled(
        planner: ReminderPlanner, engine: sa.engine.Engine, api: BookingApiClient) -> None:
    ghost = booking(timedelta(hours=30), booking_id="BK-MOVED-AWAY", phone=ANA)
    await planner.plan(ghost)  # planned by the bot; then moved beyond the horizon at the front desk
    far = booking(timedelta(days=9), booking_id="BK-FAR", phone=ANA)
    await planner.plan(far)  # outside the days the sync reads: untouched
    await ReminderSync(planner, api).run_once()
    assert states(engine, "BK-MOVED-AWAY") == [(1440, "cancelled", "not_listed"), (120, "cancelled", "not_listed")]
    assert states(engine, "BK-FAR") == [(1440, "pending", None), (120, "pending", None)]


async def test_an_unreadable_day_cancels_nothing(planner: ReminderPlanner, engine: sa.engine.Engine,
                                                 api: BookingApiClient, sandbox: Sandbox) -> None:  # noqa: F811
    ghost = booking(timedelta(hours=30), booking_id="BK-GHOST", phone=ANA)
    await planner.plan(ghost)
    await sandbox.fault(status=503, count=10, path_prefix="/admin/bookings")
    result = await ReminderSync(planner, api).run_once()
    assert result.failed_days >= 1
    assert states(engine, "BK-GHOST") == [(1440, "pending", None), (120, "pending", None)]


def _booking_ids(engine: sa.engine.Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT DISTINCT booking_id FROM reminders")).all()
