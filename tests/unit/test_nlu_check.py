"""The held-out figures score what the assistant would do: the fallback kept, "no entendí" right only out of scope."""

from __future__ import annotations

from rasa_project.devtools.nlu_check import Figures, Verdict, predicted_label


def v(label: str, predicted: str) -> Verdict:
    return Verdict("texto", label, predicted, 0.9)


def test_no_entendi_is_right_out_of_scope_and_wrong_in_scope() -> None:
    figures = Figures([v("fuera_de_alcance", "nlu_fallback"), v("agendar_cita", "nlu_fallback"),
                       v("fuera_de_alcance", "consultar_horarios"), v("agendar_cita", "agendar_cita")])
    assert figures.accuracy == 0.5
    assert figures.out_of_scope == (1, 2)
    assert figures.in_scope_fallbacks == 1


def test_a_faq_message_is_right_by_intent_and_its_topic_is_scored_apart() -> None:
    figures = Figures([v("faq/ubicacion", "faq/ubicacion"), v("faq/ubicacion", "faq/estacionamiento"),
                       v("faq/ubicacion", "enviar_ubicacion")])
    assert figures.accuracy == 2 / 3
    assert figures.topics == (1, 2)
    f1, support = figures.f1_by_intent()["faq"]
    assert support == 3 and round(f1, 3) == round(2 * 2 / (2 * 2 + 0 + 1), 3)


def test_the_prediction_is_what_the_assistant_acts_on() -> None:
    assert predicted_label({"intent": {"name": "nlu_fallback", "confidence": 0.4}}) == ("nlu_fallback", 0.4)
    faq = {"intent": {"name": "faq", "confidence": 0.97},
           "response_selector": {"faq": {"response": {"intent_response_key": "faq/ubicacion"}}}}
    assert predicted_label(faq) == ("faq/ubicacion", 0.97)
    assert predicted_label({}) == ("nlu_fallback", 0.0)
