"""One left-to-right pass of every phrase reader over the tokens.

At each position the readers are tried in a fixed order (time readers first) and the first that
matches consumes its tokens. Order and consumption are what make the Spanish work: "de la mañana"
after an hour is taken by the time reader before the day reader can see "mañana", and "pasado
mañana" is taken whole at "pasado" before "mañana" alone could be read as tomorrow.
"""

from __future__ import annotations

from datetime import date
from typing import List, Sequence

from rasa_project.dates.day_phrases import DAY_READERS
from rasa_project.dates.findings import Context, Finding
from rasa_project.dates.time_phrases import TIME_READERS
from rasa_project.dates.tokens import Token

__all__ = ["scan"]

_READERS = TIME_READERS + DAY_READERS


def scan(tokens: Sequence[Token], today: date) -> List[Finding]:
    """Every day and time phrase in `tokens`, in text order."""
    context = Context(tokens=tokens, today=today, found=[])
    index = 0
    while index < len(tokens):
        for reader in _READERS:
            hits = reader(context, index)
            if hits:
                context.found.extend(hits)
                index = max(hit.end for hit in hits)
                break
        else:
            index += 1
    return context.found
