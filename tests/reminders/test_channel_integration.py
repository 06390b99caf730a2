"""Scheduler + channel + Twilio sandbox: a due reminder reaches "Twilio" once and its row ends `sent` with
the Twilio SID, both with the loops inside the Rasa process (`REMINDERS_IN_PROCESS`) and in their own
runner (`run_scheduler`, the channel's poller picks the message up).

The agent is the stand-in of tests/connector/test_proactive.py (Rasa's lock and tracker stores, the
external event recorded, one reply through the channel's output)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any, List

import sqlalchemy as sa

from rasa_project.reminders.runner import every, run_scheduler
from rasa_project.settings import Settings
from tests.connector.conftest import pg_url, sandbox, settings, start_channel  # noqa: F401  (fixtures)
from tests.connector.support import Sandbox, eventually
from tests.connector.test_proactive import ExternalEventAgent, wrote_now
from tests.reminders.support import insert_due, rows
from tests.support.booking_sandbox import TOKEN, sandbox_server  # noqa: F401  (fixture)
from tests.support.threaded_server import ThreadedServer

# A client no other test books for: the session's booking sandbox is shared with other tests, and the
# scheduler's sync plans reminders for what is booked there (another test's booking within 24 h is one
# more due reminder, for its own client).
PHONE_BASE = 5215557770000
PHONE = f"+{PHONE_BASE}"
BOOKING = f"DUE-{PHONE_BASE - 5215550000000:05d}"


def _engine(settings: Settings) -> sa.engine.Engine:  # noqa: F811
    return sa.create_engine(settings.tracker_db_url, future=True)


def _reminder_settings(settings: Settings, booking_api: ThreadedServer, **extra: Any) -> Settings:  # noqa: F811
    return replace(settings, booking_api_url=booking_api.url, booking_api_token=TOKEN, reminders_poll_seconds=0.1,
                   reminders_sync_seconds=30.0, **extra)


async def _sent_row(engine: sa.engine.Engine) -> dict:
    return await eventually(lambda: (r := rows(engine, BOOKING)) and r[0]["state"] != "claimed" and
                            r[0]["state"] != "pending" and r[0], timeout=20)


async def test_in_process_a_due_reminder_reaches_twilio_once_and_ends_sent(
        start_channel, sandbox: Sandbox, settings: Settings, sandbox_server: ThreadedServer) -> None:  # noqa: F811
    agent = ExternalEventAgent()
    channel = await start_channel(agent=agent, **vars(_reminder_settings(settings, sandbox_server,
                                                                          reminders_in_process=True)))
    assert channel.input_channel.runtime.reminders is not None  # the loops run inside the channel's process
    engine = _engine(settings)
    try:
        wrote_now(settings.tracker_db_url, PHONE)  # the window is open: the stand-in's plain text may go
        (rid,) = insert_due(engine, 1, phone_base=PHONE_BASE)
        row = await _sent_row(engine)
        messages = await sandbox.messages(f"whatsapp:{PHONE}")
        assert [m["body"] for m in messages] == [f"Tu clase es mañana ({BOOKING})"]
        assert (row["state"], row["twilio_sid"]) == ("sent", messages[0]["sid"])
        assert row["sent_at"] >= row["due_at"] and row["twilio_status"]
        # (the sync may also remind other clients of the shared sandbox's bookings made by other tests)
        ours = [t for t in agent.triggered if t["sender"] == PHONE]
        assert ours == [{"sender": PHONE, "intent": "EXTERNAL_recordatorio", "reserva_id": BOOKING,
                         "recordatorio_id": str(rid), "aviso": f"reminder-{rid}"}]
    finally:
        engine.dispose()
    await channel.stop()
    assert channel.input_channel.runtime.reminders is None
    assert len(await sandbox.messages(f"whatsapp:{PHONE}")) == 1


async def test_own_runner_with_an_extra_task_and_the_channels_poller(
        start_channel, sandbox: Sandbox, settings: Settings, sandbox_server: ThreadedServer) -> None:  # noqa: F811
    await start_channel(agent=ExternalEventAgent())  # REMINDERS_IN_PROCESS off: the poller finds the row
    engine = _engine(settings)
    stop = asyncio.Event()
    sweeps: List[int] = []

    async def sweep() -> None:  # what the waitlist's sweeper would be
        sweeps.append(1)

    runner = asyncio.create_task(run_scheduler(_reminder_settings(settings, sandbox_server),
                                               extra=[every(0.05, sweep)], stop=stop))
    try:
        wrote_now(settings.tracker_db_url, PHONE)
        insert_due(engine, 1, phone_base=PHONE_BASE, due_ago=timedelta(seconds=1))
        row = await _sent_row(engine)
        messages = await sandbox.messages(f"whatsapp:{PHONE}")
        assert len(messages) == 1 and (row["state"], row["twilio_sid"]) == ("sent", messages[0]["sid"])
        await eventually(lambda: len(sweeps) >= 2)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
        engine.dispose()
