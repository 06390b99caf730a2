"""Numbered options: WhatsApp (without approved interactive templates) has no buttons.

Buttons go out as ONE message, the text followed by "1. Título" lines; the client answers "2",
"la 2", "2." or the option's title, and the next message is replaced by that button's payload
(Rasa reads "/intent{...}" payload texts directly). Options live only until the next user message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

from rasa_project.spanish_text import CARDINALS, ORDINALS, reply_key


@dataclass(frozen=True)
class Option:
    title: str
    payload: str

    def as_dict(self) -> Dict[str, str]:
        return {"title": self.title, "payload": self.payload}


# "la dos", "la segunda", "el 3ro": a number word or a positive ordinal names an option.
_NUMBER_WORDS = {**CARDINALS, **{word: n for word, n in ORDINALS.items() if n > 0}}
_CHOICE = re.compile(
    r"^(?:(?:la|el)\s+)?(?:(?:opcion|numero|num|no)\s*)?#?\s*(?P<choice>\d{1,2}|[a-z]+)\s*[.)\-:]?$"
)


def options_from_buttons(buttons: Iterable[Dict[str, Any]]) -> List[Option]:
    """Rasa button dicts ({"title", "payload"}) → options; a button without payload answers its title."""
    options = []
    for button in buttons or ():
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if title or payload:
            options.append(Option(title or payload, payload))
    return options


def render_options(text: str, options: Sequence[Option]) -> str:
    """The text with "1. Título" lines appended (a blank line between)."""
    lines = "\n".join(f"{index}. {option.title}" for index, option in enumerate(options, start=1))
    text = (text or "").rstrip()
    if not lines:
        return text
    return f"{text}\n\n{lines}" if text else lines


def choose_option(reply: str, options: Sequence[Option]) -> Optional[Option]:
    """The option the client's whole reply picks (number, "la 2", number word or exact title), if any."""
    if not options or not reply:
        return None
    normalized = reply_key(reply)
    match = _CHOICE.match(normalized)
    if match:
        token = match.group("choice")
        number = int(token) if token.isdigit() else _NUMBER_WORDS.get(token)
        if number is not None and 1 <= number <= len(options):
            return options[number - 1]
    for option in options:
        if normalized and reply_key(option.title) == normalized:
            return option
    return None
