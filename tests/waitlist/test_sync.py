"""Freed places the schedule shows: the real booking sandbox (HTTP), a full slot, a cancellation made in the
sandbox behind the bot's back, and `check_slots` / `waitlist_tick` offering the place."""

from __future__ import annotations

from datetime import date
from typing import AsyncIterator

import pytest
import sqlalchemy as sa

from rasa_project.booking_api import BookingApiClient
from rasa_project.booking_api.models import Slot
from rasa_project.settings import Settings
from rasa_project.waitlist import Waitlist
from rasa_project.waitlist.sync import check_slots, day_ranges, waitlist_tick
from tests.support.booking_sandbox import TOKEN, TZ, Sandbox
from tests.waitlist.support import ANA, BETO, offer_rows

SETTINGS = Settings(business_timezone=TZ)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[BookingApiClient]:
    async with BookingApiClient(sandbox.url, TOKEN, timeout=3.0, max_retries=0, backoff_base=0.01) as client:
        yield client


async def _full_slot(api: BookingApiClient, sandbox: Sandbox) -> Slot:
    day = sandbox.full_slot_day
    found = [s for s in await api.list_slots(day, day, available_only=False) if s.id == sandbox.full_slot_id]
    assert found and found[0].available == 0
    return found[0]


async def _cancel_a_walk_in(api: BookingApiClient, sandbox: Sandbox) -> None:
    """A client cancels at the desk: the booking API frees the place, the bot is not told."""
    booking = next(b for b in await api.admin_bookings(day=sandbox.full_slot_day)
                   if b.slot_id == sandbox.full_slot_id and b.is_active)
    await api.cancel_booking(booking.client_phone, booking.id)


async def test_a_place_freed_in_the_booking_api_is_offered(engine: sa.engine.Engine, sandbox: Sandbox,
                                                           api: BookingApiClient) -> None:
    waitlist = Waitlist(engine, SETTINGS)
    full = await _full_slot(api, sandbox)
    await waitlist.join(ANA, full)
    await waitlist.join(BETO, full)
    assert await check_slots(api, waitlist) == 0  # still full: nobody offered
    assert offer_rows(engine) == []

    await _cancel_a_walk_in(api, sandbox)
    assert await check_slots(api, waitlist) == 1
    queued = offer_rows(engine)
    assert [(q["sender"], q["entities"]["slot_id"]) for q in queued] == [(ANA, str(full.id))]
    offer = await waitlist.live_offer(ANA)
    assert offer is not None and offer.slot_id == full.id and offer.service_code == full.service_code

    assert await check_slots(api, waitlist) == 0  # ANA holds the place: BETO is not offered it too
    assert len(offer_rows(engine)) == 1


async def test_the_tick_sweeps_and_reads_the_schedule(engine: sa.engine.Engine, sandbox: Sandbox,
                                                      api: BookingApiClient) -> None:
    waitlist = Waitlist(engine, SETTINGS)
    await waitlist.join(ANA, await _full_slot(api, sandbox))
    await _cancel_a_walk_in(api, sandbox)
    await waitlist_tick(engine, SETTINGS, api)
    assert [q["sender"] for q in offer_rows(engine)] == [ANA]


async def test_the_tick_outlives_an_unreachable_booking_api(engine: sa.engine.Engine, sandbox: Sandbox,
                                                            api: BookingApiClient) -> None:
    waitlist = Waitlist(engine, SETTINGS)
    await waitlist.join(ANA, await _full_slot(api, sandbox))
    await _cancel_a_walk_in(api, sandbox)
    await sandbox.fault(status=503, count=5, path_prefix="/schedule-slots")
    await waitlist_tick(engine, SETTINGS, api)  # logged, not raised
    assert offer_rows(engine) == []
    await sandbox.http.delete("/_sandbox/faults")
    await waitlist_tick(engine, SETTINGS, api)  # the next tick offers it
    assert [q["sender"] for q in offer_rows(engine)] == [ANA]


def test_day_ranges_fit_the_apis_limit() -> None:
    assert day_ranges([]) == []
    assert day_ranges([date(2030, 1, 5), date(2030, 1, 1), date(2030, 1, 5)]) == [(date(2030, 1, 1), date(2030, 1, 5))]
    assert day_ranges([date(2030, 1, 1), date(2030, 3, 4), date(2030, 3, 5)]) == [
        (date(2030, 1, 1), date(2030, 3, 4)), (date(2030, 3, 5), date(2030, 3, 5))]
