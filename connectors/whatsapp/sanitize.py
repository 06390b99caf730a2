"""Clean an inbound WhatsApp text before anything stores, logs or interprets it.

Control characters (other than newlines) come from copy-paste and broken keyboards and confuse
tokenizers and log viewers; very long texts are abuse or accidents. Emoji, "¡"/"¿" and zero-width
joiners (part of emoji sequences) are kept exactly: they are what the client wrote. Payment data is
masked by `redaction.redact` last, so nothing downstream ever sees it.
"""

from __future__ import annotations

import re
import unicodedata

from rasa_project.conversation_log.redaction import redact

_SPACES = re.compile(r"[^\S\n]+")  # any whitespace except newline
_MANY_NEWLINES = re.compile(r"\n{3,}")


def strip_control_characters(text: str) -> str:
    """Drop Unicode `Cc` characters except newline; tabs and CR become spaces/newlines first."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")


def normalize_whitespace(text: str) -> str:
    """Runs of spaces → one space, lines trimmed, at most one blank line in a row, ends trimmed."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def sanitize_text(text: str, max_length: int) -> str:
    """NFC, control characters out, whitespace normalized, capped at `max_length`, then redacted."""
    if not text:
        return ""
    cleaned = normalize_whitespace(strip_control_characters(unicodedata.normalize("NFC", text)))
    if max_length > 0 and len(cleaned) > max_length:
        cleaned = cleaned[:max_length].rstrip()
    return redact(cleaned)
