"""The sandbox on a throwaway Postgres database (`t_booking_<random>`): any SQLAlchemy URL works,
and capacity holds under a real race on a server with row locks."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from typing import AsyncIterator, Iterator

import psycopg2
import pytest

from rasa_project.booking_api import BookingApiClient, Conflict
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.sandboxes.booking_api import create_app
from tests.support.booking_sandbox import ANA, LUCIA, MARTIN, TOKEN, TZ
from tests.support.threaded_server import ThreadedServer


@pytest.fixture(scope="module")
def pg_server() -> Iterator[ThreadedServer]:
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database("t_booking"))
        except psycopg2.OperationalError as exc:
            pytest.skip(f"Postgres on 127.0.0.1:5432 unavailable: {exc}")
        server = ThreadedServer(create_app(url, TOKEN, TZ)).start()
        stack.callback(server.stop)
        yield server


@pytest.fixture
async def pg_api(pg_server: ThreadedServer) -> AsyncIterator[BookingApiClient]:
    async with BookingApiClient(pg_server.url, TOKEN, timeout=10, backoff_base=0.01) as api:
        yield api


async def test_seeded_and_bookable_on_postgres(pg_api: BookingApiClient) -> None:
    assert [s.code for s in await pg_api.list_services()] == ["pilates", "yoga", "funcional", "masaje"]
    assert len(await pg_api.list_bookings(ANA)) == 2
    start = date.today() + timedelta(days=8)
    slot = (await pg_api.list_slots(start, start + timedelta(days=3), "pilates"))[0]
    booking = await pg_api.create_booking(LUCIA, slot.id)
    cancelled = await pg_api.cancel_booking(LUCIA, booking.id)
    assert cancelled.status == "cancelled"
    purchase = await pg_api.purchase_package(LUCIA, 2)
    assert (await pg_api.purchase_history(LUCIA))[0].id == purchase.id


async def test_race_for_the_last_place_on_postgres(pg_api: BookingApiClient) -> None:
    start = date.today() + timedelta(days=9)
    for slot in (await pg_api.list_slots(start, start + timedelta(days=3), "masaje"))[:4]:
        results = await asyncio.gather(
            pg_api.create_booking(LUCIA, slot.id),
            pg_api.create_booking(MARTIN, slot.id),
            pg_api.create_booking(ANA, slot.id),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        assert all(r.code == "slot_full" for r in results if isinstance(r, Conflict))
        assert sum(isinstance(r, Conflict) for r in results) == 2
