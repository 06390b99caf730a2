"""Fixtures for action tests: the real booking sandbox over HTTP, template phrasing (no LLM key)
and the real domain. Trackers built inline the way rasa-sdk receives them are in support.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Dict

import pytest
import yaml

from actions.services import Services
from rasa_project.booking_api import BookingApiClient
from rasa_project.phrasing import Phraser
from rasa_project.settings import PROJECT_ROOT, Settings
from tests.support.booking_sandbox import (  # noqa: F401  (fixtures used by the tests)
    TOKEN,
    TZ,
    Sandbox,
    sandbox,
    sandbox_server,
)


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load(Path(PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
async def services(sandbox: Sandbox) -> AsyncIterator[Services]:
    settings = Settings(booking_api_url=sandbox.url, booking_api_token=TOKEN, business_timezone=TZ,
                        booking_api_timeout_seconds=1.0)
    api = BookingApiClient(sandbox.url, TOKEN, timeout=1.0, max_retries=1, backoff_base=0.01)
    services = Services(settings, api, Phraser.from_settings(settings))
    yield services
    await services.aclose()


@pytest.fixture
def api(services: Services) -> BookingApiClient:
    """The same client the actions use, to check what they did."""
    return services.booking_api
