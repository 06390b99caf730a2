"""The booking sandbox for tests: one per session (temp SQLite file, real HTTP on a free port), reset
before every test that asks for `sandbox`. Used by the booking-API and the action suites."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, AsyncIterator, Dict, Iterator, List

import httpx
import pytest

from rasa_project.sandboxes.booking_api import create_app
from tests.support.threaded_server import Clock, ThreadedServer

TOKEN = "test-booking-token"
TZ = "America/Mexico_City"
ANA = "+5215512345678"
MARTIN = "+5491155550000"
LUCIA = "+34600111222"


class Sandbox:
    """Test-side handle: base URL, the reset summary and the `/_sandbox/` controls."""

    def __init__(self, url: str, clock: Clock, http: httpx.AsyncClient, summary: Dict[str, Any]) -> None:
        self.url = url
        self.clock = clock
        self.http = http
        self.summary = summary

    @property
    def full_slot_id(self) -> int:
        return int(self.summary["full_slot_id"])

    @property
    def full_slot_day(self) -> date:
        return datetime.fromisoformat(self.summary["full_slot"]["starts_at"]).date()

    def bookings_of(self, phone: str) -> List[str]:
        return next(c["booking_ids"] for c in self.summary["clients"] if c["phone"] == phone)

    async def fault(self, **fault: Any) -> None:
        response = await self.http.post("/_sandbox/faults", json=fault)
        assert response.status_code == 201, response.text

    async def faults(self) -> List[Dict[str, Any]]:
        return (await self.http.get("/_sandbox/faults")).json()["faults"]

    async def requests(self, path: str) -> List[Dict[str, Any]]:
        log = (await self.http.get("/_sandbox/requests")).json()["requests"]
        return [entry for entry in log if entry["path"] == path]

    async def clear_requests(self) -> None:
        await self.http.delete("/_sandbox/requests")


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    clock = Clock()
    db_url = f"sqlite:///{tmp_path_factory.mktemp('booking') / 'sandbox.db'}"
    server = ThreadedServer(create_app(db_url, TOKEN, TZ, now=clock.now)).start()
    server.clock = clock  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
async def sandbox(sandbox_server: ThreadedServer) -> AsyncIterator[Sandbox]:
    clock: Clock = sandbox_server.clock  # type: ignore[attr-defined]
    clock.offset = clock.offset * 0
    async with httpx.AsyncClient(
        base_url=sandbox_server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        reset = await http.post("/_sandbox/reset")
        assert reset.status_code == 200, reset.text
        yield Sandbox(sandbox_server.url, clock, http, reset.json())
        clock.offset = clock.offset * 0
