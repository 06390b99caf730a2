"""4xx answers become typed exceptions: not found, conflicts (incl. a real race), invalid input."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from rasa_project.booking_api import (
    BookingApiClient,
    ClientNotFound,
    Conflict,
    InvalidRequest,
    NotFound,
)
from tests.support.booking_sandbox import ANA, LUCIA, MARTIN, Sandbox

UNKNOWN = "+5215500001111"


async def test_unknown_client_is_client_not_found(api: BookingApiClient) -> None:
    for call in (
        api.get_client(UNKNOWN),
        api.list_bookings(UNKNOWN),
        api.create_booking(UNKNOWN, 1),
        api.purchase_history(UNKNOWN),
        api.update_client(UNKNOWN, name="X"),
    ):
        with pytest.raises(ClientNotFound) as caught:
            await call
        assert (caught.value.kind, caught.value.status, caught.value.code) == (
            "client_not_found",
            404,
            "client_not_found",
        )


async def test_full_slot_is_conflict_slot_full(api: BookingApiClient, sandbox: Sandbox) -> None:
    with pytest.raises(Conflict) as caught:
        await api.create_booking(LUCIA, sandbox.full_slot_id)
    assert (caught.value.kind, caught.value.status, caught.value.code) == ("conflict", 409, "slot_full")
    assert caught.value.message  # human text for logs


async def test_double_booking_is_already_booked(api: BookingApiClient) -> None:
    start = date.today() + timedelta(days=5)
    slot = (await api.list_slots(start, start + timedelta(days=3), "funcional"))[0]
    await api.create_booking(LUCIA, slot.id)
    with pytest.raises(Conflict) as caught:
        await api.create_booking(LUCIA, slot.id)
    assert caught.value.code == "already_booked"


async def test_race_for_the_last_place(api: BookingApiClient) -> None:
    """Masaje has capacity 1: two clients booking at once, one wins and one gets slot_full."""
    start = date.today() + timedelta(days=6)
    slots = (await api.list_slots(start, start + timedelta(days=3), "masaje"))[:5]
    assert len(slots) == 5
    for slot in slots:
        results = await asyncio.gather(
            api.create_booking(LUCIA, slot.id), api.create_booking(MARTIN, slot.id), return_exceptions=True
        )
        wins = [r for r in results if not isinstance(r, Exception)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert isinstance(losses[0], Conflict) and losses[0].code == "slot_full"
        day = slot.starts_at.date()
        after = next(s for s in await api.list_slots(day, day, "masaje", False) if s.id == slot.id)
        assert (after.booked, after.available) == (1, 0)


async def test_cancel_twice_is_already_cancelled(api: BookingApiClient, sandbox: Sandbox) -> None:
    booking_id = sandbox.bookings_of(MARTIN)[0]
    await api.cancel_booking(MARTIN, booking_id)
    with pytest.raises(Conflict) as caught:
        await api.cancel_booking(MARTIN, booking_id)
    assert caught.value.code == "already_cancelled"


async def test_cancel_someone_elses_or_unknown_booking_is_not_found(
    api: BookingApiClient, sandbox: Sandbox
) -> None:
    for booking_id in (sandbox.bookings_of(ANA)[0], "RSV-999999", "nonsense", "RSV-1"):
        with pytest.raises(NotFound) as caught:
            await api.cancel_booking(MARTIN, booking_id)
        assert (caught.value.kind, caught.value.code) == ("not_found", "booking_not_found")
    assert len(await api.list_bookings(ANA)) == 2  # untouched


async def test_unknown_slot_and_package_are_not_found(api: BookingApiClient) -> None:
    with pytest.raises(NotFound) as slot:
        await api.create_booking(ANA, 987654)
    assert slot.value.code == "slot_not_found"
    with pytest.raises(NotFound) as package:
        await api.purchase_package(ANA, 999)
    assert package.value.code == "package_not_found"


async def test_registering_twice_is_client_exists(api: BookingApiClient) -> None:
    with pytest.raises(Conflict) as caught:
        await api.register_client(ANA, "Ana", "ana@example.com")
    assert caught.value.code == "client_exists"


async def test_invalid_input_is_invalid_request_with_field_details(api: BookingApiClient) -> None:
    with pytest.raises(InvalidRequest) as registration:
        await api.register_client("5512345678", "", "not-an-email")
    assert registration.value.status == 422 and registration.value.code == "invalid_request"
    assert set(registration.value.details) == {"phone", "name", "email"}
    with pytest.raises(InvalidRequest) as email:
        await api.update_client(ANA, email="ana@@example")
    assert set(email.value.details) == {"email"}
    with pytest.raises(InvalidRequest) as name:
        await api.update_client(ANA, name="   ")
    assert set(name.value.details) == {"name"}
    with pytest.raises(InvalidRequest) as dates:
        await api.list_slots(date.today(), date.today() - timedelta(days=1))
    assert set(dates.value.details) == {"date_to"}
    with pytest.raises(InvalidRequest) as service:
        await api.list_slots(date.today(), date.today(), "zumba")
    assert set(service.value.details) == {"service"}


async def test_booking_a_past_slot_is_invalid_request(api: BookingApiClient, sandbox: Sandbox) -> None:
    start = date.today() + timedelta(days=1)
    slot = (await api.list_slots(start, start + timedelta(days=2), "yoga"))[0]
    sandbox.clock.offset = timedelta(days=5)  # the sandbox now lives after that slot
    with pytest.raises(InvalidRequest) as caught:
        await api.create_booking(LUCIA, slot.id)
    assert set(caught.value.details) == {"slot_id"}
