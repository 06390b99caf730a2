"""Fixtures: a migrated throwaway Postgres database per test, settings pointed at it, a planner."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa

from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.settings import Settings


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("t_reminders") as url:
        yield url


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return Settings(tracker_db_url=pg_url)


@pytest.fixture
def engine(pg_url: str, settings: Settings) -> Iterator[sa.engine.Engine]:
    engine = create_log_engine(pg_url, settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def planner(settings: Settings, engine: sa.engine.Engine) -> ReminderPlanner:
    return ReminderPlanner(settings, engine)
