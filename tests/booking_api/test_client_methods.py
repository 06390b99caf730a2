"""Every BookingApiClient method against the running sandbox over real HTTP (happy paths)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx

from rasa_project.booking_api import BookingApiClient, Slot
from tests.support.booking_sandbox import ANA, LUCIA, MARTIN, Sandbox


async def _free_slot(api: BookingApiClient, service: str, days_ahead: int = 4) -> Slot:
    start = date.today() + timedelta(days=days_ahead)
    slots = await api.list_slots(start, start + timedelta(days=3), service)
    assert slots, f"no free {service} slot"
    return slots[0]


async def test_list_services(api: BookingApiClient) -> None:
    services = await api.list_services()
    assert [s.code for s in services] == ["pilates", "yoga", "funcional", "masaje"]
    assert {s.code: s.duration_minutes for s in services} == {
        "pilates": 50,
        "yoga": 60,
        "funcional": 45,
        "masaje": 60,
    }
    assert services[0].name == "Pilates Reformer"


async def test_list_packages(api: BookingApiClient) -> None:
    packages = {p.code: p for p in await api.list_packages()}
    assert packages["bono5"].price == Decimal("800.00") and packages["bono5"].currency == "MXN"
    assert packages["suelta"].sessions == 1 and packages["suelta"].validity_days == 7
    assert packages["bono10"].price == Decimal("1450.00") and packages["bono10"].validity_days == 60
    assert packages["mensual"].sessions is None and packages["mensual"].price == Decimal("1900.00")


async def test_list_slots_filters_and_orders(api: BookingApiClient, sandbox: Sandbox) -> None:
    day = sandbox.full_slot_day
    available = await api.list_slots(day, day, "pilates")
    assert sandbox.full_slot_id not in [s.id for s in available]
    everything = await api.list_slots(day, day, "pilates", available_only=False)
    assert [s.starts_at.strftime("%H:%M") for s in everything] == ["07:00", "09:00", "18:00", "19:00"]
    full = next(s for s in everything if s.id == sandbox.full_slot_id)
    assert (full.capacity, full.booked, full.available) == (4, 4, 0)
    assert full.starts_at.utcoffset() is not None and full.instructor
    week = await api.list_slots(day, day + timedelta(days=6))
    assert [s.starts_at for s in week] == sorted(s.starts_at for s in week)
    assert {s.service_code for s in week} == {"pilates", "yoga", "funcional", "masaje"}
    assert all(s.starts_at.weekday() != 6 for s in week)


async def test_get_client_accepts_whatsapp_prefix(api: BookingApiClient) -> None:
    ana = await api.get_client(f"whatsapp:{ANA}")
    assert (ana.phone, ana.name, ana.email) == (ANA, "Ana López", "ana.lopez@example.com")
    assert ana.sessions_remaining == 8 and ana.created_at.tzinfo is not None


async def test_register_client(api: BookingApiClient) -> None:
    created = await api.register_client("whatsapp:+5215599998888", "  Pedro   Ruiz ", "Pedro@Example.com")
    assert (created.phone, created.name, created.email, created.sessions_remaining) == (
        "+5215599998888",
        "Pedro Ruiz",
        "pedro@example.com",
        0,
    )
    assert (await api.get_client("+5215599998888")).name == "Pedro Ruiz"


async def test_update_client(api: BookingApiClient) -> None:
    updated = await api.update_client(LUCIA, email="lucia@nuevo.example")
    assert updated.email == "lucia@nuevo.example" and updated.name == "Lucía García"
    renamed = await api.update_client(LUCIA, name="Lucía García Soto")
    assert renamed.name == "Lucía García Soto" and renamed.email == "lucia@nuevo.example"


async def test_list_bookings(api: BookingApiClient, sandbox: Sandbox) -> None:
    upcoming = await api.list_bookings(ANA)
    assert [b.id for b in upcoming] == sandbox.bookings_of(ANA)
    assert len({b.service_code for b in upcoming}) == 2 and len({b.starts_at.date() for b in upcoming}) == 2
    assert all(b.status == "confirmed" and b.client_phone == ANA for b in upcoming)
    assert [b.starts_at for b in upcoming] == sorted(b.starts_at for b in upcoming)
    assert len(await api.list_bookings(MARTIN)) == 1
    assert await api.list_bookings(LUCIA, upcoming_only=False) == []


async def test_create_and_cancel_booking(api: BookingApiClient) -> None:
    slot = await _free_slot(api, "yoga")
    booking = await api.create_booking(ANA, slot.id)
    assert booking.id.startswith("RSV-") and booking.status == "confirmed" and booking.cancelled_at is None
    assert (booking.slot_id, booking.service_code, booking.starts_at) == (slot.id, "yoga", slot.starts_at)
    assert (await api.get_client(ANA)).sessions_remaining == 7
    day = slot.starts_at.date()
    after = next(s for s in await api.list_slots(day, day, "yoga", False) if s.id == slot.id)
    assert after.booked == slot.booked + 1

    cancelled = await api.cancel_booking(f"whatsapp:{ANA}", booking.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    freed = next(s for s in await api.list_slots(day, day, "yoga", False) if s.id == slot.id)
    assert freed.booked == slot.booked
    assert (await api.get_client(ANA)).sessions_remaining == 8
    assert booking.id not in [b.id for b in await api.list_bookings(ANA)]
    history = await api.list_bookings(ANA, upcoming_only=False)
    assert next(b for b in history if b.id == booking.id).status == "cancelled"


async def test_cancelling_frees_the_full_slot(api: BookingApiClient, sandbox: Sandbox) -> None:
    day = sandbox.full_slot_day
    holders = [b for b in await api.admin_bookings(day, "pilates") if b.slot_id == sandbox.full_slot_id]
    await api.cancel_booking(holders[0].client_phone, holders[0].id)
    booking = await api.create_booking(LUCIA, sandbox.full_slot_id)
    assert booking.slot_id == sandbox.full_slot_id


async def test_purchase_and_pay(api: BookingApiClient, sandbox: Sandbox) -> None:
    bono5 = next(p for p in await api.list_packages() if p.code == "bono5")
    purchase = await api.purchase_package(LUCIA, bono5.id)
    assert (purchase.status, purchase.amount, purchase.currency, purchase.package_code) == (
        "pending",
        Decimal("800.00"),
        "MXN",
        "bono5",
    )
    assert purchase.payment_url == f"{sandbox.url}/pay/{purchase.id}"
    async with httpx.AsyncClient() as browser:  # the client's browser: no API token
        page = await browser.get(purchase.payment_url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Pago recibido" in page.text
    history = await api.purchase_history(LUCIA)
    assert [(p.id, p.status) for p in history] == [(purchase.id, "paid")]
    assert (await api.get_client(LUCIA)).sessions_remaining == 5


async def test_purchase_history_newest_first(api: BookingApiClient) -> None:
    packages = {p.code: p for p in await api.list_packages()}
    first = await api.purchase_package(ANA, packages["suelta"].id)
    second = await api.purchase_package(ANA, packages["mensual"].id)
    history = await api.purchase_history(ANA)
    assert [p.id for p in history[:2]] == [second.id, first.id]
    assert history[-1].status == "paid" and history[-1].package_code == "bono10"


async def test_admin_bookings(api: BookingApiClient, sandbox: Sandbox) -> None:
    day = sandbox.full_slot_day
    pilates = await api.admin_bookings(day, "pilates")
    assert len([b for b in pilates if b.slot_id == sandbox.full_slot_id]) == 4
    assert all(b.client_phone.startswith("+") for b in pilates)
    that_day = await api.admin_bookings(day)
    assert MARTIN in {b.client_phone for b in that_day}
    assert [b.starts_at for b in that_day] == sorted(b.starts_at for b in that_day)
    assert isinstance(await api.admin_bookings(), list)  # default: today
