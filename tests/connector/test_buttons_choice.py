"""Which element options become (quick-reply / list picker / numbered text), the Content definition and key,
the split that keeps the buttons on a part ≤ 1,024, and how a tap, a number or a title maps back to the
payload in the gate. Pure functions and SQLite stores: no server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import sqlalchemy as sa

from connectors.whatsapp.buttons import (
    LIST_PICKER,
    QUICK_REPLY,
    ContentSpec,
    button_descriptions,
    choose_content,
)
from connectors.whatsapp.gate import ChannelGate, option_for_reply
from connectors.whatsapp.inbound import parse_inbound_form
from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.options import Option, options_from_buttons, render_options
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.splitting import split_keeping_last
from rasa_project.conversation_log.database import create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.devtools.whatsapp_simulator import as_numbered_text, build_inbound_form
from rasa_project.settings import Settings

WA, SMS = "whatsapp:+5215512345678", "+5215512345678"
TEXT = "¿Confirmo tu reserva?"


def _options(count: int, title_length: int = 8) -> List[Option]:
    return [Option(f"{n:02d}" + "x" * (title_length - 2), f"/elegir{{\"n\":{n}}}") for n in range(count)]


def _kind(options: List[Option], to: str = WA, enabled: bool = True, text: str = TEXT,
          descriptions: Optional[List[str]] = None) -> Optional[str]:
    spec = choose_content(options, text, to, enabled=enabled, descriptions=descriptions)
    return spec.kind if spec else None


@pytest.mark.parametrize("count,expected", [(0, None), (1, QUICK_REPLY), (2, QUICK_REPLY), (3, QUICK_REPLY)]
                         + [(n, LIST_PICKER) for n in range(4, 11)] + [(n, None) for n in range(11, 16)])
def test_the_number_of_options_chooses_the_element(count: int, expected: Optional[str]) -> None:
    assert _kind(_options(count)) == expected


@pytest.mark.parametrize("count,length,expected", [
    (2, 20, QUICK_REPLY),   # at the quick-reply limit
    (2, 21, LIST_PICKER),   # too long for a button, fits a list item
    (2, 24, LIST_PICKER),
    (2, 25, None),          # too long for both: numbered text, never a cut title
    (5, 24, LIST_PICKER),
    (5, 25, None),
])
def test_title_lengths_at_the_limits(count: int, length: int, expected: Optional[str]) -> None:
    options = _options(count, length)
    assert all(len(o.title) == length for o in options)
    assert _kind(options) == expected


@pytest.mark.parametrize("length,expected", [(72, LIST_PICKER), (73, None)])
def test_description_length_at_the_limit(length: int, expected: Optional[str]) -> None:
    assert _kind(_options(2), descriptions=["d" * length, ""]) == expected


def test_list_items_get_the_buttons_description_or_their_number() -> None:
    buttons = [{"title": "Yoga", "payload": "/y", "description": "60 min · $150"},
               {"title": "Pilates", "payload": "/p"},
               {"title": "", "payload": ""}]  # skipped by options_from_buttons, so by the descriptions too
    spec = choose_content(options_from_buttons(buttons), TEXT, WA, enabled=True,
                          descriptions=button_descriptions(buttons))
    assert spec is not None and spec.kind == LIST_PICKER  # a description needs the list picker
    assert spec.definition()["types"][LIST_PICKER]["items"] == [
        {"item": "Yoga", "id": "/y", "description": "60 min · $150"},
        {"item": "Pilates", "id": "/p", "description": "Opción 2"}]


@pytest.mark.parametrize("case", ["sms", "off", "no text", "long text", "long payload", "same title"])
def test_what_falls_back_to_numbered_text(case: str) -> None:
    options, to, enabled, text = _options(2), WA, True, TEXT
    if case == "sms":
        to = SMS
    elif case == "off":
        enabled = False
    elif case == "no text":
        text = "  "
    elif case == "long text":
        text = "x" * 1025
    elif case == "long payload":
        options = [Option("Sí", "/" + "p" * 200), Option("No", "/negar")]
    else:
        options = [Option("Sí", "/afirmar"), Option("Sí", "/otra")]
    assert _kind(options, to=to, enabled=enabled, text=text) is None
    assert _kind(_options(2), text="x" * 1024) == QUICK_REPLY  # 1,024 itself fits


def test_the_definition_has_a_body_variable_and_the_payloads_as_ids() -> None:
    spec = choose_content([Option("Sí, confirmar", "/afirmar"), Option("No", "/negar")], TEXT, WA, enabled=True)
    assert spec is not None
    definition = spec.definition()
    assert definition["types"] == {QUICK_REPLY: {"body": "{{1}}", "actions": [
        {"title": "Sí, confirmar", "id": "/afirmar"}, {"title": "No", "id": "/negar"}]}}
    assert json.loads(spec.variables("Hola «Ana»")) == {"1": "Hola «Ana»"}


def test_the_key_depends_on_the_options_not_on_the_text() -> None:
    def key(options: List[Option], text: str = TEXT) -> str:
        spec = choose_content(options, text, WA, enabled=True)
        assert spec is not None
        return spec.key

    yes_no = [Option("Sí", "/afirmar"), Option("No", "/negar")]
    assert key(yes_no) == key(yes_no, "Otro texto") == key(list(yes_no))
    assert key(yes_no) != key(list(reversed(yes_no)))
    assert key(yes_no) != key([Option("Sí", "/afirmar"), Option("No", "/otra")])
    assert ContentSpec(QUICK_REPLY, (("a", "/a", ""),)).key != ContentSpec(LIST_PICKER, (("a", "/a", ""),)).key
    assert len(key(yes_no)) == 64


def test_a_long_text_is_split_and_the_last_part_fits_a_content_body() -> None:
    text = "\n\n".join(["Primera parte. " * 60, "Segunda parte. " * 90])  # 900 + 1,350 characters
    parts = split_keeping_last(text, 1024)
    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts) and len(parts[-1]) <= 1024
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    assert split_keeping_last("corto", 1024) == ["corto"] and split_keeping_last("", 1024) == []


def test_the_simulator_reads_a_content_send_as_the_numbered_text() -> None:
    options = [Option("Sí, confirmar", "/afirmar"), Option("No", "/negar")]
    quick = {"body": TEXT, "actions": [{"title": o.title, "id": o.payload} for o in options]}
    listed = {"body": TEXT, "items": [{"item": o.title, "id": o.payload, "description": "d"} for o in options]}
    assert as_numbered_text(quick) == as_numbered_text(listed) == render_options(TEXT, options)
    assert as_numbered_text({"body": "solo texto", "actions": None, "items": None}) == "solo texto"


# --- mapping a reply back to the payload ---

OPTIONS = [Option("Sí, confirmar", "/afirmar"), Option("No", "/negar")]


@pytest.mark.parametrize("body,button,expected", [
    ("Sí, confirmar", {"payload": "/afirmar", "text": "Sí, confirmar"}, "/afirmar"),  # a tap: ButtonPayload
    ("No", {"payload": "id-ajeno", "text": "No"}, "/negar"),  # a payload we do not know: its ButtonText
    ("x", {"payload": "/negar", "text": "algo"}, "/negar"),  # a tap on an older message: its payload
    ("2", None, "/negar"),  # typed number
    ("sí, confirmar", None, "/afirmar"),  # typed title
    ("quizá", None, "quizá"),
])
def test_option_for_reply(body: str, button: Optional[Dict[str, str]], expected: str) -> None:
    assert option_for_reply(body, button, OPTIONS) == expected
    if button is None:
        assert option_for_reply(body, None, []) == body


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.engine.Engine]:
    settings = Settings(tracker_db_url=f"sqlite:///{tmp_path / 'log.db'}")
    engine = create_log_engine(settings.tracker_db_url, settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("form", [
    {"button": ("/negar", "No")},   # ButtonPayload + ButtonText, as Twilio posts a tap
    {"button": ("HX-item-7", "No")},  # an id that is not ours: ButtonText decides
    {"body": "2"},
    {"body": "No"},
])
async def test_the_gate_maps_taps_numbers_and_titles(engine: sa.engine.Engine, form: Dict) -> None:
    number = "+5215533330009"
    SenderStore(engine).store_options(number, OPTIONS)
    inbox = InboxStore(engine)
    inbox.accept(parse_inbound_form(build_inbound_form(number, form.get("body"), button=form.get("button")), 1000),
                 "http://x")
    row = inbox.claim_next(number, "t", 60).row
    assert row is not None
    verdict = await ChannelGate(Settings(), inbox, SenderStore(engine), "t").check(row)
    assert verdict.text == "/negar"
    assert SenderStore(engine).get(number).options == []  # forgotten after one reply, as before
