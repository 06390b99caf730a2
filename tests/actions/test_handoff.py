"""Handing off: the reply in and out of hours with its facts, the events that pause the bot, the second
fallback in a row, and the payment link that fails twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionNoEntendi, ActionPasarAHumano, hand_off, when_text
from actions.packages import ActionPagarServicio
from actions.replies import Replier
from actions.satisfaction import ActionPreguntarValoracion
from actions.services import Services
from actions.session import ActionSessionStart
from tests.actions.support import ANA, LUCIA, TZ, make_tracker, slot_events

ZONE = ZoneInfo(TZ)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc, arg-type]


def kinds(events: List[Dict[str, Any]]) -> List[str]:
    return [e["event"] for e in events]


async def run_hand_off(services: Services, domain: dict, tracker: Any, now: datetime) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await hand_off(Replier(services, dispatcher, tracker, domain), tracker, "pedido_del_cliente", now)
    return dispatcher, events


async def test_inside_business_hours_the_team_writes_soon(services: Services, domain: dict) -> None:
    dispatcher, events = await run_hand_off(services, domain, make_tracker(ANA), local(2024, 12, 2, 11, 0))
    [message] = dispatcher.messages
    assert message["template_name"] == "utter_traspaso_humano" and message["event"] == "handoff_started"
    assert message["facts"]["reason"] == "pedido_del_cliente" and message["facts"]["in_hours"] is True
    assert kinds(events) == ["slot", "pause"] and slot_events(events) == {"motivo_traspaso": None}


@pytest.mark.parametrize("now, cuando", [
    (local(2024, 12, 2, 7, 30), "hoy a las 09:00"),
    (local(2024, 12, 2, 20, 0), "mañana a las 09:00"),
    (local(2024, 12, 7, 15, 0), "el lunes 9 de diciembre a las 09:00"),  # Saturday afternoon
])
async def test_outside_business_hours_the_client_is_told_when(services: Services, domain: dict, now: datetime,
                                                              cuando: str) -> None:
    dispatcher, _ = await run_hand_off(services, domain, make_tracker(ANA), now)
    [message] = dispatcher.messages
    assert message["template_name"] == "utter_traspaso_fuera_de_horario" and cuando in message["text"]
    assert message["facts"]["in_hours"] is False
    assert datetime.fromisoformat(message["facts"]["next_open"]).hour == 9


def test_when_text_same_day_afternoon() -> None:
    assert when_text(local(2024, 12, 2, 16, 0), local(2024, 12, 2, 14, 30), ZONE) == "hoy a las 16:00"


async def test_an_active_form_is_left(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, active_loop="pagar_form", requested_slot="paquete")
    _, events = await run_hand_off(services, domain, tracker, local(2024, 12, 2, 11, 0))
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events)["requested_slot"] is None and events[-1]["event"] == "pause"


async def test_the_reason_comes_from_the_slot(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, text="x", intent="hablar_con_humano", slots={"motivo_traspaso": "pago_fallido"})
    events = await ActionPasarAHumano(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["facts"]["reason"] == "pago_fallido" and events[-1]["event"] == "pause"


def fallback(text: str) -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback"}}}


async def test_the_first_fallback_shows_the_menu(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, text="asdf", intent="nlu_fallback",
                           events=[{"event": "user", "text": "hola", "parse_data": {"intent": {"name": "saludo"}}}])
    events = await ActionNoEntendi(services).run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert events == [] and message["template_name"] == "utter_default"
    assert message["buttons"] == domain["responses"]["utter_default"][0]["buttons"]


async def test_two_fallbacks_in_a_row_hand_off(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, text="qwerty", intent="nlu_fallback", events=[fallback("asdf")])
    events = await ActionNoEntendi(services).run(dispatcher, tracker, domain)
    assert [m["template_name"] for m in dispatcher.messages][0] == "utter_traspaso_no_entendi"
    assert dispatcher.messages[-1]["facts"]["reason"] == "dos_fallbacks" and events[-1]["event"] == "pause"


async def test_a_fallback_of_an_earlier_session_does_not_count(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, text="qwerty", intent="nlu_fallback",
                           events=[fallback("asdf"), {"event": "session_started"}])
    assert await ActionNoEntendi(services).run(dispatcher, tracker, domain) == []


def failed_link() -> Dict[str, Any]:
    return {"event": "bot", "text": "Perdona, tuvimos un problema",
            "metadata": {"template_name": "utter_error_api",
                         "error": {"type": "booking_api.server", "during": "purchase_package"}}}


async def pay(services: Services, domain: dict, sandbox: Any, earlier: List[Dict[str, Any]]) -> tuple:
    await sandbox.fault(status=500, count=10, path_prefix="/client/purchase")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(LUCIA, text="sí", intent="afirmar", events=earlier,
                           slots={"paquete": "bono10", "confirmar_pago": True})
    return dispatcher, await ActionPagarServicio(services).run(dispatcher, tracker, domain)


async def test_the_second_failed_payment_link_of_a_session_hands_off(services: Services, domain: dict,
                                                                     sandbox: Any) -> None:
    dispatcher, events = await pay(services, domain, sandbox, [])
    assert dispatcher.messages[-1]["template_name"] == "utter_error_api"
    assert not any(e["event"] == "followup" for e in events)
    dispatcher, events = await pay(services, domain, sandbox, [failed_link()])
    assert {"event": "followup", "name": "action_pasar_a_humano"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events)["motivo_traspaso"] == "pago_fallido"
    _, events = await pay(services, domain, sandbox, [failed_link(), {"event": "session_started"}])
    assert not any(e["event"] == "followup" for e in events)


async def test_no_satisfaction_question_while_handed_off(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, text="sí", intent="afirmar")
    tracker.events.append({"event": "bot", "text": "Listo", "metadata": {"event": "booking_created"}})
    asked = await ActionPreguntarValoracion(services).run(CollectingDispatcher(), tracker, domain)
    assert asked
    tracker._paused = True
    dispatcher = CollectingDispatcher()
    assert await ActionPreguntarValoracion(services).run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_a_new_session_of_a_handed_off_conversation_starts_paused(services: Services, domain: dict) -> None:
    tracker = make_tracker("whatsapp-test-no-phone")
    assert [e["event"] for e in await ActionSessionStart(services).run(CollectingDispatcher(), tracker, domain)] == [
        "session_started", "action"]
    tracker._paused = True
    events = await ActionSessionStart(services).run(CollectingDispatcher(), tracker, domain)
    assert [e["event"] for e in events] == ["session_started", "pause", "action"]
    assert events[1]["metadata"] == {"continued": "session_start"}
