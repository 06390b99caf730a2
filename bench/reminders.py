"""Reminder scheduler throughput and due → send delay, through the full path.

1,000 reminders, all due now (one client each), are claimed by `ReminderScheduler` and sent through the
real channel: inbox row → the channel's inbox worker → the proactive turn (a stand-in agent with Rasa's
in-memory lock and tracker stores: no model; it records the external event and answers one text, as
tests/connector/test_proactive.py does) → the outbound sender → the Twilio sandbox with a fixed latency
per create call. Two ways the message reaches the worker, each on its own throwaway Postgres database:

- `wake`: the scheduler in the Rasa process (`REMINDERS_IN_PROCESS=true`): it wakes the sender's drain;
- `poller`: the scheduler in its own process (`python -m rasa_project reminders`): the channel's poller
  finds the rows every `inbox_poll_seconds` (2 s by default);
- `claim`: the scheduler alone (no channel running): how fast rows are claimed and queued in the inbox.

Printed: claimed/s (first tick → last claim), sent/s (first tick → the last message handed to Twilio),
due → handed-to-Twilio delay p50/p95/max (from each row's `sent_at`, the outbound row's time), Twilio
messages received (should equal the reminders: sent exactly once). Figures only; no asserts.

    python bench/reminders.py [--reminders 1000] [--latency-ms 100] [--batch 50] [--modes claim,wake,poller]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402
from rasa.core.lock_store import InMemoryLockStore  # noqa: E402
from rasa.core.tracker_store import InMemoryTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from sanic import Sanic  # noqa: E402

from bench.common import fmt, machine, percentile  # noqa: E402
from connectors.whatsapp import WhatsAppInput  # noqa: E402
from connectors.whatsapp.tables import senders, utcnow  # noqa: E402
from rasa_project.conversation_log.database import create_log_engine  # noqa: E402
from rasa_project.conversation_log.migrations import migrate  # noqa: E402
from rasa_project.devtools.local_stack import free_port  # noqa: E402
from rasa_project.devtools.throwaway_db import throwaway_database  # noqa: E402
from rasa_project.reminders.scheduler import ReminderScheduler  # noqa: E402
from rasa_project.reminders.tables import INTENT, reminders  # noqa: E402
from rasa_project.sandboxes.twilio_api import create_app  # noqa: E402
from rasa_project.settings import Settings  # noqa: E402

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "bench-reminders-token"
PHONE_BASE = 5215570000000
Sanic.test_mode = True  # one Sanic app per mode in this process


class StandInAgent:
    """Rasa's agent as far as the channel uses it for an external event (no model)."""

    def __init__(self) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.lock_store = InMemoryLockStore()
        self.domain = SimpleNamespace(intents=[INTENT])
        self.processor = SimpleNamespace(fetch_tracker_and_update_session=self._fetch)

    async def _fetch(self, sender_id: str, output: Any) -> DialogueStateTracker:
        return await self.tracker_store.get_or_create_tracker(sender_id)

    async def trigger_intent(self, intent: str, entities: Dict[str, Any], output: Any,
                             tracker: DialogueStateTracker) -> None:
        tracker.update(UserUttered.create_external(intent, [{"entity": k, "value": v} for k, v in entities.items()]))
        await self.tracker_store.save(tracker)
        await output.send_text_message(tracker.sender_id, f"Recordatorio de tu clase ({entities['reserva_id']})")


async def _twilio(latency_ms: int, count: int) -> tuple:
    port = free_port()
    runner = web.AppRunner(create_app(ACCOUNT_SID, AUTH_TOKEN, status_delays=(0.05, 0.05, 0.05)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=30) as client:  # a fixed latency on every create call
        (await client.post(f"{url}/_sandbox/faults",
                           json={"outcomes": [{"delay_ms": latency_ms}] * (count + 10)})).raise_for_status()
    return runner, url


async def _channel(settings: Settings) -> tuple:
    app = Sanic(f"bench_reminders_{uuid.uuid4().hex[:8]}")
    app.config.ACCESS_LOG = False
    app.ctx.agent = StandInAgent()
    channel = WhatsAppInput(settings)

    async def on_new_message(_: Any) -> None:  # no client writes during the bench
        return None

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
    server = await app.create_server(host="127.0.0.1", port=free_port(), return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    return server, channel


async def _stop(server: Any) -> None:
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


def _insert_due(engine: sa.engine.Engine, count: int) -> None:
    """`count` reminders due now, to clients who wrote in the last hour: inside WhatsApp's 24-hour window the
    reminder goes free-form (outside it, the channel sends it as the approved template or skips it
    `outside_window_no_template`; this bench approves none)."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(senders.insert(), [dict(sender_id=f"+{PHONE_BASE + i}", opted_out=False,
                                             last_inbound_at=now - timedelta(hours=1)) for i in range(count)])
        conn.execute(reminders.insert(), [
            dict(booking_id=f"BENCH-{i:05d}", client_phone=f"+{PHONE_BASE + i}", service_code="yoga",
                 service_name="Yoga", starts_at=now + timedelta(hours=3), offset_minutes=120, due_at=now,
                 state="pending", attempts=0, created_at=now, updated_at=now) for i in range(count)])


def _counts(engine: sa.engine.Engine) -> Dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(reminders.c.state, sa.func.count()).group_by(reminders.c.state)).all())


async def run_mode(mode: str, count: int, latency_ms: int, batch: int, deadline_s: float) -> Dict[str, Any]:
    with throwaway_database("t_bench_reminders") as url:
        runner, twilio_url = await _twilio(latency_ms, count)
        settings = Settings(tracker_db_url=url, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                            twilio_api_base_url=twilio_url, reminders_batch=batch, tracker_db_pool_size=10)
        engine = create_log_engine(url, settings)
        migrate(engine)
        _insert_due(engine, count)
        server, channel = await _channel(settings) if mode != "claim" else (None, None)
        wake = channel.runtime.opened.worker.wake if mode == "wake" else None
        scheduler = ReminderScheduler(settings, engine, f"bench-{mode}", wake)
        started = time.perf_counter()
        started_utc = utcnow()
        claimed_at: Optional[float] = None
        try:
            while time.perf_counter() - started < deadline_s:
                await scheduler.tick()
                counts = _counts(engine)
                if claimed_at is None and counts.get("pending", 0) == 0:
                    claimed_at = time.perf_counter()
                if counts.get("pending", 0) + counts.get("claimed", 0) == 0 or (mode == "claim" and claimed_at):
                    break
                await asyncio.sleep(settings.reminders_poll_seconds if counts.get("pending") else 0.2)
            with engine.connect() as conn:
                sent = conn.execute(sa.select(reminders.c.due_at, reminders.c.sent_at)
                                    .where(reminders.c.state == "sent")).all()
            counts = _counts(engine)
            async with httpx.AsyncClient(timeout=30) as client:
                stats = (await client.get(f"{twilio_url}/_sandbox/stats")).json()
                listed = (await client.get(f"{twilio_url}/_sandbox/messages",
                                           params={"after": 0, "wait": 0})).json()["messages"]
        finally:
            if server is not None:
                await _stop(server)
            await runner.cleanup()
            engine.dispose()
    delays = [(s - d).total_seconds() for d, s in sent if s is not None]
    last = max((s for _, s in sent if s is not None), default=None)
    send_span = (last - started_utc).total_seconds() if last else None
    return dict(mode=mode, reminders=count, counts=counts, twilio_messages=len(listed), twilio_stats=stats,
                claim_span_s=(claimed_at - started) if claimed_at else None, send_span_s=send_span,
                claimed_per_s=count / (claimed_at - started) if claimed_at else None,
                sent_per_s=len(delays) / send_span if send_span else None,
                delay_p50_s=percentile(delays, 50), delay_p95_s=percentile(delays, 95),
                delay_max_s=max(delays) if delays else None)


def print_table(results: List[Dict[str, Any]], latency_ms: int, batch: int) -> None:
    print(f"\nReminders: {results[0]['reminders']} due at once, Twilio latency {latency_ms} ms, batch {batch}; "
          f"{machine()}")
    print("| mode | claimed/s | sent/s | due → Twilio p50 / p95 / max s | Twilio messages | states |")
    print("|---|---|---|---|---|---|")
    for r in results:
        states = ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items()))
        print(f"| {r['mode']} | {fmt(r['claimed_per_s'], 0)} | {fmt(r['sent_per_s'], 1)} | "
              f"{fmt(r['delay_p50_s'], 2)} / {fmt(r['delay_p95_s'], 2)} / {fmt(r['delay_max_s'], 2)} | "
              f"{r['twilio_messages']} | {states} |")


def main(argv: Sequence[str] | None = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=100, help="the Twilio sandbox's delay per create call")
    parser.add_argument("--batch", type=int, default=Settings().reminders_batch)
    parser.add_argument("--modes", default="claim,wake,poller")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds per mode, at most")
    args = parser.parse_args(argv)
    results = [asyncio.run(run_mode(mode, args.reminders, args.latency_ms, args.batch, args.deadline))
               for mode in args.modes.split(",")]
    print_table(results, args.latency_ms, args.batch)
    return results


if __name__ == "__main__":
    main()
