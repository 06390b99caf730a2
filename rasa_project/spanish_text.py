"""Spanish as clients type it: the one accent fold and the one vocabulary of day, month and number words.

Every reader of client text (dates, opt-out keywords, numbered options, catalogue matching, the
grounding check of LLM replies) compares through `fold`, so "Miércoles", "miercoles" and "MIÉRCOLES"
are one word everywhere; and every list of weekdays, months and number words lives here, so the
date parser and the grounding check can never disagree about what "sábado" or "doce" means.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Dict

_EDGE_NOISE = re.compile(r"^[\W_]+|[\W_]+$")
_INNER_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case without accents ("Mañana Á" → "manana a"), one character for each character of
    the text's NFC form, so offsets found in the folded text point into `unicodedata.normalize("NFC", text)`."""
    text = unicodedata.normalize("NFC", text or "")
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


def reply_key(text: str) -> str:
    """How a whole short reply is compared with keywords and option titles: folded, inner spaces
    collapsed, punctuation and emoji trimmed at both ends ("¡BAJA!" → "baja", " La 2. " → "la 2")."""
    return _EDGE_NOISE.sub("", _INNER_SPACE.sub(" ", fold(text)).strip()).strip()


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    lower = char.lower()[:1] or char
    return unicodedata.normalize("NFKD", lower)[:1] if ord(lower) > 127 else lower


WEEKDAYS: Dict[str, int] = {  # Python's date.weekday(): Monday == 0
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
}
MONTHS: Dict[str, int] = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
}
# Only safe right after "27 de ..." where they cannot mean anything else ("mar" alone is also "sea").
MONTH_ABBREVIATIONS: Dict[str, int] = {
    "ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sept": 9, "sep": 9,
    "set": 9, "oct": 10, "nov": 11, "dic": 12,
}  # fmt: skip
# Cardinal number words. "un/uno/una" are articles far more often than amounts: readers that look for
# quantities in free text use `QUANTITY_WORDS`, which leaves them out.
CARDINALS: Dict[str, int] = {
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
    "sesenta": 60, "cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "quinientos": 500,
    "mil": 1000,
}  # fmt: skip
QUANTITY_WORDS: Dict[str, int] = {word: n for word, n in CARDINALS.items() if word not in ("un", "uno", "una")}
# Hours said in words: "a la una", "a las seis y media".
HOUR_WORDS: Dict[str, int] = {word: n for word, n in CARDINALS.items() if 1 <= n <= 12 and word != "un"}
# Positions in a list: "la segunda", "el 3ro", "la última" (-1).
ORDINALS: Dict[str, int] = {
    "primera": 1, "primero": 1, "1ra": 1, "1ro": 1, "segunda": 2, "segundo": 2, "2da": 2, "2do": 2,
    "tercera": 3, "tercero": 3, "3ra": 3, "3ro": 3, "cuarta": 4, "cuarto": 4, "quinta": 5, "quinto": 5,
    "ultima": -1, "ultimo": -1,
}  # fmt: skip
# Days named relative to today, in days from today; the negative ones are already gone (a booking
# for them is impossible, so the date reader asks instead of guessing).
RELATIVE_DAYS: Dict[str, int] = {
    "hoy": 0, "manana": 1, "pasado manana": 2, "ayer": -1, "anoche": -1, "anteayer": -2, "antier": -2,
}  # fmt: skip
# Parts of the day a client names instead of an hour ("por la tarde"); "madrugada" counts as morning.
PARTS_OF_DAY: Dict[str, str] = {"manana": "manana", "tarde": "tarde", "noche": "noche", "madrugada": "manana"}
