"""The channel's own database cost: round trips to Postgres for ONE client message on the happy path.

Webhook accept → claim → the turn (tracker retrieved, the message logged, one reply sent to Twilio, the
tracker saved) → finished, counted at the psycopg2 level (`round_trips.py`) on a conversation that already
exists (steady state). Twilio's status callbacks are counted apart: they come later, each on its own.
The agent is a stand-in for Rasa's `MessageProcessor.handle_message` with our SQL tracker store.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import psycopg2
import psycopg2.extensions as ext
import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from connectors.whatsapp.inbox_notify import libpq_dsn
from rasa_project.conversation_log.tracker_store import WindowedSQLTrackerStore
from rasa_project.devtools.local_stack import free_port
from rasa_project.sandboxes.twilio_api import create_app
from tests.connector.round_trips import RoundTrips, counting_round_trips
from tests.connector.support import ACCOUNT_SID, AUTH_TOKEN, Sandbox, eventually

A = "+5215544440001"
# issue 13 asks for at most 8; it is 6: accept, claim (with the gate's reads, the client's delivery state and
# whether more wait), tracker retrieve, outbound row before and after Twilio, tracker save with the finish (a
# plain text for Rasa is not written: gate.py; no closing claim: nothing waited and no wake-up came)
MAX_ROUND_TRIPS = 6
CALLBACK_DELAY = 2.0  # Twilio's first status callback comes this long after the send (sandbox)


class TrackerTurns:
    """What Rasa's processor does to the store and the output on a plain turn: retrieve, send, save once."""

    def __init__(self, store: WindowedSQLTrackerStore) -> None:
        self.tracker_store = store
        self.processor = None

    async def __call__(self, message: UserMessage) -> None:
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, {"name": "saludo", "confidence": 1.0},
                                   message_id=message.message_id, input_channel=message.input_channel))
        tracker.update(ActionExecuted("utter_saludo"))
        text = f"eco: {message.text}"
        await message.output_channel.send_text_message(message.sender_id, text)
        tracker.update(BotUttered(text))
        tracker.update(ActionExecuted("action_listen"))
        await self.tracker_store.save(tracker)


@pytest.fixture
async def sandbox():
    """The Twilio sandbox with the first status callback late, so it never falls inside a message's count."""
    port = free_port()
    runner = web.AppRunner(create_app(ACCOUNT_SID, AUTH_TOKEN, status_delays=(CALLBACK_DELAY, 0.02, 0.02)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with httpx.AsyncClient(timeout=20) as client:
        yield Sandbox(f"http://127.0.0.1:{port}", client)
    await runner.cleanup()


def _idle(channel: Any, number: str) -> bool:
    worker = channel.input_channel.runtime.opened.worker
    return number not in worker._drains


async def test_one_message_costs_at_most_six_round_trips(start_channel, sandbox, settings):
    watcher = psycopg2.connect(libpq_dsn(settings.tracker_db_url), connection_factory=ext.connection)  # not counted
    watcher.autocommit = True

    def status_events() -> int:
        with watcher.cursor() as cur:
            cur.execute("SELECT count(*) FROM whatsapp_status_events")
            return int(cur.fetchone()[0])

    try:
        with counting_round_trips() as trips:
            store = WindowedSQLTrackerStore(domain=Domain.empty(), settings=replace(settings, inbox_poll_seconds=600))
            turns = TrackerTurns(store)
            channel = await start_channel(turns, agent=turns, inbox_poll_seconds=600)

            async def one_message(body: str, count: int) -> list:
                trips.take()
                assert (await channel.send(A, body)).status_code == 200
                await channel.replies(sandbox, A, min_count=count)
                await eventually(lambda: _idle(channel, A))
                return trips.take()

            await one_message("hola", 1)  # the conversation starts (first tracker save)
            await eventually(lambda: status_events() >= 2)  # sent, delivered (none for the initial queued)
            steady = await one_message("que paquetes tienen?", 2)
            await eventually(lambda: status_events() >= 4)
            await eventually(lambda: _idle(channel, A))
            callbacks = trips.take()
    finally:
        watcher.close()
    report = (f"round trips for one message: {len(steady)}\n{RoundTrips.breakdown(steady)}\n"
              f"its 2 status callbacks: {len(callbacks)}\n{RoundTrips.breakdown(callbacks)}")
    print(report)
    assert len(steady) <= MAX_ROUND_TRIPS, report + "\nin order:\n" + "\n".join(steady)
