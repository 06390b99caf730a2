"""Fixtures for action tests: the real booking sandbox over HTTP, template phrasing (no LLM key),
the real domain, and trackers built inline the way rasa-sdk receives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.services import Services
from rasa_project.booking_api import BookingApiClient
from rasa_project.phrasing import Phraser
from rasa_project.settings import PROJECT_ROOT, Settings
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

UNKNOWN = "+5215599990000"


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


def make_tracker(
    sender: str = ANA,
    *,
    slots: Optional[Dict[str, Any]] = None,
    text: str = "",
    intent: str = "",
    entities: Optional[List[Dict[str, Any]]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
    requested_slot: Optional[str] = None,
) -> Tracker:
    """A tracker as the action server receives it; slots set in this turn count as 'to validate'."""
    slots = dict(slots or {})
    if requested_slot:
        slots["requested_slot"] = requested_slot
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    history = list(events or []) + [{"event": "user", "text": text, "parse_data": latest}]
    history += [{"event": "slot", "name": k, "value": v} for k, v in (slots or {}).items() if k != "requested_slot"]
    return Tracker(
        sender, slots, latest, history, False, None,
        {"name": active_loop} if active_loop else {}, "action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or "" for m in dispatcher.messages]


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def api(services: Services) -> BookingApiClient:
    """The same client the actions use, to check what they did."""
    return services.booking_api
