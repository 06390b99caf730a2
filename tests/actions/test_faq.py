"""faq: the ResponseSelector's topic answered with the business's own text, grounded like every reply."""

from __future__ import annotations

from typing import Any, Dict

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionResponderFaq
from actions.services import Services
from rasa_project.settings import PROJECT_ROOT
from tests.actions.support import ANA, make_tracker

ANSWERS = yaml.safe_load((PROJECT_ROOT / "data" / "responses" / "faq.yml").read_text(encoding="utf-8"))["responses"]
TOPICS = ["ubicacion", "estacionamiento", "que_llevar", "primera_clase", "politica_cancelacion", "vigencia_paquetes"]


@pytest.fixture
def trained_domain(domain: Dict[str, Any]) -> Dict[str, Any]:
    """The domain as the action server receives it from a trained model: with data/responses merged in."""
    return {**domain, "responses": {**domain["responses"], **ANSWERS}}


def asked(topic: str, confidence: float = 0.93) -> Any:
    tracker = make_tracker(ANA, text="una pregunta", intent="faq")
    tracker.latest_message["response_selector"] = {
        "all_retrieval_intents": ["faq"],
        "faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": confidence,
                             "utter_action": f"utter_faq/{topic}"}, "ranking": []},
    }
    return tracker


def test_every_topic_has_an_answer_in_the_business_file() -> None:
    assert sorted(name.removeprefix("utter_faq/") for name in ANSWERS) == sorted(TOPICS)
    assert all(variations[0]["text"].strip() for variations in ANSWERS.values())


@pytest.mark.parametrize("topic", TOPICS)
async def test_the_topic_is_answered_with_its_text(services: Services, trained_domain: dict, topic: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionResponderFaq(services).run(dispatcher, asked(topic), trained_domain)
    [message] = dispatcher.messages
    assert message["template_name"] == f"utter_faq/{topic}" and message["event"] == "faq_answered"
    assert message["text"] == ANSWERS[f"utter_faq/{topic}"][0]["text"]  # template phrasing: the file's own words


async def test_an_unsure_topic_gets_the_polite_menu(services: Services, trained_domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    await ActionResponderFaq(services).run(dispatcher, asked("ubicacion", confidence=0.2), trained_domain)
    [message] = dispatcher.messages
    assert message["template_name"] == "utter_default" and message["buttons"]
