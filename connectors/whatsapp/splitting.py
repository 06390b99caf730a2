"""Split bot texts at WhatsApp's 1,600-character limit without breaking words or reordering parts.

Preferred cut points, best first: a paragraph break, a line break, the end of a sentence, a space;
only a single word longer than the limit is cut mid-word.
"""

from __future__ import annotations

import re
from typing import List

WHATSAPP_MAX_BODY = 1600
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def _cut_point(window: str) -> int:
    """Where to end the next part inside `window` (the text up to limit + 1 characters)."""
    limit = len(window) - 1 if len(window) > 1 else len(window)
    head = window[: limit + 1]
    for separator in ("\n\n", "\n"):
        index = head.rfind(separator, 0, limit + 1)
        if index > 0:
            return index
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(head) if 0 < m.end() <= limit]
    if sentence_ends:
        return sentence_ends[-1]
    index = head.rfind(" ", 0, limit + 1)
    if index > 0:
        return index
    return limit


def split_text(text: str, limit: int = WHATSAPP_MAX_BODY) -> List[str]:
    """Ordered parts, each at most `limit` characters, stripped; empty text gives no parts."""
    remaining = (text or "").strip()
    parts: List[str] = []
    while len(remaining) > limit:
        cut = _cut_point(remaining[: limit + 1])
        part = remaining[:cut].strip()
        if part:
            parts.append(part)
        remaining = remaining[cut:].strip()
    if remaining:
        parts.append(remaining)
    return parts


def split_keeping_last(text: str, last_limit: int, limit: int = WHATSAPP_MAX_BODY) -> List[str]:
    """`split_text`'s parts, the last one also at most `last_limit`: it carries the buttons, and a Content
    body allows fewer characters (1,024) than a plain message (1,600)."""
    parts = split_text(text, limit)
    if parts and len(parts[-1]) > last_limit:
        parts = parts[:-1] + split_text(parts[-1], last_limit)
    return parts
