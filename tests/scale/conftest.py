"""One assistant at scale for the suite: two Rasa instances behind one public URL, sharing the Postgres
conversation log and inbox and a Redis lock store, plus the action server, the booking, Twilio and LLM
stand-ins, all as real processes on loopback (`rasa_project.devtools.local_stack.LocalStack`).

The stack is session-scoped (starting two Rasa servers costs about a minute on two cores) and the model
comes from `ensure_model()` once. Tests use fresh phone numbers, so they never see each other's turns,
and undo the faults they inject. Requests are signed for the PUBLIC url (the first instance), as Twilio
signs them behind a load balancer, whichever instance they reach.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from rasa_project.devtools.local_stack import LocalStack, StackPorts
from rasa_project.devtools.model_cache import ensure_model
from rasa_project.devtools.throwaway_db import throwaway_database
from tests.scale.support import AUTH_TOKEN, BOOKING_TOKEN, REDIS_URL


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The trained model for the current data; trains (minutes) only when none matches."""
    return ensure_model()


@pytest.fixture(scope="session")
def scale_db() -> Iterator[str]:
    with throwaway_database("t_scale") as url:
        yield url


@pytest.fixture(scope="session")
def stack(model_path: Path, scale_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("scale")
    assistant = LocalStack(
        ports=StackPorts.free(),
        model=model_path,
        tracker_db_url=scale_db,
        booking_db_url=f"sqlite:///{tmp / 'booking.db'}",
        log_dir=tmp / "logs",
        with_llm=True,
        rasa_instances=2,
        extra_env={
            "REDIS_URL": REDIS_URL,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "BOOKING_API_TOKEN": BOOKING_TOKEN,
            "INBOX_LEASE_SECONDS": "6",
            "INBOX_POLL_SECONDS": "0.5",
            "INBOX_RETRY_BASE_SECONDS": "0.3",
            "OUTBOUND_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOUND_BACKOFF_MAX_SECONDS": "0.2",
            # A burst of Twilio errors is outlasted, not lost: more attempts than the test's burst has faults.
            "OUTBOUND_MAX_ATTEMPTS": "12",
            # both instances run the reminder scheduler: two schedulers on one database
            # (tests/scale/test_reminders_at_scale.py)
            "REMINDERS_IN_PROCESS": "true",
            "REMINDERS_POLL_SECONDS": "0.5",
            "REMINDERS_SYNC_SECONDS": "2",
        },
    )
    # The stack's processes run in sessions of their own: a SIGTERM to pytest (a CI timeout) must unwind
    # through this fixture's teardown, or they outlive the run.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        assistant.start(timeout=400)
        yield assistant
    finally:
        assistant.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
async def http() -> Iterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
