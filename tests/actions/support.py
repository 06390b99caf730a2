"""Shared test data and tracker helpers for the action tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.support.booking_sandbox import ANA, LUCIA, MARTIN, TZ  # noqa: F401  (names used by the tests)

UNKNOWN = "+5215599990000"


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
