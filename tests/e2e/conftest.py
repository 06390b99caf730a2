"""One running assistant for the end-to-end suite: real trained model, Rasa server with our channel,
action server, booking-API and Twilio sandboxes as separate processes on loopback, and a throwaway
Postgres database as the conversation log. Tests enter at the webhook and read what reached the
Twilio sandbox."""

from __future__ import annotations

import uuid
from typing import AsyncIterator, Iterator

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack, StackPorts
from rasa_project.devtools.model_cache import ensure_model
from rasa_project.devtools.throwaway_db import throwaway_database
from tests.broker.support import delete_queue
from tests.e2e.support import ANA, AUTH_TOKEN, BOOKING_TOKEN, OPERATOR_TOKEN, WhatsAppClient


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
        with_chatwoot=True,  # the helpdesk mirror and its webhooks (tests/e2e/test_helpdesk.py)
        enforce_window=True,  # WhatsApp's 24-hour rule, as on Twilio: clients report inbound (support.py)
        extra_env={
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "OPERATOR_API_TOKEN": OPERATOR_TOKEN,  # the operator API (tests/e2e/test_handoff.py)
            "BOOKING_API_TOKEN": BOOKING_TOKEN,
            "INBOX_LEASE_SECONDS": "6",
            "INBOX_POLL_SECONDS": "0.5",
            "OUTBOUND_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOUND_BACKOFF_MAX_SECONDS": "0.2",
            # bookings a journey makes are days ahead; 2 h keeps the policy on without depending on the hour
            "CHANGE_NOTICE_HOURS": "2",
            # reminders and the waitlist inside the Rasa process, quick enough for a test to wait on
            # (tests/e2e/test_reminders.py, test_waitlist.py)
            "REMINDERS_IN_PROCESS": "true",
            "REMINDERS_POLL_SECONDS": "0.5",
            "REMINDERS_SYNC_SECONDS": "2",
            "WAITLIST_POLL_SECONDS": "1",
            # the conversation events also stream to the machine's RabbitMQ (tests/e2e/test_event_broker.py)
            "EVENT_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
            "EVENT_BROKER_QUEUE": f"t_e2e_events_{uuid.uuid4().hex[:12]}",
        },
    )
    assistant.start(timeout=300)
    yield assistant
    assistant.stop()
    delete_queue(assistant.env["EVENT_BROKER_QUEUE"])  # and its exchange: nothing left on the shared RabbitMQ


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
