"""Payment data is masked; everything the assistant works with (phones, dates, prices, ids) is not."""

import pytest

from rasa_project.conversation_log.redaction import iban_valid, luhn_valid, redact, redact_event

MASKED = [
    ("mi tarjeta es 4242 4242 4242 4242", "4242", "4242 4242 4242 4242"),
    ("4242424242424242", "4242", "4242424242424242"),
    ("pago con 4111-1111-1111-1111 por favor", "1111", "4111-1111-1111-1111"),
    ("amex 3782 822463 10005", "0005", "822463"),
    ("378282246310005", "0005", "378282246310005"),
    ("visa 13 dígitos 4222222222222", "2222", "4222222222222"),
    ("5555555555554444 vence 12/27", "4444", "5555555555554444"),
    ("tarjeta 6011111111111117.", "1117", "6011111111111117"),
    ("4242424242424242 5512345678", "4242", "4242424242424242"),
    ("IBAN ES91 2100 0418 4502 0005 1332", "1332", "2100 0418 4502"),
    ("es91 2100 0418 4502 0005 1332", "1332", "0418 4502"),
    ("ES9121000418450200051332", "1332", "ES9121000418450200051332"),
    ("GB82 WEST 1234 5698 7654 32", "5432", "WEST 1234 5698"),
    ("mi clabe es 002010077777777771", "7771", "002010077777777771"),
    ("032180000118359719", "9719", "032180000118359719"),
    ("número de cuenta: 0123456789", "6789", "0123456789"),
    ("cuenta 1234-5678-9012-3456-78", "5678", "1234-5678-9012-3456-78"),
    ("transfiere a la cuenta 12345678901", "8901", "12345678901"),
]


@pytest.mark.parametrize("text,last4,secret", MASKED)
def test_payment_numbers_are_masked_keeping_last_four(text, last4, secret):
    out = redact(text)
    assert secret not in out
    assert f"•••• {last4}" in out


@pytest.mark.parametrize(
    "text,code",
    [
        ("cvv 123", "123"),
        ("mi CVV es 987", "987"),
        ("CVC: 4321", "4321"),
        ("el código de seguridad es 555", "555"),
        ("codigo de seguridad 0912", "0912"),
        ("cvv2=321", "321"),
    ],
)
def test_security_codes_are_masked(text, code):
    out = redact(text)
    assert code not in out
    assert "***" in out


UNTOUCHED = [
    "+5215512345678",
    "whatsapp:+5215512345678",
    "mi número es +52 1 55 1234 5678",
    "5512345678",
    "55 1234 5678",
    "55-1234-5678",
    "+34 612 345 678",
    "+14155238886",
    "RSV-1001",
    "mi reserva RSV-1001 y RSV-2002",
    "15/12/2026",
    "2026-12-15",
    "15-12-2026",
    "el 15 de diciembre a las 10:30",
    "a las 17:45 hrs",
    "$1450.00",
    "$1,450.00 MXN",
    "cuesta 1450 pesos",
    "1234567890123",
    "4242 4242 4242 4241",
    "somos 3 personas, 2 adultos",
    "hola quiero reservar",
    "",
    "código postal 06700",
    "tomar en cuenta que llego 10 min tarde",
    "ES12 3456 7890 1234 5678 9012",
    "cvv",
    "20261215103000",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_non_payment_text_is_untouched(text):
    assert redact(text) == text


def test_checksums():
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")
    assert iban_valid("ES91 2100 0418 4502 0005 1332")
    assert not iban_valid("ES92 2100 0418 4502 0005 1332")


def test_redact_event_masks_user_text_entities_and_bot_text_without_mutating():
    user = {
        "event": "user",
        "text": "mi tarjeta 4242 4242 4242 4242 cvv 123",
        "parse_data": {
            "text": "mi tarjeta 4242 4242 4242 4242 cvv 123",
            "intent": {"name": "pagar", "confidence": 0.9},
            "entities": [{"entity": "tarjeta", "value": "4242 4242 4242 4242"}],
        },
        "metadata": {"from": "whatsapp:+5215512345678"},
    }
    out = redact_event(user)
    assert "4242 4242 4242 4242" not in str(out)
    assert "123" not in out["text"]
    assert out["metadata"] == user["metadata"]
    assert user["text"].startswith("mi tarjeta 4242 4242")
    bot = {"event": "bot", "text": "Recibí la tarjeta 4242424242424242", "data": {"text": "4242424242424242"}}
    assert "4242424242424242" not in str(redact_event(bot))
    slot = {"event": "slot", "name": "tarjeta", "value": "4242424242424242"}
    assert redact_event(slot)["value"] == "[tarjeta •••• 4242]"
    action = {"event": "action", "name": "action_listen"}
    assert redact_event(action) == action
