"""The one E.164 rule, as every part of the assistant applies it (table-driven)."""

from __future__ import annotations

import pytest

from rasa_project.phones import SMS, WHATSAPP, Address, InvalidPhone, is_e164, normalize_e164, whatsapp_address

VALID = [
    ("+5215512345678", "+5215512345678"),
    ("whatsapp:+5215512345678", "+5215512345678"),
    ("WhatsApp:+5215512345678", "+5215512345678"),
    ("whatsapp: +5215512345678", "+5215512345678"),
    ("whatsapp:5215512345678", "+5215512345678"),
    ("5215512345678", "+5215512345678"),
    ("+52 1 55 1234 5678", "+5215512345678"),
    ("+52 (55) 1234-5678", "+525512345678"),
    ("+54.9.11.2345.6789", "+5491123456789"),
    ("+34600123456", "+34600123456"),
    ("+2904001", "+2904001"),  # 7 digits: the shortest numbers in service (Saint Helena)
    ("+123456789012345", "+123456789012345"),  # 15 digits: E.164's maximum
    ("  +5215512345678  ", "+5215512345678"),
]
INVALID = ["", "hola", "+", "+1", "+123456", "+0521551234567", "+1234567890123456", "whatsapp:", "+52 155 abc 5678",
           "5215512345678x", None]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_accepted_forms_normalize_to_one_number(raw: str, expected: str) -> None:
    assert normalize_e164(raw) == expected
    assert is_e164(expected)
    assert whatsapp_address(raw) == f"whatsapp:{expected}"


@pytest.mark.parametrize("raw", INVALID)
def test_everything_else_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_e164(raw)
    assert not is_e164(raw)


def test_the_channel_and_the_actions_agree_on_every_case() -> None:
    """A number the channel accepts (inbound `From`) is a client the actions can serve, and vice versa."""
    from rasa_sdk import Tracker

    from actions.identity import client_phone
    from connectors.whatsapp.inbound import InvalidInbound, sender_from_address

    for raw in [r for r, _ in VALID] + [r for r in INVALID if r is not None]:
        try:
            sender = sender_from_address(raw)
        except InvalidInbound:
            continue
        tracker = Tracker(sender, {}, {}, [], False, None, {}, "action_listen")
        assert client_phone(tracker) == sender, raw


def test_address_keeps_the_medium_beside_the_number() -> None:
    assert Address.parse("whatsapp:+5215512345678") == Address("+5215512345678", WHATSAPP)
    assert Address.parse("+5215512345678") == Address("+5215512345678", SMS)
    assert Address("+5215512345678", WHATSAPP).twilio == "whatsapp:+5215512345678"
    assert Address("+5215512345678", SMS).twilio == "+5215512345678"
