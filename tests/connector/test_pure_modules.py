"""Unit tests of the channel's pure modules (no I/O)."""

from typing import Optional

import pytest

from connectors.whatsapp import inbound
from connectors.whatsapp.inbound import InvalidInbound, parse_inbound_form, sender_from_address
from connectors.whatsapp.inbox_notify import parse_payload, payload_of
from connectors.whatsapp.keywords import is_opt_in, is_opt_out
from connectors.whatsapp.options import Option, choose_option, options_from_buttons, render_options
from connectors.whatsapp.sanitize import sanitize_text
from connectors.whatsapp.signature import public_base_url, signature_valid, signed_url
from connectors.whatsapp.splitting import split_text
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, sign

TOKEN = "secret-token"


# --- signature URL -----------------------------------------------------------------------------

def test_public_base_prefers_the_setting():
    headers = {"host": "10.0.0.5:5005", "x-forwarded-proto": "https"}
    assert public_base_url("https://bot.example.com/rasa/", headers, "http") == "https://bot.example.com/rasa"


def test_public_base_honours_forwarded_headers_first_value():
    headers = {"host": "10.0.0.5:5005", "x-forwarded-proto": "https, http",
               "x-forwarded-host": "bot.example.com, proxy"}
    assert public_base_url("", headers, "http") == "https://bot.example.com"


def test_public_base_falls_back_to_host_and_scheme():
    assert public_base_url("", {"host": "127.0.0.1:5005"}, "http") == "http://127.0.0.1:5005"


def test_signed_url_joins_base_path_and_query():
    assert signed_url("https://x.com/rasa", "/webhooks/whatsapp/webhook", "a=1") == \
        "https://x.com/rasa/webhooks/whatsapp/webhook?a=1"
    assert signed_url("https://x.com/", "/webhooks/whatsapp/webhook") == "https://x.com/webhooks/whatsapp/webhook"


def test_signature_roundtrip_and_rejections():
    url = "https://bot.example.com/webhooks/whatsapp/webhook"
    form = {"From": "whatsapp:+5215512345678", "Body": "¡Hola!"}
    good = sign(url, form, TOKEN)
    assert signature_valid(TOKEN, url, form, good)
    assert not signature_valid(TOKEN, url, form, None)
    assert not signature_valid(TOKEN, url, {**form, "Body": "otro"}, good)
    assert not signature_valid(TOKEN, "http://10.0.0.5:5005/webhooks/whatsapp/webhook", form, good)


# --- form parsing --------------------------------------------------------------------------------

def test_text_message_keeps_spanish_punctuation():
    message = parse_inbound_form(build_inbound_form("+5215512345678", "¡Hola! ¿Tienen citas mañana? 😊"), 1000)
    assert message.sender_id == "+5215512345678"
    assert message.text == "¡Hola! ¿Tienen citas mañana? 😊"
    assert message.metadata["kind"] == "text"
    assert message.metadata["wa_id"] == "5215512345678"
    assert message.metadata["profile_name"] == "Cliente"
    assert message.metadata["message_sid"] == message.message_sid


def test_sanic_style_list_values_are_read():
    form = {k: [v] for k, v in build_inbound_form("+5215512345678", "hola").items()}
    assert parse_inbound_form(form, 1000).text == "hola"


def test_media_only_message_gets_placeholder_and_metadata():
    form = build_inbound_form("+5215512345678", None, media=[("https://m.example/1.jpg", "image/jpeg"),
                                                             ("https://m.example/2.pdf", "application/pdf")])
    message = parse_inbound_form(form, 1000)
    assert message.text == inbound.MEDIA_PAYLOAD == "/enviar_media"
    assert message.metadata["kind"] == "media"
    assert message.metadata["media"] == [
        {"url": "https://m.example/1.jpg", "content_type": "image/jpeg"},
        {"url": "https://m.example/2.pdf", "content_type": "application/pdf"},
    ]
    audio = parse_inbound_form(build_inbound_form("+5215512345678", None, media=[("u", "audio/ogg")]), 1000)
    assert audio.text == "/enviar_media"
    doc = parse_inbound_form(build_inbound_form("+5215512345678", None, media=[("u", "application/pdf")]), 1000)
    assert doc.text == "/enviar_media"


def test_media_with_caption_uses_caption():
    form = build_inbound_form("+5215512345678", "mi comprobante", media=[("https://m/1.jpg", "image/jpeg")])
    message = parse_inbound_form(form, 1000)
    assert message.text == "mi comprobante" and message.metadata["kind"] == "media"


def test_location_message():
    form = build_inbound_form("+5215512345678", None, location=(19.4326, -99.1332))
    form.update({"Address": "Av. Reforma 1", "Label": "Casa"})
    message = parse_inbound_form(form, 1000)
    assert message.text == "/enviar_ubicacion"
    assert message.metadata["location"] == {"latitude": 19.4326, "longitude": -99.1332,
                                            "address": "Av. Reforma 1", "label": "Casa"}


def test_button_reply_uses_payload():
    form = build_inbound_form("+5215512345678", None, button=('/elegir_servicio{"servicio":"yoga"}', "Yoga"))
    message = parse_inbound_form(form, 1000)
    assert message.text == '/elegir_servicio{"servicio":"yoga"}'
    assert message.metadata["button"] == {"payload": '/elegir_servicio{"servicio":"yoga"}', "text": "Yoga"}


def test_empty_message_and_invalid_forms():
    assert parse_inbound_form(build_inbound_form("+5215512345678", ""), 1000).text == inbound.EMPTY_TEXT
    with pytest.raises(InvalidInbound):
        parse_inbound_form({"Body": "hola", "MessageSid": "SM1"}, 1000)
    with pytest.raises(InvalidInbound):
        parse_inbound_form({"From": "whatsapp:+5215512345678", "Body": "hola"}, 1000)
    assert sender_from_address("whatsapp:5215512345678") == "+5215512345678"


# --- sanitizing ----------------------------------------------------------------------------------

def test_sanitize_strips_controls_keeps_newlines_and_emoji():
    raw = "  hola\x00\x07  mundo\t\t👩‍👩‍👧 \r\n\r\n\r\n\r\n¿cita?\x1b  "
    assert sanitize_text(raw, 1000) == "hola mundo 👩‍👩‍👧\n\n¿cita?"


def test_sanitize_caps_length_and_redacts_cards():
    assert sanitize_text("a" * 50, 10) == "a" * 10
    cleaned = sanitize_text("mi tarjeta es 4111 1111 1111 1111 gracias", 1000)
    assert "4111 1111 1111 1111" not in cleaned and "1111" in cleaned


# --- opt-out keywords ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["STOP", "stop", " Baja. ", "¡BAJA!", "darme de baja", "Darme de Baja",
                                  "cancelar suscripción", "No más mensajes...", "UNSUBSCRIBE", "stopall"])
def test_opt_out_matches_whole_message(text):
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["cancelar", "CANCELAR", "cancelar mi cita", "quiero cancelar",
                                  "stop por favor no", "baja de peso", "bajar la cita", "no"])
def test_not_opt_out(text):
    assert not is_opt_out(text)


@pytest.mark.parametrize("text", ["START", "alta", "Unstop", "suscribirme", "Suscríbirme!"])
def test_opt_in(text):
    assert is_opt_in(text)
    assert not is_opt_out(text)


# --- numbered options ----------------------------------------------------------------------------

OPTIONS = options_from_buttons([
    {"title": "Yoga", "payload": '/elegir{"s":"yoga"}'},
    {"title": "Masaje relajante", "payload": '/elegir{"s":"masaje"}'},
    {"title": "Pilates", "payload": '/elegir{"s":"pilates"}'},
])


def test_render_options():
    assert render_options("¿Qué servicio?", OPTIONS) == "¿Qué servicio?\n\n1. Yoga\n2. Masaje relajante\n3. Pilates"


@pytest.mark.parametrize("reply", ["2", "2.", "la 2", "La 2", " 2) ", "opción 2", "#2", "dos", "MASAJE RELAJANTE",
                                   "masaje relajante!"])
def test_choose_second(reply):
    assert choose_option(reply, OPTIONS) == OPTIONS[1]


@pytest.mark.parametrize("reply", ["4", "0", "quiero el 2 y el 3", "masaje", "hola"])
def test_no_choice(reply):
    assert choose_option(reply, OPTIONS) is None


def test_no_options_no_choice():
    assert choose_option("1", []) is None
    assert options_from_buttons([{"title": "Sí"}]) == [Option("Sí", "Sí")]


# --- splitting -----------------------------------------------------------------------------------

def test_split_3500_chars_on_boundaries_in_order():
    paragraphs = [" ".join(f"p{p}w{w}." if w % 12 == 11 else f"p{p}w{w}" for w in range(120)) for p in range(5)]
    text = "\n\n".join(paragraphs)
    assert 3400 <= len(text) <= 4000
    parts = split_text(text)
    assert len(parts) >= 3
    assert all(len(part) <= 1600 for part in parts)
    words = text.split()
    assert " ".join(parts).split() == words  # nothing lost, nothing reordered, no word cut
    for part in parts[:-1]:
        assert part.endswith(".") or part == part.rstrip()


def test_split_prefers_paragraph_then_sentence():
    para = "Frase uno. " * 100  # 1100 chars
    parts = split_text(para.strip() + "\n\n" + para.strip())
    assert parts == [para.strip(), para.strip()]
    long_sentences = "Esta es una frase bastante larga. " * 80
    parts = split_text(long_sentences)
    assert all(p.endswith(".") for p in parts) and all(len(p) <= 1600 for p in parts)


def test_split_cuts_only_an_oversized_word():
    parts = split_text("hola " + "x" * 2000 + " adiós")
    assert all(len(p) <= 1600 for p in parts)
    assert "".join(parts).replace(" ", "") == ("hola" + "x" * 2000 + "adiós")


def test_split_short_and_empty():
    assert split_text("hola") == ["hola"]
    assert split_text("   ") == []


@pytest.mark.parametrize("sender", ["+5215512340001", "whatsapp:+5215512340001", "a|b", "x|12", ""])
@pytest.mark.parametrize("row_id", [None, 0, 7, 123456789])
def test_inbox_notify_payload_round_trips(sender: str, row_id: Optional[int]) -> None:
    assert parse_payload(payload_of(sender, row_id)) == (sender, row_id)


def test_a_payload_without_separator_is_a_bare_sender() -> None:
    assert parse_payload("+5215512340001") == ("+5215512340001", None)
