"""The reminder loops, in their own process (`python -m rasa_project reminders`) or in the Rasa process.

`ReminderLoops` runs, side by side, everything the bot says first: the reminder sync every
`REMINDERS_SYNC_SECONDS`, the reminder scheduler every `REMINDERS_POLL_SECONDS`, the waitlist's tick
(expired offers passed on, freed places found in the schedule: `rasa_project/waitlist/sync.py`) every
`WAITLIST_POLL_SECONDS`, and any `extra` periodic task (each a coroutine function that runs until
cancelled; `every(seconds, tick)` makes one from a tick). A failing tick is logged and retried on the
next period, never fatal.

In the Rasa process (`REMINDERS_IN_PROCESS=true`) `connectors/whatsapp/lifecycle.py` starts the loops
with the channel and passes the inbox worker's `wake`, so a claimed reminder starts its sender's drain
at once. Several runners (processes or instances) on one database are safe: every claim is a row lock.
Run as its own process, it serves its Prometheus metrics on `REMINDERS_METRICS_PORT` (`serve_metrics`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from typing import Any, Awaitable, Callable, List, Optional, Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from sqlalchemy.engine import Engine

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.conversation_log.database import shared_engine
from rasa_project.garbage_collection import after_startup
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.reminders.scheduler import ReminderScheduler, Wake
from rasa_project.reminders.sync import ReminderSync
from rasa_project.settings import Settings
from rasa_project.waitlist.sync import waitlist_tick

logger = logging.getLogger(__name__)

PeriodicTask = Callable[[], Awaitable[None]]


def every(seconds: float, tick: Callable[[], Awaitable[Any]], name: str = "") -> PeriodicTask:
    """A loop that awaits `tick()` every `seconds` (the first at once) until cancelled; errors are logged."""
    label = name or getattr(tick, "__qualname__", "periodic task")

    async def loop() -> None:
        while True:
            try:
                await tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # beside the conversation: logged, retried next period
                logger.exception("%s failed; retried in %.1fs", label, seconds)
            await asyncio.sleep(seconds)

    loop.__qualname__ = label
    return loop


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ReminderLoops:
    def __init__(self, settings: Settings, engine: Engine, booking_api: Any, wake: Optional[Wake] = None,
                 extra: Sequence[PeriodicTask] = (), owner: Optional[str] = None) -> None:
        self.settings = settings
        self.engine = engine
        self.booking_api = booking_api
        self.planner = ReminderPlanner(settings, engine)
        self.sync = ReminderSync(self.planner, booking_api)
        self.scheduler = ReminderScheduler(settings, engine, owner or default_owner(), wake)
        self.extra = list(extra)
        self._tasks: List[asyncio.Task] = []

    def tasks(self) -> List[PeriodicTask]:
        return [every(self.settings.reminders_sync_seconds, self.sync.run_once, "reminder sync"),
                every(self.settings.reminders_poll_seconds, self.scheduler.tick, "reminder scheduler"),
                every(self.settings.waitlist_poll_seconds, self._waitlist_tick, "waitlist"),
                *self.extra]

    async def _waitlist_tick(self) -> None:
        await waitlist_tick(self.engine, self.settings, self.booking_api)

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(task()) for task in self.tasks()]
        logger.info("Reminder loops started (%s)", self.scheduler.owner)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


async def run_scheduler(settings: Settings, extra: Sequence[PeriodicTask] = (),
                        stop: Optional[asyncio.Event] = None, wake: Optional[Wake] = None) -> None:
    """Sync + scheduler (+ `extra`) until `stop` is set (default: until SIGTERM or SIGINT)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    engine = await asyncio.to_thread(shared_engine, settings.tracker_db_url, settings)
    async with BookingApiClient.from_settings(settings) as booking_api:
        loops = ReminderLoops(settings, engine, booking_api, wake, extra)
        loops.start()
        try:
            await stop.wait()
        finally:
            await loops.stop()
    logger.info("Reminder loops stopped")


def serve_metrics(settings: Settings) -> Optional[WSGIServer]:
    """This process's `GET /metrics` on `REMINDERS_METRICS_HOST:REMINDERS_METRICS_PORT` (prometheus_client's
    own server, in a daemon thread); None when the port is 0. Run apart from Rasa (the default), the
    reminder and waitlist counters live here, so without it Prometheus would never see them. A port in use
    stops the process with the setting to change: a second reminders process on a host needs its own."""
    host, port = settings.reminders_metrics_host, settings.reminders_metrics_port
    if port <= 0:
        return None
    try:
        server, _ = start_http_server(port, host)
    except OSError as exc:
        raise SystemExit(f"REMINDERS_METRICS_PORT {port} on {host}: {exc}; set a free port (one per reminders "
                         "process on a host) or 0 for no metrics endpoint") from exc
    logger.info("Reminder metrics on http://%s:%d/metrics", host, port)
    return server


def main(settings: Settings) -> int:
    """`python -m rasa_project reminders`."""
    metrics = serve_metrics(settings)
    after_startup("reminders", settings.gc_freeze_after_start)
    try:
        asyncio.run(run_scheduler(settings))
    finally:
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
    return 0
