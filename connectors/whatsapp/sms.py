"""SMS length: segments of GSM-7 or UCS-2 text, and splitting a long text into SMS of at most N segments.

A concatenated SMS carries 153 GSM-7 characters per segment (160 when it is a single one) or 67 UCS-2
code units (70 alone); one character outside GSM-7 (á, í, ó, ú, ¿ is in it, emoji are not) makes the whole
message UCS-2, and GSM-7's extension characters (€, [, ], {, }, ~, ^, \\, |) cost two. Carriers bill per
segment and many drop messages beyond ~10, so a longer reply goes as several SMS cut on natural
boundaries (`splitting.py`), in order.
"""

from __future__ import annotations

import math
from typing import List

from connectors.whatsapp.splitting import WHATSAPP_MAX_BODY, split_text

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_SEGMENT = 160, 153
UCS2_SINGLE, UCS2_SEGMENT = 70, 67


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def segments(text: str) -> int:
    """How many SMS segments `text` takes (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        units, single, per = sum(2 if c in GSM7_EXTENDED else 1 for c in text), GSM7_SINGLE, GSM7_SEGMENT
    else:
        units, single, per = sum(2 if ord(c) > 0xFFFF else 1 for c in text), UCS2_SINGLE, UCS2_SEGMENT
    return 1 if units <= single else math.ceil(units / per)


def _limit(text: str, max_segments: int) -> int:
    """Characters per SMS for this text's encoding (before extension characters or surrogates count double)."""
    single, per = (GSM7_SINGLE, GSM7_SEGMENT) if is_gsm7(text) else (UCS2_SINGLE, UCS2_SEGMENT)
    return min(single if max_segments <= 1 else per * max_segments, WHATSAPP_MAX_BODY)


def split_sms(text: str, max_segments: int) -> List[str]:
    """Ordered SMS bodies of at most `max_segments` segments each (Twilio's 1,600 characters too)."""
    max_segments = max(1, max_segments)
    parts: List[str] = []
    for part in split_text(text, _limit(text, max_segments)):
        limit = len(part)
        while segments(part) > max_segments and limit > 1:  # extension characters or emoji: cut finer
            limit = int(limit * 0.9)
            pieces = split_text(part, limit)
            if all(segments(p) <= max_segments for p in pieces):
                parts.extend(pieces)
                break
        else:
            parts.append(part)
    return parts
