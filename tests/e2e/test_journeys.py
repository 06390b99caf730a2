"""Client journeys end to end through the signed webhook, judged by their goal in the booking sandbox.

Each journey is a client with a goal (a class booked on the right day, a booking moved or cancelled, a
package bought, a question answered), written the way people write on WhatsApp: one-line requests, step
by step, corrections, digressions, typos, a voice note, an unknown number registering. The assertion is
the goal in the booking sandbox's database (the class, day and time booked; the old booking cancelled),
never the wording of a reply. Days are chosen from today so every phrase names one day unambiguously.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any, AsyncIterator, Dict, List, Tuple
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import post_inbound, voice_note_form
from tests.e2e.support import AUTH_TOKEN, BOOKING_TOKEN, WhatsAppClient

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("America/Mexico_City")
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre"]
CONFIRM = "¿Lo confirmo?"
CONFIRMATIONS = (CONFIRM, "¿Te genero el link de pago?", "¿Cancelo tu reserva")


def today() -> date:
    return datetime.now(TZ).date()


def open_day(at_least: int, skip: Tuple[date, ...] = ()) -> date:
    """The first day the studio opens (not Sunday) at least `at_least` days ahead and within the week, so
    "el <weekday>" names exactly it."""
    day = today() + timedelta(days=at_least)
    while day.weekday() == 6 or day in skip:
        day += timedelta(days=1)
    assert (day - today()).days <= 6
    return day


def weekday(day: date) -> str:
    return WEEKDAYS[day.weekday()]


class Journey:
    """One client's conversation: each message waits for the turn's replies (all of them)."""

    def __init__(self, client: WhatsAppClient, api: httpx.AsyncClient) -> None:
        self.client, self.api = client, api
        self.transcript: List[Tuple[str, str]] = []
        self.counts: List[int] = []  # how many messages each turn got

    async def say(self, text: str) -> str:
        response = await self.client.send(text)
        assert response.status_code == 200, response.text
        return await self._turn(text)

    async def voice(self, said: str) -> str:
        form = await voice_note_form(self.client.http, self.client.stack.twilio_url, self.client.phone, said)
        response = await post_inbound(self.client.stack.webhook_url, form, AUTH_TOKEN, client=self.client.http,
                                      sandbox_url=self.client.stack.twilio_url)
        assert response.status_code == 200, response.text
        return await self._turn(f"🎤 {said}")

    async def _turn(self, text: str) -> str:
        messages = await self.client.replies(1)
        later = await self.client.settle(quiet=1.2)  # the rest of this turn's messages
        if later:
            self.client.seen = max(m["index"] for m in later)
        reply = "\n".join(m["body"] for m in messages + later)
        self.transcript.append((text, reply))
        self.counts.append(len(messages) + len(later))
        return reply

    async def confirm(self) -> str:
        """Answer "sí" to the confirmation the bot just asked for (failing with the transcript otherwise)."""
        assert any(prompt in self.transcript[-1][1] for prompt in CONFIRMATIONS), self.story()
        return await self.say("sí")

    def story(self) -> str:
        return "\n".join(f"tú  › {said}\nbot › {reply}" for said, reply in self.transcript)

    async def bookings(self) -> List[Dict[str, Any]]:
        response = await self.api.get("/client/bookings", params={"scope": "all"},
                                      headers={"X-Client-Phone": self.client.phone})
        response.raise_for_status()
        return list(response.json())

    async def active(self) -> List[Tuple[str, datetime]]:
        return [(b["service_code"], datetime.fromisoformat(b["starts_at"]).astimezone(TZ))
                for b in await self.bookings() if b["status"] == "confirmed"]

    async def assert_booked(self, service: str, day: date, hour: int, minute: int = 0) -> None:
        wanted = datetime.combine(day, datetime.min.time().replace(hour=hour, minute=minute), TZ)
        assert await self.active() == [(service, wanted)], self.story()

    async def book_directly(self, service: str, day: date, hour: int) -> str:
        span = {"date_from": day.isoformat(), "date_to": day.isoformat(), "service": service}
        slots = await self.api.get("/schedule-slots", params=span)
        slot = next(s for s in slots.json() if datetime.fromisoformat(s["starts_at"]).astimezone(TZ).hour == hour)
        created = await self.api.post("/booking", json={"slot_id": slot["id"]},
                                      headers={"X-Client-Phone": self.client.phone})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@pytest.fixture
async def api(stack: LocalStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.booking_url, headers={"Authorization": f"Bearer {BOOKING_TOKEN}"},
                                 timeout=20) as client:
        yield client


@pytest.fixture
async def known(stack: LocalStack, http: httpx.AsyncClient, api: httpx.AsyncClient) -> Journey:
    """A registered client the bot has never talked to."""
    phone = "+52155" + str(uuid.uuid4().int)[:8]
    created = await api.post("/clients", json={"phone": phone, "name": "Valeria Soto", "email": "vale@example.com"})
    assert created.status_code == 201, created.text
    return Journey(WhatsAppClient(stack, http, phone), api)


@pytest.fixture
def unknown(stack: LocalStack, http: httpx.AsyncClient, api: httpx.AsyncClient) -> Journey:
    return Journey(WhatsAppClient(stack, http, "+52155" + str(uuid.uuid4().int)[:8]), api)


# --- one-line requests: service, day and time in one message -------------------------------------------------

async def test_named_weekday_and_time_in_one_line(known: Journey) -> None:
    day = open_day(2)
    await known.say(f"quiero reservar yoga el {weekday(day)} a las 7 de la tarde")
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_typos_and_d_la_manana_are_not_tomorrow(known: Journey) -> None:
    day = open_day(2)
    await known.say(f"kiero sacar turno pa pilates el {weekday(day)} a las 9 d la mañana")
    await known.confirm()
    await known.assert_booked("pilates", day, 9)


async def test_pasado_manana_with_pm(known: Journey) -> None:
    day = today() + timedelta(days=2)
    reply = await known.say("pasado mañana a las 7pm yoga porfa")
    if day.weekday() == 6:  # asked on a Friday: that Sunday the studio is closed, and no other day is booked
        assert CONFIRM not in reply, known.story()
        assert await known.active() == [], known.story()
        return
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_a_comma_between_day_and_time(known: Journey) -> None:
    day = open_day(2)
    await known.say(f"hola, quiero yoga el {weekday(day)}, a las 7 pm")
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_service_day_and_time_without_a_verb(known: Journey) -> None:
    day = open_day(3)
    reply = await known.say(f"yoga {weekday(day)} 8am")
    assert "¿Para qué día y hora?" not in reply, known.story()  # one answer, not a question beside it
    await known.confirm()
    await known.assert_booked("yoga", day, 8)


async def test_a_date_with_month_and_hs(known: Journey) -> None:
    day = open_day(4)
    await known.say(f"funcional el {day.day} de {MONTHS[day.month - 1]} a las 20 hs")
    await known.confirm()
    await known.assert_booked("funcional", day, 20)


async def test_a_slash_date(known: Journey) -> None:
    day = open_day(3)
    await known.say(f"masaje el {day.day}/{day.month} a las 3 de la tarde")
    await known.confirm()
    await known.assert_booked("masaje", day, 15)


async def test_alas_for_a_las(known: Journey) -> None:
    day = open_day(2)
    await known.say(f"quiero pilates el {weekday(day)} alas 7 de la tarde")
    await known.confirm()
    await known.assert_booked("pilates", day, 19)


# --- step by step, corrections, digressions ------------------------------------------------------------------

async def test_step_by_step(known: Journey) -> None:
    day = open_day(2)
    await known.say("quiero agendar una clase")
    await known.say("pilates")
    await known.say(f"el {weekday(day)} a las 7 de la tarde")
    await known.confirm()
    await known.assert_booked("pilates", day, 19)


async def test_a_time_correction_at_the_confirmation_keeps_the_day(known: Journey) -> None:
    day = open_day(2)
    await known.say(f"yoga el {weekday(day)} a las 8 de la mañana")
    reply = await known.say("no, mejor a las 7 de la tarde")
    assert CONFIRM in reply and "19:00" in reply, known.story()
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_a_day_correction_at_the_confirmation_keeps_the_time(known: Journey) -> None:
    day = open_day(2)
    other = open_day(3, skip=(day,))
    await known.say(f"yoga el {weekday(day)} a las 7 de la tarde")
    reply = await known.say(f"mejor el {weekday(other)}")
    assert CONFIRM in reply and "19:00" in reply, known.story()
    await known.confirm()
    await known.assert_booked("yoga", other, 19)


async def test_a_full_class_offers_alternatives_and_the_pick_is_booked(known: Journey, stack: LocalStack,
                                                                        api: httpx.AsyncClient) -> None:
    summary = (await api.get("/_sandbox/summary")).json()
    full = datetime.fromisoformat(summary["full_slot"]["starts_at"]).astimezone(TZ)
    said = "mañana" if full.date() == today() + timedelta(days=1) else f"el {weekday(full.date())}"
    offer = await known.say(f"quiero pilates {said} a las 6 de la tarde")
    assert "no hay lugar" in offer and "1." in offer, known.story()
    first = offer.split("1. ")[1].split("\n")[0]
    await known.say("1")
    await known.confirm()
    [(service, booked)] = await known.active()
    assert service == "pilates" and first.endswith(booked.strftime("%H:%M")), known.story()


async def test_a_schedule_question_in_the_middle_of_booking(known: Journey) -> None:
    day = open_day(2)
    await known.say("quiero reservar yoga")
    listing = await known.say(f"que horarios tienen el {weekday(day)}?")
    assert "19:00" in listing, known.story()
    await known.say(f"el {weekday(day)} a las 7 de la tarde")
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_a_yes_that_answers_no_question_gets_the_question_again_once(known: Journey) -> None:
    day = open_day(2)
    await known.say("quiero agendar pilates")
    again = await known.say("sí")
    assert known.counts[-1] == 1 and "¡Perfecto!" not in again and "día" in again, known.story()
    await known.say(f"el {weekday(day)} a las 7 de la tarde")
    await known.confirm()
    await known.assert_booked("pilates", day, 19)


async def test_an_unknown_number_registers_and_books(unknown: Journey) -> None:
    day = open_day(2)
    await unknown.say("hola quiero agendar una clase de funcional")
    await unknown.say("Renata Fuentes")
    await unknown.say("renata.fuentes@example.com")
    await unknown.say(f"el {weekday(day)} a las 8 de la noche")
    await unknown.confirm()
    await unknown.assert_booked("funcional", day, 20)
    profile = await unknown.api.get("/client/me", headers={"X-Client-Phone": unknown.client.phone})
    assert profile.json()["name"] == "Renata Fuentes"


async def test_a_voice_note_books_what_it_says(known: Journey) -> None:
    day = open_day(2)
    heard = await known.voice(f"quiero reservar yoga el {weekday(day)} a las 7 de la tarde")
    assert heard.startswith("🎤 Entendí: «"), known.story()
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


# --- moving and cancelling --------------------------------------------------------------------------------------

async def test_move_a_booking_to_another_day_at_the_same_time(known: Journey) -> None:
    day = open_day(2)
    other = open_day(3, skip=(day,))
    old = await known.book_directly("yoga", day, 8)
    await known.say(f"puedo cambiar mi clase de yoga del {weekday(day)} para el {weekday(other)} a la misma hora?")
    await known.confirm()
    await known.assert_booked("yoga", other, 8)
    assert [b["status"] for b in await known.bookings() if b["id"] == old] == ["cancelled"]


async def test_move_a_booking_to_another_time_the_same_day(known: Journey) -> None:
    day = open_day(2)
    await known.book_directly("yoga", day, 8)
    await known.say("me cambias la clase de yoga para las 7 de la tarde?")
    await known.confirm()
    await known.assert_booked("yoga", day, 19)


async def test_move_one_of_several_bookings(known: Journey) -> None:
    day = open_day(2)
    other = open_day(3, skip=(day,))
    await known.book_directly("yoga", day, 8)
    await known.book_directly("funcional", other, 7)
    which = await known.say("quiero cambiar una reserva")
    assert "1." in which and "2." in which, known.story()
    await known.say("2")
    await known.say(f"el {weekday(other)} a las 8 de la noche")
    await known.confirm()
    assert sorted(await known.active()) == sorted([
        ("yoga", datetime.combine(day, datetime.min.time().replace(hour=8), TZ)),
        ("funcional", datetime.combine(other, datetime.min.time().replace(hour=20), TZ))]), known.story()


async def test_cancel_said_indirectly(known: Journey) -> None:
    day = open_day(2)
    booking = await known.book_directly("pilates", day, 9)
    await known.say(f"no voy a poder ir el {weekday(day)}, cancelala porfa")
    await known.confirm()
    assert [b["status"] for b in await known.bookings() if b["id"] == booking] == ["cancelled"], known.story()


# --- questions and buying -----------------------------------------------------------------------------------------

async def test_frequent_questions_are_answered_from_the_studios_file(known: Journey) -> None:
    where = await known.say("donde queda el estudio?")
    assert "Álvaro Obregón" in where, known.story()
    parking = await known.say("y tienen estacionamiento?")
    assert "estacionamiento" in parking.lower(), known.story()
    assert await known.bookings() == []


async def test_buying_a_package_gets_a_payment_link(known: Journey) -> None:
    await known.say("quiero comprar el bono de 10 clases")
    link = await known.confirm()
    assert "/pay/PAY-" in link, known.story()
    history = await known.api.get("/client/purchase-history", headers={"X-Client-Phone": known.client.phone})
    assert [(p["package_code"], p["status"]) for p in history.json()] == [("bono10", "pending")]


# --- the satisfaction question -------------------------------------------------------------------------------

async def test_rated_after_a_booking_and_not_asked_again(known: Journey, log_engine: sa.engine.Engine) -> None:
    """After the first booking the bot asks "¿Qué tal te atendí?"; "5" (the fifth option) is recorded as the
    rating of that booking; a second booking the same week is not followed by the question again."""
    day = open_day(2)
    reply = await known.say(f"quiero yoga el {weekday(day)} a las 8 de la mañana")
    assert CONFIRM in reply, known.story()
    reply = await known.confirm()
    assert "del 1 al 5" in reply, known.story()
    await known.say("5")
    await known.assert_booked("yoga", day, 8)
    rated = rated_events(log_engine, known.client.phone)
    assert [(e["facts"]["valoracion"], e["facts"]["sobre"]) for e in rated] == [(5, "agendar_cita")], known.story()

    other = open_day(2, skip=(day,))
    await known.say(f"agéndame pilates el {weekday(other)} a las 9 de la mañana")
    reply = await known.confirm()
    assert "del 1 al 5" not in reply, known.story()
    assert len(rated_events(log_engine, known.client.phone)) == 1


def rated_events(engine: sa.engine.Engine, phone: str) -> List[Dict[str, Any]]:
    """The metadata of the rating messages the log holds for this client's conversation."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :sender AND type_name = 'bot' ORDER BY id"),
            {"sender": phone},
        ).scalars().all()
    metadata = [json.loads(row).get("metadata") or {} for row in rows]
    return [m for m in metadata if m.get("event") == "satisfaction_rated"]
