"""Reminders with two Rasa instances, each running the scheduler on the shared database, and through a
crash: every due reminder reaches its client exactly once (counted at the Twilio sandbox), also when both
instances are killed with reminders claimed and queued but not yet sent, then restarted.

Bookings are made directly in the booking sandbox (the front desk), so the sync plans their reminders;
a test makes the 24-hour reminders due by moving their `due_at` to now.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import as_numbered_text
from tests.scale.support import address, booking_admin, log_engine, new_numbers, query, sandbox_messages

pytestmark = pytest.mark.slow

TZ = ZoneInfo("America/Mexico_City")


async def _book(numbers: List[str], stack: LocalStack) -> Dict[str, str]:
    """One booking per number, made at the front desk, in the roomiest classes of the next two days (what
    the sync reads with 24 h and 2 h offsets; the suite's other tests book too); booking id per number."""
    today = datetime.now(TZ).date()
    booked: Dict[str, str] = {}
    async with booking_admin(stack) as api:
        slots = []
        for service in ("funcional", "yoga", "pilates"):
            slots += (await api.get("/schedule-slots", params={
                "date_from": (today + timedelta(days=1)).isoformat(),
                "date_to": (today + timedelta(days=2)).isoformat(), "service": service})).json()
        # the earliest reminder still ahead: a class 3 h away has its 2 h one only
        slots = [s for s in slots if datetime.fromisoformat(s["starts_at"]) > datetime.now(TZ) + timedelta(hours=3)]
        roomy = sorted(slots, key=lambda s: -s["available"])
        assert sum(s["available"] for s in roomy) >= len(numbers), "no room left for the test's bookings"
        for index, number in enumerate(numbers):
            created = await api.post("/clients", json={"phone": number, "name": f"Cliente {index}",
                                                       "email": f"c{index}@example.com"})
            assert created.status_code == 201, created.text
            slot = next(s for s in roomy if s["available"] > 0)
            slot["available"] -= 1
            made = await api.post("/booking", json={"slot_id": slot["id"]}, headers={"X-Client-Phone": number})
            assert made.status_code == 201, made.text
            booked[number] = str(made.json()["id"])
    return booked


async def _planned(scale_db: str, bookings: Dict[str, str], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        rows = query(scale_db, "SELECT count(DISTINCT booking_id) FROM reminders WHERE booking_id = ANY(:b) "
                               "AND state = 'pending'", b=list(bookings.values()))
        if rows[0][0] == len(bookings):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the sync planned reminders for {rows[0][0]} of {len(bookings)} bookings")


def _make_due(scale_db: str, bookings: Dict[str, str]) -> None:
    """Each booking's earliest pending reminder due now (the 24 h one, or the 2 h one when the 24 h one was
    already too late at planning)."""
    engine = log_engine(scale_db)
    try:
        with engine.begin() as conn:  # `query` never commits
            moved = conn.execute(sa.text(
                "UPDATE reminders SET due_at = now() AT TIME ZONE 'UTC' - interval '1 second' "
                "WHERE id IN (SELECT DISTINCT ON (booking_id) id FROM reminders "
                "WHERE booking_id = ANY(:b) AND state = 'pending' ORDER BY booking_id, offset_minutes DESC) "
                "RETURNING id"), {"b": list(bookings.values())}).all()
    finally:
        engine.dispose()
    assert len(moved) == len(bookings), moved


async def _reminders_received(http: httpx.AsyncClient, stack: LocalStack, numbers: List[str],
                              timeout: float, quiet: float = 3.0) -> Dict[str, int]:
    wanted = {address(n): n for n in numbers}
    deadline = asyncio.get_running_loop().time() + timeout
    counts: Dict[str, int] = {}
    while True:
        counts = {n: 0 for n in numbers}
        for message in await sandbox_messages(http, stack):
            if message["to"] in wanted and "te recordamos tu clase" in as_numbered_text(message).lower():
                counts[wanted[message["to"]]] += 1
        if all(counts.values()) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    if quiet:
        await asyncio.sleep(quiet)  # a late duplicate would show
        return await _reminders_received(http, stack, numbers, timeout=0, quiet=0)
    return counts


def _story(scale_db: str, bookings: Dict[str, str], numbers: List[str]) -> Dict[str, Any]:
    """What the log database says of these reminders, for a failure's message."""
    return {
        "reminders": query(scale_db, "SELECT offset_minutes, state, reason, attempts FROM reminders "
                                     "WHERE booking_id = ANY(:b) ORDER BY id", b=list(bookings.values()))[:6],
        "inbox": query(scale_db, "SELECT status, last_error FROM whatsapp_inbox WHERE sender_id = ANY(:s)",
                       s=numbers)[:6],
        "outbound": query(scale_db, "SELECT status, error_message FROM whatsapp_outbound WHERE sender_id = ANY(:s)",
                          s=numbers)[:6],
    }


async def _until(predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if predicate():
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(interval)


def _states(scale_db: str, bookings: Dict[str, str]) -> Dict[str, int]:
    rows = query(scale_db, "SELECT state, count(*) FROM reminders WHERE booking_id = ANY(:b) "
                           "AND due_at < now() AT TIME ZONE 'UTC' AND state <> 'skipped' GROUP BY state",
                 b=list(bookings.values()))
    return {state: int(count) for state, count in rows}


async def test_two_schedulers_send_each_due_reminder_once(stack: LocalStack, scale_db: str,
                                                          http: httpx.AsyncClient) -> None:
    numbers = new_numbers(16)
    bookings = await _book(numbers, stack)
    await _planned(scale_db, bookings)
    _make_due(scale_db, bookings)

    counts = await _reminders_received(http, stack, numbers, timeout=90)
    assert counts == {n: 1 for n in numbers}, (counts, _story(scale_db, bookings, numbers))
    owners = query(scale_db, "SELECT count(DISTINCT claimed_by), count(*) FROM reminders WHERE booking_id = ANY(:b) "
                             "AND state = 'sent'", b=list(bookings.values()))
    print(f"\nclaimed by {owners[0][0]} scheduler(s): {owners[0][1]} reminders, each sent once")
    proactive = query(scale_db, "SELECT count(*) FROM whatsapp_inbox WHERE message_sid LIKE 'proactive:reminder-%' "
                                "AND sender_id = ANY(:s)", s=numbers)[0][0]
    assert proactive == len(numbers)
    assert await _until(lambda: _states(scale_db, bookings) == {"sent": len(numbers)}, 30), _states(scale_db, bookings)


async def test_both_instances_killed_with_reminders_queued_send_each_once_after_restart(
        stack: LocalStack, scale_db: str, http: httpx.AsyncClient) -> None:
    numbers = new_numbers(16)
    bookings = await _book(numbers, stack)
    await _planned(scale_db, bookings)
    _make_due(scale_db, bookings)
    assert await _until(lambda: _states(scale_db, bookings).get("claimed"), 30, interval=0.05)
    claimed = _states(scale_db, bookings)
    for name in ("rasa", "rasa1"):  # kill -9 as soon as the claims are queued, sends in flight
        await asyncio.to_thread(stack.kill, name, signal.SIGKILL)
    sent_before = sum((await _reminders_received(http, stack, numbers, timeout=0, quiet=0)).values())
    for name in ("rasa", "rasa1"):
        await asyncio.to_thread(stack.restart, name, 240)

    counts = await _reminders_received(http, stack, numbers, timeout=120)
    print(f"\nkilled with {claimed} ({sent_before} already sent); after the restart: {sum(counts.values())} sent")
    assert counts == {n: 1 for n in numbers}, counts
