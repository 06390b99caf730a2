"""The delivery rules' pure parts: the window decision, which form a template-capable message takes, the
WHATSAPP_TEMPLATES format, SMS segments and splitting, and the repo's templates against Meta's rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from connectors.whatsapp.delivery_rules import (
    InvalidTemplateSpec,
    TemplateRef,
    TemplateSpec,
    choose_template_form,
    follow_up,
    window_open,
)
from connectors.whatsapp.gate import option_for_reply
from connectors.whatsapp.options import Option
from connectors.whatsapp.sms import segments, split_sms
from rasa_project.devtools.sandbox_templates import load_templates, templates_setting
from rasa_project.phones import SMS, WHATSAPP
from rasa_project.settings import Settings, parse_templates

NOW = datetime(2026, 12, 2, 12, 0)
SID = "HX" + "a" * 32


@pytest.mark.parametrize("last, medium, expected", [
    (None, WHATSAPP, False),  # never wrote
    (NOW - timedelta(hours=23, minutes=59), WHATSAPP, True),
    (NOW - timedelta(hours=24), WHATSAPP, False),  # exactly 24 h: closed, as Twilio counts
    (NOW - timedelta(days=3), WHATSAPP, False),
    (None, SMS, True),  # SMS has no window
    (NOW - timedelta(days=30), SMS, True),
])
def test_the_window(last, medium, expected) -> None:
    assert window_open(last, NOW, 24, medium) is expected


def test_the_window_follows_the_setting() -> None:
    assert window_open(NOW - timedelta(hours=2), NOW, 1, WHATSAPP) is False
    assert window_open(NOW - timedelta(hours=2), NOW, 3, WHATSAPP) is True


def test_template_selection() -> None:
    sids = {"recordatorio_cita": SID}
    assert choose_template_form("recordatorio_cita", True, sids).form == "session"
    assert choose_template_form("recordatorio_cita", False, sids).content_sid == SID
    skipped = choose_template_form("oferta_lugar", False, sids)
    assert (skipped.form, skipped.reason) == ("skip", "outside_window_no_template:oferta_lugar")


def test_the_template_spec_contract() -> None:
    spec = TemplateSpec.parse({"name": "recordatorio_cita", "variables": {"1": "Ana", "2": 3}, "text": "Hola Ana",
                               "buttons": [{"title": "Confirmo", "payload": "/confirmar_asistencia"}]})
    assert spec.ref == TemplateRef("recordatorio_cita", {"1": "Ana", "2": "3"})
    assert spec.ref.content_variables == '{"1": "Ana", "2": "3"}'
    assert TemplateRef.stored(spec.name, spec.ref.content_variables) == spec.ref
    assert TemplateRef.stored(None, None) is None
    for bad in ({"name": "x"}, {"text": "hola"}, "recordatorio_cita", {"name": "x", "text": "y", "buttons": {}}):
        with pytest.raises(InvalidTemplateSpec):
            TemplateSpec.parse(bad)


def test_the_follow_up_names_the_client_or_reads_well_without() -> None:
    assert follow_up("Ana López").variables == {"1": "Ana"}
    assert follow_up(None).variables == {"1": "de nuevo"} and follow_up("  ").variables == {"1": "de nuevo"}


def test_the_templates_setting() -> None:
    assert parse_templates("") == {} and Settings().template_sids == {}
    raw = f" recordatorio_cita = {SID} , oferta_lugar={SID[:-1]}b ,"
    assert parse_templates(raw) == {"recordatorio_cita": SID, "oferta_lugar": SID[:-1] + "b"}
    assert parse_templates(templates_setting(parse_templates(raw))) == parse_templates(raw)
    assert Settings.from_env({"WHATSAPP_TEMPLATES": f"seguimiento={SID}"}).template_sids == {"seguimiento": SID}
    for bad in ("recordatorio_cita", "recordatorio_cita=SM123", f"={SID}"):
        with pytest.raises(ValueError, match="WHATSAPP_TEMPLATES"):
            parse_templates(bad)


def test_a_template_tap_maps_back_through_the_stored_numbering() -> None:
    options = [Option("Confirmo", "/confirmar"), Option("Cancelar", "/cancelar"), Option("Otro horario", "/cambiar")]
    assert option_for_reply("Cambiar horario", {"payload": "3", "text": "Cambiar horario"}, options) == "/cambiar"
    assert option_for_reply("Confirmo", {"payload": "/confirmar", "text": "Confirmo"}, options) == "/confirmar"
    assert option_for_reply("1", None, options) == "/confirmar"
    assert option_for_reply("x", {"payload": "7", "text": "x"}, options) == "7"  # not one of the options


@pytest.mark.parametrize("text, expected", [
    ("", 0), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("ñ" * 160, 1),  # ñ is GSM-7
    ("á" * 70, 1), ("á" * 71, 2), ("á" * 134, 2), ("á" * 135, 3),  # á is not: UCS-2
    ("€" * 80, 1), ("€" * 81, 2),  # extension characters take two septets
    ("👍" * 35, 1), ("👍" * 36, 2),  # outside the BMP: two UCS-2 units
])
def test_sms_segments(text, expected) -> None:
    assert segments(text) == expected


def test_a_long_sms_is_split_on_natural_boundaries_within_the_limit() -> None:
    sentence = "Tu clase de yoga está confirmada para el jueves a las 19:00."
    text = " ".join([sentence] * 30)
    parts = split_sms(text, 3)
    assert len(parts) > 1 and all(segments(p) <= 3 for p in parts)
    assert all(p.endswith(".") for p in parts) and " ".join(parts) == text
    assert split_sms("hola", 10) == ["hola"] and split_sms("", 10) == []
    euro = " ".join(["€€€€ precio"] * 60)  # extension characters count double: cut finer
    assert all(segments(p) <= 2 for p in split_sms(euro, 2)) and " ".join(split_sms(euro, 2)) == euro


_PLACEHOLDER = re.compile(r"\{\{\s*\w+\s*\}\}")


def test_the_repo_templates_follow_metas_rules() -> None:
    templates = load_templates()
    assert {"recordatorio_cita", "oferta_lugar", "cita_cancelada", "seguimiento"} <= set(templates)
    for name, definition in templates.items():
        assert definition["friendly_name"] == name and definition["language"] == "es"
        assert "twilio/text" in definition["types"]
        for kind, spec in definition["types"].items():
            body = spec["body"]
            used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body))
            assert used == set(definition["variables"]), (name, kind)  # a sample value for each variable
            assert not _PLACEHOLDER.match(body) and not re.search(r"\{\{\s*\w+\s*\}\}\W*$", body), (name, kind)
            assert not re.search(r"\}\}\s*\{\{", body), (name, kind)  # no two variables side by side
            for n, action in enumerate(spec.get("actions", []), start=1):
                assert action == {"type": "QUICK_REPLY", "title": action["title"], "id": str(n)}
                assert len(action["title"]) <= 20
    reminder = templates["recordatorio_cita"]["types"]["twilio/quick-reply"]["actions"]
    assert [a["title"] for a in reminder] == ["Confirmo", "Cancelar", "Cambiar horario"]
    offer = templates["oferta_lugar"]["types"]["twilio/quick-reply"]["actions"]
    assert [a["title"] for a in offer] == ["Sí, lo quiero", "No, gracias"]
