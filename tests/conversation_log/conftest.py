"""A throwaway Postgres database per test (`t_convlog_<random>`), dropped afterwards."""

from __future__ import annotations

from typing import Iterator

import pytest

from rasa_project.devtools.throwaway_db import throwaway_database
from rasa_project.settings import Settings


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("t_convlog") as url:
        yield url


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return Settings(tracker_db_url=pg_url, tracker_window_events=30)
