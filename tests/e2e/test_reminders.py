"""Reminders end to end: a booking made through the webhook gets its reminders planned; a due reminder goes
out once through Rasa (text inside WhatsApp's 24-hour window, the approved template outside it); the
client's "1" confirms, "2" cancels and "3" moves the booking in the booking sandbox; a booking made at the
front desk is picked up by the sync, and one cancelled there gets no reminder.

The stack runs the scheduler inside the Rasa process (REMINDERS_IN_PROCESS, tests/e2e/conftest.py). A test
makes a reminder due by moving its `due_at` to now in the log database: the same row the scheduler would
reach by the clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.reminders.offsets import horizon_days, parse_offsets
from rasa_project.settings import Settings
from tests.e2e.support import wait_until
from tests.e2e.test_journeys import TZ, Journey, api, known, today, weekday  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


def reminders_of(engine: sa.engine.Engine, booking_id: str) -> List[Dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM reminders WHERE booking_id = :b ORDER BY offset_minutes DESC"),
                            {"b": booking_id}).mappings().all()
    return [dict(r) for r in rows]


def make_due(engine: sa.engine.Engine, booking_id: str, offset_minutes: int) -> None:
    with engine.begin() as conn:
        moved = conn.execute(sa.text("UPDATE reminders SET due_at = :now WHERE booking_id = :b "
                                     "AND offset_minutes = :o AND state = 'pending'"),
                             {"now": datetime.utcnow() - timedelta(seconds=1), "b": booking_id, "o": offset_minutes})
        assert moved.rowcount == 1, [(r["offset_minutes"], r["state"], r["reason"], r["due_at"], r["starts_at"])
                                     for r in reminders_of(engine, booking_id)]


SERVICE, NAME, HOUR = "funcional", "Entrenamiento Funcional", 20  # 10 places a class: room beside the journeys


async def first_roomy_day(api: httpx.AsyncClient, days: Iterable[date],
                          starts_ok: Callable[[datetime], bool] = lambda starts: True) -> Optional[date]:
    """The first of `days` whose 20:00 funcional class has room (the suite's other tests book classes too)
    and a start `starts_ok` accepts."""
    for day in days:
        slots = (await api.get("/schedule-slots", params={"date_from": day.isoformat(), "date_to": day.isoformat(),
                                                          "service": SERVICE})).json()
        if any((starts := datetime.fromisoformat(s["starts_at"])).astimezone(TZ).hour == HOUR
               and s["available"] >= 2 and starts_ok(starts) for s in slots):
            return day
    return None


async def roomy_day(api: httpx.AsyncClient, skip: Tuple[date, ...] = ()) -> date:
    """A day this week (never tomorrow, never Sunday) whose 20:00 funcional class has room."""
    week = [today() + timedelta(days=ahead) for ahead in range(2, 7)]
    day = await first_roomy_day(api, [d for d in week if d.weekday() != 6 and d not in skip])
    if day is None:
        raise AssertionError("no funcional class with room at 20:00 this week")
    return day


async def book_with_the_bot(known: Journey) -> str:
    day = await roomy_day(known.api)
    await known.say(f"quiero reservar funcional el {weekday(day)} a las 8 de la noche")
    await known.confirm()
    [booking] = [b for b in await known.bookings() if b["status"] == "confirmed"]
    return str(booking["id"])


async def day_the_sync_reads(api: httpx.AsyncClient) -> date:
    """A day the sync reads (tomorrow or the day after: `horizon_days` of the 24 h offset) whose 20:00 funcional
    class has room and starts more than 2 h + the minimum lead from now (its 2 h reminder still ahead): the day
    after tomorrow first (its 24 h reminder is ahead too), tomorrow when that is a Sunday (asked on a Friday)."""
    settings = Settings()
    now = datetime.now(TZ)
    earliest = now + timedelta(hours=2, minutes=settings.reminders_min_lead_minutes + 10)
    horizon = horizon_days(parse_offsets(settings.reminder_offsets))

    def starts_ok(starts: datetime) -> bool:
        # not within 15 min of a day from now: its 24 h reminder must be clearly ahead (made due by the test)
        # or clearly past (skipped at planning), never sent by the scheduler's clock while the test runs
        return starts > earliest and abs(starts - now - timedelta(hours=24)) > timedelta(minutes=15)

    day = await first_roomy_day(api, [today() + timedelta(days=ahead) for ahead in range(horizon, 0, -1)], starts_ok)
    if day is None:
        raise AssertionError(f"no funcional class with room at 20:00 in the sync's {horizon} days after {today()}")
    return day


async def book_at_the_front_desk(known: Journey) -> Tuple[str, date]:
    """A booking the bot never saw, on a day the sync reads (it plans its reminders)."""
    day = await day_the_sync_reads(known.api)
    return await known.book_directly(SERVICE, day, HOUR), day


def next_reminder(engine: sa.engine.Engine, booking_id: str) -> int:
    """The offset of the first reminder still pending (24 h, or 2 h for a class booked less than a day ahead)."""
    return max(r["offset_minutes"] for r in reminders_of(engine, booking_id) if r["state"] == "pending")


async def reminder_reaches_the_client(known: Journey, engine: sa.engine.Engine, booking_id: str) -> Dict[str, Any]:
    make_due(engine, booking_id, next_reminder(engine, booking_id))
    [message] = await known.client.replies(1, timeout=30)
    rows = await wait_until(lambda: [r for r in reminders_of(engine, booking_id) if r["state"] == "sent"], timeout=30)
    assert rows[0]["twilio_sid"] == message["sid"], rows
    assert await known.client.settle(quiet=1.5) == []  # once
    return message


async def test_a_booking_gets_its_reminders_and_1_confirms(known: Journey, log_engine: sa.engine.Engine) -> None:
    booking_id = await book_with_the_bot(known)
    planned = await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=10)
    assert [(r["offset_minutes"], r["state"]) for r in planned] == [(24 * 60, "pending"), (120, "pending")]
    starts = planned[0]["starts_at"]
    assert planned[0]["due_at"] == starts - timedelta(hours=24) and planned[1]["due_at"] == starts - timedelta(hours=2)
    await known.client.settle(quiet=1.5)  # the rating question after the booking, if any

    message = await reminder_reaches_the_client(known, log_engine, booking_id)
    assert NAME in message["body"] and "1." in message["body"], message["body"]
    await known.say("1")
    confirmed = await wait_until(lambda: [r for r in reminders_of(log_engine, booking_id) if r["confirmed_at"]],
                                 timeout=10)
    assert confirmed, reminders_of(log_engine, booking_id)
    assert [b["status"] for b in await known.bookings()] == ["confirmed"]


async def test_2_to_a_reminder_cancels_that_booking(known: Journey, log_engine: sa.engine.Engine) -> None:
    booking_id, day = await book_at_the_front_desk(known)
    keep = await known.book_directly(SERVICE, await roomy_day(known.api, skip=(day,)), HOUR)
    await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=20)  # the sync planned them
    await reminder_reaches_the_client(known, log_engine, booking_id)
    reply = await known.say("2")
    assert "¿Cancelo tu reserva" in reply, known.story()  # that booking, not "which one?"
    await known.say("sí")
    statuses = {b["id"]: b["status"] for b in await known.bookings()}
    assert statuses == {booking_id: "cancelled", keep: "confirmed"}, known.story()
    assert {r["state"] for r in reminders_of(log_engine, booking_id)} <= {"sent", "cancelled"}


async def test_3_to_a_reminder_moves_that_booking_and_replans(known: Journey, log_engine: sa.engine.Engine) -> None:
    booking_id, day = await book_at_the_front_desk(known)
    await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=20)
    await reminder_reaches_the_client(known, log_engine, booking_id)
    await known.say("3")
    later = await roomy_day(known.api, skip=(day,))
    await known.say(f"el {weekday(later)} a la misma hora")
    await known.confirm()
    active = await known.active()
    assert active == [(SERVICE, datetime.combine(later, datetime.min.time().replace(hour=HOUR), TZ))], known.story()
    [new] = [b for b in await known.bookings() if b["status"] == "confirmed"]
    assert {r["state"] for r in reminders_of(log_engine, booking_id)} <= {"sent", "cancelled"}
    assert {r["state"] for r in await wait_until(lambda: reminders_of(log_engine, str(new["id"])), timeout=10)} == \
        {"pending"}


async def test_an_answer_that_is_none_of_them_goes_on_normally(known: Journey, log_engine: sa.engine.Engine) -> None:
    booking_id, _ = await book_at_the_front_desk(known)
    await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=20)
    await reminder_reaches_the_client(known, log_engine, booking_id)
    reply = await known.say("cuanto cuestan los paquetes?")
    assert "$" in reply, known.story()
    assert [b["status"] for b in await known.bookings()] == ["confirmed"]


async def test_a_booking_cancelled_at_the_front_desk_gets_no_reminder(known: Journey, api: httpx.AsyncClient,
                                                                     log_engine: sa.engine.Engine) -> None:
    booking_id, _ = await book_at_the_front_desk(known)
    await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=20)
    cancelled = await api.delete(f"/client/bookings/{booking_id}", headers={"X-Client-Phone": known.client.phone})
    assert cancelled.status_code == 200, cancelled.text
    rows = await wait_until(lambda: [r for r in reminders_of(log_engine, booking_id) if r["state"] == "cancelled"]
                            and reminders_of(log_engine, booking_id), timeout=20)
    assert {r["state"] for r in rows} == {"cancelled"}
    assert await known.client.settle(quiet=2.0) == []


async def test_outside_the_window_the_reminder_is_the_template(known: Journey, log_engine: sa.engine.Engine,
                                                              http: httpx.AsyncClient, stack: LocalStack) -> None:
    booking_id, _ = await book_at_the_front_desk(known)
    await known.say("hola")  # the client wrote once...
    with log_engine.begin() as conn:  # ...more than 24 hours ago, for the channel and for Twilio
        conn.execute(sa.text("UPDATE whatsapp_senders SET last_inbound_at = :t WHERE sender_id = :s"),
                     {"t": datetime.utcnow() - timedelta(hours=25), "s": known.client.phone})
    await http.post(f"{stack.twilio_url}/_sandbox/inbound", json={
        "from": known.client.address, "at": (datetime.utcnow() - timedelta(hours=25)).isoformat() + "Z"})
    await wait_until(lambda: reminders_of(log_engine, booking_id), timeout=20)
    message = await reminder_reaches_the_client(known, log_engine, booking_id)
    assert message.get("content_sid"), message
    assert message.get("approved_template") is True and NAME in (message.get("content_body") or ""), message
    assert message["status"] != "failed"
