"""One running assistant for the end-to-end suite: real trained model, Rasa server with our channel,
action server, booking-API and Twilio sandboxes as separate processes on loopback, and a throwaway
Postgres database as the conversation log. Tests enter at the webhook and read what reached the
Twilio sandbox."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack, StackPorts
from rasa_project.devtools.model_cache import ensure_model
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound, wait_for_replies

AUTH_TOKEN = "e2e-twilio-auth-token"
BOOKING_TOKEN = "e2e-booking-token"
ANA = "+5215512345678"


@pytest.fixture(scope="session")
def log_db() -> Iterator[str]:
    with throwaway_database("t_e2e") as url:
        yield url


@pytest.fixture(scope="session")
def stack(log_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("e2e")
    assistant = LocalStack(
        ports=StackPorts.free(),
        model=ensure_model(),
        tracker_db_url=log_db,
        booking_db_url=f"sqlite:///{tmp / 'booking.db'}",
        log_dir=tmp / "logs",
        extra_env={
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "BOOKING_API_TOKEN": BOOKING_TOKEN,
            "INBOX_LEASE_SECONDS": "6",
            "INBOX_POLL_SECONDS": "0.5",
            "OUTBOUND_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOUND_BACKOFF_MAX_SECONDS": "0.2",
        },
    )
    assistant.start(timeout=300)
    yield assistant
    assistant.stop()


class WhatsAppClient:
    """One client's phone: posts signed messages and collects the bot's replies in order."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient, phone: str) -> None:
        self.stack, self.http, self.phone = stack, http, phone
        self.address = f"whatsapp:{phone}"
        self.seen = 0

    async def skip_history(self) -> WhatsAppClient:
        """Ignore replies this number got before (earlier tests wrote as the same client)."""
        response = await self.http.get(f"{self.stack.twilio_url}/_sandbox/messages",
                                       params={"to": self.address, "after": 0, "wait": 0})
        self.seen = response.json()["last_index"]
        return self

    async def send(self, body: Optional[str] = None, *, sid: Optional[str] = None, **form: Any) -> httpx.Response:
        data = build_inbound_form(self.phone, body, message_sid=sid, profile_name="Cliente e2e", **form)
        return await post_inbound(self.stack.webhook_url, data, AUTH_TOKEN, client=self.http)

    async def replies(self, count: int = 1, timeout: float = 45) -> List[Dict[str, Any]]:
        got = await wait_for_replies(self.stack.twilio_url, self.address, self.seen, min_count=count, timeout=timeout)
        self.seen = max(m["index"] for m in got)
        return got

    async def settle(self, quiet: float = 2.0) -> List[Dict[str, Any]]:
        """Whatever else arrives within `quiet` seconds (to prove nothing more was sent)."""
        response = await self.http.get(f"{self.stack.twilio_url}/_sandbox/messages",
                                       params={"to": self.address, "after": self.seen, "wait": quiet})
        return response.json()["messages"]

    async def say(self, body: str, count: int = 1) -> List[str]:
        response = await self.send(body)
        assert response.status_code == 200, response.text
        return [m["body"] for m in await self.replies(count)]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield client


@pytest.fixture
def new_phone() -> str:
    """A number the booking API does not know, unique per test."""
    return "+52155" + str(uuid.uuid4().int)[:8]


@pytest.fixture
def client(stack: LocalStack, http: httpx.AsyncClient, new_phone: str) -> WhatsAppClient:
    return WhatsAppClient(stack, http, new_phone)


@pytest.fixture
async def ana(stack: LocalStack, http: httpx.AsyncClient) -> WhatsAppClient:
    return await WhatsAppClient(stack, http, ANA).skip_history()


@pytest.fixture(scope="session")
def log_engine(log_db: str) -> Iterator[sa.engine.Engine]:
    engine = sa.create_engine(log_db)
    yield engine
    engine.dispose()


async def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.3) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
