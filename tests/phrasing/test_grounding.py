"""The grounding check alone: rewordings that keep the facts pass, inventions of any kind fail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rasa_project.phrasing.grounding import check_reply, clean_markdown, find_ungrounded
from rasa_project.phrasing.vocabulary import number_candidates
from tests.phrasing.support import BOOKING_FACTS, BOOKING_TEMPLATE

ACCEPTED = [
    "¡Hola, Ana! 😊 Tu clase de Yoga restaurativo quedó para el jueves 27 de noviembre a las 18:00. "
    "Tu folio es RSV-1001. Son $800.00 MXN y puedes pagar en https://pagos.estudio-equilibrio.mx/p/PAY-2001",
    "Ana, te espero el jueves 27 de noviembre a las 6 de la tarde (folio RSV-1001).",
    "Tu clase es el 27/11 a las 6 pm. Total: $800 MXN.",
    "El jueves 27 de nov. a las 18:00 te esperamos.",
    "Reservado: 27 de noviembre, 18 h. Son 800 pesos.",
    "Quedó el jueves 27 a las 18:00 hrs, folio rsv-1001.",
    "El jueves 27 de noviembre de 2025 a las 6:00 p.m. te esperamos.",
    "El pago es de 800 MXN: pagos.estudio-equilibrio.mx/p/PAY-2001/ 🙌",
    "Tu clase es el 2025-11-27 a las 18:00, referencia de pago PAY-2001.",
    "¡Listo! Nos vemos el jueves por la tarde.",
    "¡Hola! Aquí tienes los datos de tu clase. ¿Te ayudo con algo más?",
    "Tu clase (noviembre 27, a las seis de la tarde) ya está reservada.",
    "Paga con el [enlace de pago](https://pagos.estudio-equilibrio.mx/p/PAY-2001).",
]

REJECTED = [
    ("Tu clase es el viernes 27 de noviembre a las 18:00.", "viernes 27 de noviembre"),
    ("Tu clase es el 28 de noviembre a las 18:00.", "28 de noviembre"),
    ("Tu clase es el 27 de diciembre.", "27 de diciembre"),
    ("Tu clase es el jueves 27 de dic. a las 18:00.", "27 de dic"),
    ("Tu clase es el 27 de noviembre de 2026.", "27 de noviembre de 2026"),
    ("Te espero el 28/11.", "28/11"),
    ("Tu clase es el jueves 28.", "jueves 28"),
    ("Tu clase es a las 19:00.", "19:00"),
    ("Tu clase es a las 7 pm.", "7 pm"),
    ("Tu clase es a las 6 de la mañana.", "a las 6 de la mañana"),
    ("Tu clase es a las 18:30.", "18:30"),
    ("Son $900.00 MXN.", "$900.00"),
    ("Son $0.", "$0"),
    ("El total es de 80 pesos.", "80 pesos"),
    ("Son 800 USD.", "800 USD"),
    ("Tienes 10% de descuento.", "10%"),
    ("Te quedan 5 clases.", "5"),
    ("Tu folio es RSV-1002.", "RSV-1002"),
    ("Paga en https://evil.example.com/p/PAY-2001", "https://evil.example.com/p/PAY-2001"),
    (
        "Paga en https://pagos.estudio-equilibrio.mx/p/PAY-2002",
        "https://pagos.estudio-equilibrio.mx/p/PAY-2002",
    ),
    ("Paga en bit.ly/pago-facil", "bit.ly/pago-facil"),
    ("Escríbenos a pagos@evil.com", "pagos@evil.com"),
    ("Llámanos al +52 55 1234 5678.", "+52 55 1234 5678"),
    ("Tu clase es gratis 🎁", "gratis"),
    ("Tu clase no tiene costo: es sin costo.", "sin costo"),
    ("Tu reserva quedó cancelada.", "cancelada"),
    ("Te hacemos un reembolso.", "reembolso"),
    ("Nos vemos mañana a las 18:00.", "mañana"),
    ("Tu clase es hoy.", "hoy"),
    ("Te quedan dos clases.", "dos"),
    ("Tienes una promoción 2x1.", "2x1"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_rewording_that_keeps_the_facts_is_accepted(text: str) -> None:
    result = check_reply(text, BOOKING_FACTS, BOOKING_TEMPLATE)
    assert result.ok, result.ungrounded
    assert result.reason is None


@pytest.mark.parametrize(("text", "invented"), REJECTED)
def test_invented_fact_is_rejected_and_named(text: str, invented: str) -> None:
    result = check_reply(text, BOOKING_FACTS, BOOKING_TEMPLATE)
    assert not result.ok
    assert result.reason == "grounding_failed"
    assert any(invented in snippet for snippet in result.ungrounded), result.ungrounded


def test_the_template_itself_is_grounded() -> None:
    assert find_ungrounded(BOOKING_TEMPLATE, BOOKING_FACTS, BOOKING_TEMPLATE) == []


def test_facts_alone_ground_a_reply_even_if_the_template_is_terse() -> None:
    facts = {
        "remaining_sessions": 3,
        "package_name": "Bono 10 clases",
        "valid_until": "2026-02-27",
        "balance_due": 450,
    }
    template = "Aquí está el estado de tu bono."
    assert (
        find_ungrounded("Te quedan 3 de tus 10 clases; vence el 27 de febrero de 2026. Debes $450.", facts, template)
        == []
    )
    assert find_ungrounded("Te quedan 3 clases y no debes nada: $3.", facts, template) == ["$3"]


def test_weekday_must_match_the_date_it_is_attached_to() -> None:
    facts = {"options": ["jueves 27 de noviembre, 18:00", "viernes 28 de noviembre, 9:00"]}
    template = "Opciones:\n1. jueves 27 de noviembre, 18:00\n2. viernes 28 de noviembre, 9:00"
    assert find_ungrounded("1. el jueves 27 a las 18:00\n2. el viernes 28 a las 9:00", facts, template) == []
    assert find_ungrounded("1. viernes 27 de noviembre", facts, template) == ["viernes 27 de noviembre"]
    assert set(find_ungrounded("3. sábado 29", facts, template)) == {"3", "sábado 29"}


def test_empty_and_too_long_outputs() -> None:
    assert check_reply("", BOOKING_FACTS, BOOKING_TEMPLATE).reason == "empty_output"
    assert check_reply("  \n ", BOOKING_FACTS, BOOKING_TEMPLATE).reason == "empty_output"
    assert check_reply("Hola " * 400, BOOKING_FACTS, BOOKING_TEMPLATE).reason == "too_long"


def test_markdown_headers_and_tables_are_stripped() -> None:
    text = "## Tu reserva\n\n| Clase | Hora |\n|---|---|\n| Yoga restaurativo | 18:00 |\n\n**Folio:** RSV-1001"
    assert clean_markdown(text) == "Tu reserva\n\nClase · Hora\nYoga restaurativo · 18:00\n\n*Folio:* RSV-1001"
    result = check_reply(text, BOOKING_FACTS, BOOKING_TEMPLATE)
    assert result.ok and "|" not in result.text and "#" not in result.text


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        ("800", {Decimal(800)}),
        ("800.00", {Decimal(800)}),
        ("1,500.00", {Decimal(1500)}),
        ("1.500,50", {Decimal("1500.50")}),
        ("1.200", {Decimal(1200), Decimal("1.2")}),
        ("2,5", {Decimal("2.5")}),
    ],
)
def test_number_readings(raw: str, values: set) -> None:
    assert number_candidates(raw) == values
