"""`rasa_project.action_response_check` accepts and rejects exactly what Rasa's own check does (the same
`ValidationError`, message included), on valid responses of every event type our actions send and on
broken ones; and `apply()` installs it on `RemoteAction`."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_project import action_response_check

ORIGINAL = RemoteAction._validate_action_result

VALID: List[Dict[str, Any]] = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "fecha", "value": "2026-12-04"}], "responses": [{"text": "Listo"}]},
    {"events": [{"event": "slot", "name": "clase", "value": None, "timestamp": None}]},
    {"events": [{"event": "active_loop", "name": "reserva_form"}, {"event": "active_loop", "name": None}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "reset_slots"}]},
    {"events": [{"event": "bot", "text": "hola", "data": {"buttons": [{"title": "Sí", "payload": "/afirmar"}]}}]},
    {"events": [{"event": "user", "text": "hola", "parse_data": {"intent": {"name": "saludar"}}}]},
    {"events": [{"event": "reminder", "intent": "recordatorio", "trigger_date_time": "2026-12-04T10:00:00"}]},
    {"events": [{"event": "action", "name": "action_listen"}, {"event": "restart"}, {"event": "pause"}]},
    {"responses": [{"response": "utter_saludo"}, {"text": "x", "buttons": [], "custom": {"a": 1}}]},
]
INVALID: List[Dict[str, Any]] = [
    {"events": {"event": "slot"}},                   # events not a list
    {"events": [{"event": "slot", "value": 1}]},     # slot without a name
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "x"}]},                     # no event type
    {"events": ["slot"]},
    {"responses": {"text": "x"}},                    # responses not a list
    {"responses": ["x"]},
    {"events": [{"event": "slot", "name": 3, "value": 1}]},
    {"events": [{"event": "user", "text": 5}]},
]


def outcome(check: Any, response: Dict[str, Any]) -> Optional[str]:
    try:
        assert check(RemoteAction("action_x", None), copy.deepcopy(response)) is True
        return None
    except jsonschema.ValidationError as exc:
        return exc.message


@pytest.mark.parametrize("response", VALID + INVALID)
def test_same_verdict_and_message_as_rasa(response: Dict[str, Any]) -> None:
    assert outcome(action_response_check.validate_action_result, response) == outcome(ORIGINAL, response)


@pytest.mark.parametrize("response", INVALID)
def test_broken_responses_are_still_rejected(response: Dict[str, Any]) -> None:
    assert outcome(action_response_check.validate_action_result, response) is not None


def test_apply_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_response_check, "_applied", False)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", ORIGINAL)
    action_response_check.apply()
    assert RemoteAction._validate_action_result is action_response_check.validate_action_result
