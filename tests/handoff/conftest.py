"""A throwaway Postgres database per test (`t_handoff_<random>`), dropped afterwards."""

from __future__ import annotations

from typing import Iterator

import pytest

from rasa_project.devtools.throwaway_db import throwaway_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("t_handoff") as url:
        yield url
