"""A throwaway Postgres database per test (`t_convlog_<random>`), dropped afterwards."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from rasa_project.settings import Settings

ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _admin() -> sa.engine.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"t_convlog_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return Settings(tracker_db_url=pg_url, tracker_window_events=30)
