"""Runs a booking sandbox app on its own event loop in a thread, on a port the OS picks.

A separate loop keeps the server alive across tests (pytest-asyncio gives each test its own loop) and
means a test blocking its loop can never stall the server it is talking to.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

from aiohttp import web


class Clock:
    """The sandbox's `now`, shiftable so tests can make seeded slots lie in the past."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


class ThreadedServer:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start())
            except BaseException as exc:  # surfaced to the fixture below
                self._error = exc
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            assert self._runner is not None
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="booking-sandbox", daemon=True)
        self._thread.start()
        if not ready.wait(60):
            raise RuntimeError("booking sandbox did not start within 60 s")
        if self._error is not None:
            raise RuntimeError(f"booking sandbox failed to start: {self._error!r}") from self._error
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
