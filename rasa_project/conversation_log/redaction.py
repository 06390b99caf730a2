"""Mask payment data before it reaches the conversation log or a log line.

Clients sometimes type a card number, its security code or a bank account into WhatsApp; Rasa's SQL
store would keep them verbatim forever (rasa#12505). We keep only the last four digits, enough for a
human to recognise which card was meant. Everything the assistant needs to work with stays intact:
phone numbers, dates, times, prices and booking ids (`RSV-1001`) are never masked, so a card is only
a Luhn-valid 13–19 digit run and an account only an IBAN (mod-97 valid), an 18-digit CLABE, or a
10–20 digit run right after the words "cuenta", "clabe" or "iban".
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Match

CARD_MASK = "[tarjeta •••• {last4}]"
ACCOUNT_MASK = "[cuenta •••• {last4}]"
CODE_MASK = "***"

# A run of digits in groups separated by single spaces or dashes; never after "+" (E.164 phones),
# a letter or another digit (booking ids, IBANs), never followed by more digits or a decimal part.
_DIGIT_RUN = re.compile(r"(?<![\w+$€.,/:])\d(?:[ \-]?\d)+(?![\w.,/:]\d|\w)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30})(?![A-Za-z0-9])")
_ACCOUNT_AFTER_KEYWORD = re.compile(
    r"(?i)\b(cuenta|clabe|iban)\b([^\d\n]{0,30}?)(?<![\d+])(\d(?:[ \-]?\d){9,19})(?![\d])"
)
_SECURITY_CODE = re.compile(r"(?i)\b(cvv2?|cvc2?|c[oó]digo\s+de\s+seguridad)\b([^\d\n]{0,20}?)(?<!\d)(\d{3,4})(?!\d)")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """The card-number checksum (ISO/IEC 7812); `number` holds digits only."""
    total = 0
    for index, ch in enumerate(reversed(number)):
        value = int(ch)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN written with or without spaces."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _mask_iban(match: Match[str]) -> str:
    value = match.group(1)
    if not iban_valid(value):
        return value
    return ACCOUNT_MASK.format(last4=value.replace(" ", "")[-4:])


def _mask_keyword_account(match: Match[str]) -> str:
    keyword, filler, number = match.groups()
    digits = _digits(number)
    if not 10 <= len(digits) <= 20:
        return match.group(0)
    return f"{keyword}{filler}{ACCOUNT_MASK.format(last4=digits[-4:])}"


def _mask_number(run: str) -> str:
    """The mask for one candidate number, or `run` itself when it is not payment data."""
    digits = _digits(run)
    if len(digits) == 18 and run.isdigit():
        return ACCOUNT_MASK.format(last4=digits[-4:])  # CLABE
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return CARD_MASK.format(last4=digits[-4:])
    return run


def _card_shaped(groups: List[str]) -> bool:
    """A single block of digits, or the printed layouts of cards (4-4-4-4[-1..3], Amex 4-6-5)."""
    sizes = [len(g) for g in groups]
    if len(sizes) == 1:
        return True
    if sizes == [4, 6, 5] or sizes == [4, 6, 4]:
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4 and len(sizes) >= 4


def _mask_digit_run(match: Match[str]) -> str:
    run = match.group(0)
    masked = _mask_number(run)
    if masked != run or len(_digits(run)) < 20:
        return masked
    # Two numbers typed one after the other ("4242424242424242 5512345678") merge into one run:
    # look for the longest card-shaped span of whole groups inside it.
    parts = re.split(r"([ \-])", run)
    groups, seps = parts[0::2], parts[1::2]
    out: List[str] = []
    i = 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            span = groups[i:j]
            count = sum(len(g) for g in span)
            if 13 <= count <= 19 and _card_shaped(span):
                text = "".join(g + (seps[k] if k < j - 1 else "") for k, g in enumerate(span, start=i))
                candidate = _mask_number(text)
                if candidate != text:
                    out.append(candidate)
                    i = j
                    break
        else:
            out.append(groups[i])
            i += 1
            if i < len(groups):
                out.append(seps[i - 1])
            continue
        if i < len(groups):
            out.append(seps[i - 1])
    return "".join(out)


def _mask_security_code(match: Match[str]) -> str:
    keyword, filler, _code = match.groups()
    return f"{keyword}{filler}{CODE_MASK}"


def redact(text: str) -> str:
    """`text` with card numbers, security codes and bank accounts masked; anything else untouched."""
    if not text or not isinstance(text, str) or not any(ch.isdigit() for ch in text):
        return text
    text = _IBAN.sub(_mask_iban, text)
    text = _ACCOUNT_AFTER_KEYWORD.sub(_mask_keyword_account, text)
    text = _DIGIT_RUN.sub(_mask_digit_run, text)
    text = _SECURITY_CODE.sub(_mask_security_code, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    return value


def _redact_entities(entities: List[Dict[str, Any]]) -> None:
    for entity in entities:
        if isinstance(entity, dict) and "value" in entity:
            entity["value"] = _redact_value(entity["value"])


def redact_event(event_dict: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of a Rasa event dict (`Event.as_dict()`) with user/bot text, entities and slots masked.

    The input is not modified: the in-memory tracker keeps what the user typed for this turn, only
    what is persisted or logged is masked.
    """
    event = copy.deepcopy(event_dict)
    kind = event.get("event")
    if "text" in event:
        event["text"] = _redact_value(event["text"])
    if kind == "user":
        parse_data = event.get("parse_data")
        if isinstance(parse_data, dict):
            if "text" in parse_data:
                parse_data["text"] = _redact_value(parse_data["text"])
            _redact_entities(parse_data.get("entities") or [])
        _redact_entities(event.get("entities") or [])
    elif kind == "entities":
        _redact_entities(event.get("entities") or [])
    elif kind == "slot":
        event["value"] = _redact_value(event.get("value"))
    elif kind == "bot":
        data = event.get("data")
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            data["text"] = redact(data["text"])
    return event
