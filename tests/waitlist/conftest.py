"""A throwaway, migrated Postgres database per test (`t_waitlist_<random>`), its engine and a store on it;
the booking sandbox fixtures for the schedule sync."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import Settings
from rasa_project.waitlist import WaitlistStore
from tests.support.booking_sandbox import sandbox, sandbox_server  # noqa: F401  (fixtures)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("t_waitlist") as url:
        engine = create_log_engine(url, Settings())
        migrate(engine)
        engine.dispose()
        yield url


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.engine.Engine]:
    engine = create_log_engine(pg_url, Settings())
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: sa.engine.Engine) -> WaitlistStore:
    return WaitlistStore(engine, offer_minutes=30, min_lead_minutes=30)
