"""Fixtures: the shared booking sandbox (tests/support/booking_sandbox.py) and a `BookingApiClient`
pointed at it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from rasa_project.booking_api import BookingApiClient
from tests.support.booking_sandbox import (  # noqa: F401  (fixtures and names used by the tests)
    ANA,
    LUCIA,
    MARTIN,
    TOKEN,
    TZ,
    Sandbox,
    sandbox,
    sandbox_server,
)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[BookingApiClient]:
    async with BookingApiClient(sandbox.url, TOKEN, timeout=3.0, max_retries=2, backoff_base=0.01) as client:
        yield client
