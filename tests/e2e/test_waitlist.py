"""The waitlist end to end: a full class offers "te aviso si se libera un lugar"; two clients join; a place
freed at the front desk (a cancellation the bot never saw) is offered to the first, who says no; the second
is offered it at once and books it with "sí". Never both offered at the same time. Checked in the booking
sandbox and the log database, with every message through the webhook and the Twilio sandbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Dict, List

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from tests.e2e.support import WhatsAppClient
from tests.e2e.test_journeys import TZ, Journey, api, open_day, weekday  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

OFFER = "Se liberó un lugar"


async def registered(stack: LocalStack, http: httpx.AsyncClient, api: httpx.AsyncClient, name: str) -> Journey:
    phone = "+52155" + str(uuid.uuid4().int)[:8]
    created = await api.post("/clients", json={"phone": phone, "name": name, "email": f"{phone[1:]}@example.com"})
    assert created.status_code == 201, created.text
    return Journey(WhatsAppClient(stack, http, phone), api)


async def fill(api: httpx.AsyncClient, slot: Dict[str, Any]) -> List[Dict[str, str]]:
    """Book every free place of `slot` for new clients; their (phone, booking id)."""
    held = []
    for _ in range(int(slot["available"])):
        phone = "+52155" + str(uuid.uuid4().int)[:8]
        assert (await api.post("/clients", json={"phone": phone, "name": "Relleno", "email": "r@example.com"})
                ).status_code == 201
        booked = await api.post("/booking", json={"slot_id": slot["id"]}, headers={"X-Client-Phone": phone})
        assert booked.status_code == 201, booked.text
        held.append({"phone": phone, "id": str(booked.json()["id"])})
    return held


def entries(engine: sa.engine.Engine, slot_id: int) -> List[Dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.text("SELECT client_phone, state FROM waitlist_entries WHERE slot_id = :s ORDER BY id"),
            {"s": slot_id}).mappings()]


async def test_a_freed_place_goes_down_the_waitlist(stack: LocalStack, http: httpx.AsyncClient,
                                                    api: httpx.AsyncClient, log_engine: sa.engine.Engine) -> None:
    day = open_day(4)
    slots = (await api.get("/schedule-slots", params={"date_from": day.isoformat(), "date_to": day.isoformat(),
                                                      "service": "pilates", "available_only": "false"})).json()
    slot = next(s for s in slots if datetime.fromisoformat(s["starts_at"]).astimezone(TZ).hour == 7)
    fillers = await fill(api, slot)
    first = await registered(stack, http, api, "Paula Ríos")
    second = await registered(stack, http, api, "Tomás Vera")

    for client in (first, second):
        offer = await client.say(f"quiero pilates el {weekday(day)} a las 7 de la mañana")
        assert "te aviso si se libera" in offer, client.story()
        joined = await client.say("avísame si se libera")
        assert "lista de espera" in joined, client.story()
    assert [e["state"] for e in entries(log_engine, slot["id"])] == ["waiting", "waiting"]

    # a client of the front desk cancels: the bot never saw it; the waitlist's check of the schedule does
    gone = fillers[0]
    cancelled = await api.delete(f"/client/bookings/{gone['id']}", headers={"X-Client-Phone": gone["phone"]})
    assert cancelled.status_code == 200, cancelled.text
    [offered] = await first.client.replies(1, timeout=30)
    assert OFFER in offered["body"], offered
    assert await second.client.settle(quiet=1.0) == []  # never both at once
    await first.say("no, gracias")

    [offered_second] = await second.client.replies(1, timeout=30)
    assert OFFER in offered_second["body"], offered_second
    await second.say("sí")
    assert await second.active() == [("pilates", datetime.fromisoformat(slot["starts_at"]).astimezone(TZ))], \
        second.story()
    assert await first.active() == []
    assert [e["state"] for e in entries(log_engine, slot["id"])] == ["declined", "booked"]
