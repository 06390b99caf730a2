"""Format checks for what clients type into forms (names, emails). Pure functions."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_NAME_WORD = re.compile(r"^[A-Za-zÁÉÍÓÚÜÑáéíóúüñ'’-]+$")
_NAME_PREFIXES = ("me llamo ", "mi nombre es ", "soy ", "ponle ", "pon ", "a ")


def clean_email(text: str) -> str | None:
    """The email in `text` lower-cased, or None when it is not a plausible address."""
    candidate = text.strip().strip(".,;:!¡¿?<>").lower()
    for token in candidate.split():
        if "@" in token:
            candidate = token.strip(".,;:!¡¿?<>")
            break
    return candidate if _EMAIL.match(candidate) else None


def clean_name(text: str) -> str | None:
    """A person's name in title case ("ana  lópez" → "Ana López"), or None when it is not one."""
    candidate = " ".join(text.split())
    lowered = candidate.lower()
    for prefix in _NAME_PREFIXES:
        if lowered.startswith(prefix):
            candidate = candidate[len(prefix):]
            break
    words = candidate.strip(" .,!").split()
    if not 1 <= len(words) <= 5 or not all(_NAME_WORD.match(w) for w in words):
        return None
    if sum(len(w) for w in words) < 2:
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)
