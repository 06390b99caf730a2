"""The satisfaction question: asked once after a finished task, within its limits; the answer recorded."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.satisfaction import ActionPreguntarValoracion, ActionRegistrarValoracion, rating_in
from actions.services import Services
from actions.session import ActionSessionStart
from rasa_project.metrics import SATISFACTION_RATINGS
from tests.actions.support import ANA, make_tracker, slot_events


def finished(event: str = "booking_created") -> List[Dict[str, Any]]:
    """What the tracker holds after an action finished a task this turn."""
    return [{"event": "bot", "text": "Listo", "metadata": {"template_name": "utter_x", "event": event}}]


def after_task(event: str = "booking_created", **slots: Any) -> Any:
    tracker = make_tracker(ANA, text="sí", intent="afirmar", slots=slots)
    tracker.events.extend(finished(event))
    return tracker


async def ask(services: Services, domain: dict, tracker: Any) -> tuple[CollectingDispatcher, List[Dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionPreguntarValoracion(services).run(dispatcher, tracker, domain)
    return dispatcher, events


@pytest.mark.parametrize(
    "event, task",
    [("booking_created", "agendar_cita"), ("booking_rescheduled", "reprogramar_cita"),
     ("booking_cancelled", "cancelar_cita"), ("purchase_created", "pagar_servicio")],
)
async def test_asked_after_each_finished_task(services: Services, domain: dict, event: str, task: str) -> None:
    dispatcher, events = await ask(services, domain, after_task(event))
    [message] = dispatcher.messages
    assert message["event"] == "satisfaction_asked" and message["facts"] == {"sobre": task}
    assert [b["payload"] for b in message["buttons"]][0] == '/calificar_atencion{"valoracion": "1"}'
    assert len(message["buttons"]) == 5
    slots = slot_events(events)
    assert slots["encuesta_pendiente"] == task and abs(slots["encuesta_pedida_en"] - time.time()) < 60


@pytest.mark.parametrize("event", ["booking_already_held", "faq_answered", "profile_updated", None])
async def test_not_asked_without_a_finished_task(services: Services, domain: dict, event: Any) -> None:
    tracker = make_tracker(ANA, text="sí", intent="afirmar")
    if event:
        tracker.events.extend(finished(event))
    dispatcher, events = await ask(services, domain, tracker)
    assert dispatcher.messages == [] and events == []


async def test_a_task_of_an_earlier_turn_does_not_count(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, text="gracias", intent="despedida", events=finished())
    dispatcher, _ = await ask(services, domain, tracker)
    assert dispatcher.messages == []


async def test_at_most_once_in_the_configured_days(services: Services, domain: dict) -> None:
    days = services.settings.satisfaction_survey_days
    recent = time.time() - (days * 86400 - 3600)
    dispatcher, events = await ask(services, domain, after_task(encuesta_pedida_en=recent))
    assert dispatcher.messages == [] and events == []
    old = time.time() - (days * 86400 + 3600)
    dispatcher, _ = await ask(services, domain, after_task(encuesta_pedida_en=old))
    assert len(dispatcher.messages) == 1


async def test_an_ignored_question_is_not_asked_again_next_time(services: Services, domain: dict) -> None:
    old = time.time() - 400 * 86400
    tracker = after_task(encuesta_pedida_en=old, encuesta_pendiente="agendar_cita")
    dispatcher, events = await ask(services, domain, tracker)
    assert dispatcher.messages == []
    assert slot_events(events) == {"encuesta_pendiente": None}  # skipped once: the time after, it may ask


async def test_off_when_the_setting_is_zero(services: Services, domain: dict) -> None:
    services.settings = dataclasses.replace(services.settings, satisfaction_survey_days=0)
    dispatcher, events = await ask(services, domain, after_task())
    assert dispatcher.messages == [] and events == []


@pytest.mark.parametrize(
    "text, entities, expected",
    [("", [{"entity": "valoracion", "value": "4"}], 4), ("le doy un 5", [], 5), ("un cuatro", [], 4),
     ("cinco estrellas", [], 5), ("uno", [], 1), ("3/5", [], 3), ("10 de 10", [], None), ("excelente", [], None),
     ("te pongo un 0", [], None), ("", [{"entity": "valoracion", "value": "7"}], None)],
)
def test_the_rating_in_a_message(text: str, entities: list, expected: Any) -> None:
    assert rating_in(make_tracker(ANA, text=text, intent="calificar_atencion", entities=entities)) == expected


async def test_the_answer_is_recorded_thanked_and_counted(services: Services, domain: dict) -> None:
    before = SATISFACTION_RATINGS.labels("agendar_cita", "5")._value.get()
    tracker = make_tracker(ANA, text='/calificar_atencion{"valoracion": "5"}', intent="calificar_atencion",
                           entities=[{"entity": "valoracion", "value": "5"}],
                           slots={"encuesta_pendiente": "agendar_cita"})
    dispatcher = CollectingDispatcher()
    events = await ActionRegistrarValoracion(services).run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["event"] == "satisfaction_rated"
    assert message["facts"] == {"valoracion": 5, "sobre": "agendar_cita"}
    assert message["template_name"] == "utter_gracias_valoracion"
    assert slot_events(events) == {"valoracion": 5.0, "encuesta_pendiente": None}
    assert SATISFACTION_RATINGS.labels("agendar_cita", "5")._value.get() == before + 1


async def test_a_low_rating_gets_its_own_thanks(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, text="un 1, mala atención", intent="calificar_atencion",
                           slots={"encuesta_pendiente": "cancelar_cita"})
    dispatcher = CollectingDispatcher()
    await ActionRegistrarValoracion(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["template_name"] == "utter_gracias_valoracion_baja"


async def test_a_rating_nobody_asked_for_is_not_a_figure(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, text="te doy un 5", intent="calificar_atencion")
    dispatcher = CollectingDispatcher()
    events = await ActionRegistrarValoracion(services).run(dispatcher, tracker, domain)
    assert events == [] and dispatcher.messages[0]["template_name"] == "utter_default"
    assert "event" not in dispatcher.messages[0]


async def test_an_answer_out_of_range_gets_the_question_again(services: Services, domain: dict) -> None:
    tracker = make_tracker(ANA, text="10 de 10", intent="calificar_atencion",
                           slots={"encuesta_pendiente": "agendar_cita"})
    dispatcher = CollectingDispatcher()
    events = await ActionRegistrarValoracion(services).run(dispatcher, tracker, domain)
    assert events == [] and dispatcher.messages[0]["template_name"] == "utter_valoracion_invalida"
    assert len(dispatcher.messages[0]["buttons"]) == 5


async def test_a_new_session_remembers_the_question(services: Services, domain: dict) -> None:
    asked_at = time.time() - 3600
    tracker = make_tracker(ANA, slots={"encuesta_pedida_en": asked_at, "encuesta_pendiente": "agendar_cita",
                                       "servicio": "yoga"})
    events = await ActionSessionStart(services).run(CollectingDispatcher(), tracker, domain)
    slots = slot_events(events)
    assert slots["encuesta_pedida_en"] == asked_at and slots["encuesta_pendiente"] == "agendar_cita"
    assert "servicio" not in slots
