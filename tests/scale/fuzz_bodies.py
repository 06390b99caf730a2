"""Seeded generator of hostile webhook requests: what a scanner, a broken proxy or an attacker posts.

Each case is raw bytes plus a content type, so nothing is normalised by an HTTP client on the way:
invalid UTF-8, NUL bytes, huge fields, thousands of fields, missing or duplicated Twilio fields, script
tags, SQL fragments, and the wrong content types. `signed_params` computes what the channel will see
as the signed form (`routes.twilio_form`), so a case can carry a signature that is valid for it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qs, quote_plus

from sanic.request import RequestParameters

FORM = "application/x-www-form-urlencoded"
TWILIO_FIELDS = (
    "SmsMessageSid", "NumMedia", "ProfileName", "MessageType", "SmsSid", "WaId", "SmsStatus", "Body", "To",
    "NumSegments", "ReferralNumMedia", "MessageSid", "AccountSid", "From", "ApiVersion", "MediaUrl0",
    "MediaContentType0", "Latitude", "Longitude", "ButtonPayload", "ButtonText", "Address", "Label",
)
HOSTILE_STRINGS = (
    "<script>alert('x')</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE whatsapp_inbox; --",
    "1' OR '1'='1", "' UNION SELECT password FROM pg_shadow --", "Robert'); DELETE FROM events;--",
    "%00", "\x00", "\x00\x01\x02\x7f", "\u202e\u202dRTL", "\ud7ff\ue000\uffff", "💥" * 50, "¡¿ñÑáéíóú!?",
    "../../../../etc/passwd", "${jndi:ldap://127.0.0.1/a}", "{{7*7}}", "%s%s%s%n", "\r\n\r\nHTTP/1.1 200",
    "whatsapp:", "whatsapp:+", "whatsapp:+52155" + "9" * 40, "+5215512345678", "NaN", "inf", "-1e309",
    "9" * 5000, "", " ", "\t\n\r", "null", "[]", "{}", "true", "０１２３", "٣", "𝟘𝟙",
)
CONTENT_TYPES = (
    FORM, FORM, FORM, f"{FORM}; charset=utf-8", f"{FORM}; charset=latin-1", "application/json", "text/plain",
    "text/xml", "multipart/form-data", "multipart/form-data; boundary=xyz", "application/octet-stream", "",
    "*/*", "application/x-www-form-urlencoded;;;boundary=",
)
SENDERS = tuple(f"whatsapp:+5215590{n:06d}" for n in range(8))  # few senders: the rate limit keeps replies few


@dataclass(frozen=True)
class FuzzCase:
    kind: str
    body: bytes
    content_type: Optional[str]  # None: no Content-Type header at all


def encode_pairs(pairs: List[Tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(k, errors='surrogatepass')}={quote_plus(v, errors='surrogatepass')}"
                    for k, v in pairs).encode("ascii")


def signed_params(case: FuzzCase) -> Optional[RequestParameters]:
    """The form the channel verifies for `case` (mirrors `routes.twilio_form`), or None if it cannot
    be known on this side (a body that is not UTF-8, which only a forger would send)."""
    content_type = case.content_type or ""
    if FORM in content_type and case.body:
        try:
            text = case.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return RequestParameters(parse_qs(text, keep_blank_values=True))
    return RequestParameters()


class HostileForms:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self, max_len: int = 200) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return rng.choice(HOSTILE_STRINGS)
        if roll < 0.6:  # any code point, surrogates and private use included
            return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(rng.randrange(0, 40)))
        if roll < 0.8:
            return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(0, max_len)))
        if roll < 0.993:
            return rng.choice(HOSTILE_STRINGS) * rng.randrange(1, 20)
        return rng.choice("aé💥\x00<") * rng.randrange(1_000, 40_000)  # a huge field

    def base_form(self) -> Dict[str, str]:
        rng = self.rng
        sid = "SM" + uuid.UUID(int=rng.getrandbits(128)).hex
        return {
            "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Fuzz", "MessageType": "text", "SmsSid": sid,
            "WaId": "5215590000000", "SmsStatus": "received", "Body": "hola", "To": "whatsapp:+14155238886",
            "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": rng.choice(SENDERS), "ApiVersion": "2010-04-01",
        }

    def mutated_form(self) -> List[Tuple[str, str]]:
        """A Twilio-shaped form with fields replaced, dropped, duplicated or added."""
        rng = self.rng
        form = self.base_form()
        for key in rng.sample(TWILIO_FIELDS, rng.randrange(1, 6)):
            form[key] = self.text()
        for key in rng.sample(sorted(form), rng.randrange(0, 4)):
            if rng.random() < 0.5:
                del form[key]
        pairs = list(form.items())
        for _ in range(rng.randrange(0, 4)):  # duplicated and unknown fields
            key = rng.choice(TWILIO_FIELDS) if rng.random() < 0.5 else self.text(30)
            pairs.insert(rng.randrange(0, len(pairs) + 1), (key, self.text()))
        return pairs

    def case(self) -> FuzzCase:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return FuzzCase("mutated", encode_pairs(self.mutated_form()), FORM)
        if roll < 0.65:  # raw bytes: invalid UTF-8, NULs, stray % and &
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            prefix = encode_pairs(list(self.base_form().items())) + b"&Body=" if rng.random() < 0.5 else b""
            return FuzzCase("bytes", prefix + raw, rng.choice((FORM, f"{FORM}; charset=latin-1")))
        if roll < 0.72:  # percent-encoded invalid UTF-8 and broken escapes
            junk = "".join(rng.choice(("%FF", "%C3", "%", "%G1", "%00", "&&", "==", "+", "%E2%82")) for _ in range(30))
            form = encode_pairs(list(self.base_form().items())).replace(b"Body=hola", b"Body=" + junk.encode())
            return FuzzCase("percent", form, FORM)
        if roll < 0.73:  # thousands of fields
            pairs = list(self.base_form().items()) + [(f"F{n}", self.rng.choice(("x", "<b>", "'--"))) for n in
                                                      range(rng.randrange(1_000, 6_000))]
            return FuzzCase("many_fields", encode_pairs(pairs), FORM)
        if roll < 0.9:  # the wrong content type (or none) for a form or for JSON/XML
            payload = encode_pairs(self.mutated_form()) if rng.random() < 0.5 else \
                rng.choice((b'{"From": "whatsapp:+5215590000001", "Body": "hola"}', b"<xml>&lt;</xml>", b"--xyz\r\n"))
            content_type = rng.choice(CONTENT_TYPES + (None,))
            return FuzzCase("content_type", payload, content_type)
        if roll < 0.95:
            return FuzzCase("empty", b"", rng.choice((FORM, None, "text/plain")))
        # a form of only hostile keys/values, no Twilio field at all
        pairs = [(self.text(40), self.text()) for _ in range(rng.randrange(1, 12))]
        return FuzzCase("garbage_form", encode_pairs(pairs), FORM)
