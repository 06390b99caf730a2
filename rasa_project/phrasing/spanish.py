"""Spanish vocabulary and number parsing shared by the claim extractor.

Kept apart from the regexes so the word lists (weekdays, months, number words, sensitive claims such
as "gratis") can be read and extended in one place.
"""

from __future__ import annotations

import functools
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Dict, FrozenSet, Set

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
# Only read after "27 de ..." where they cannot mean anything else ("mar" alone is also "sea").
MONTH_ABBREVIATIONS: Dict[str, int] = {
    "ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sept": 9, "sep": 9,
    "set": 9, "oct": 10, "nov": 11, "dic": 12,
}  # fmt: skip
# "un/uno/una" are left out on purpose: they are articles far more often than amounts.
NUMBER_WORDS: Dict[str, int] = {
    "cero": 0,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "veinte": 20,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "cien": 100,
    "ciento": 100,
    "doscientos": 200,
    "trescientos": 300,
    "quinientos": 500,
    "mil": 1000,
}
# Hours said in words after "a la(s)": "a la una", "a las seis y media".
HOUR_WORDS: Dict[str, int] = {
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
}
# Words that state a fact about money or a booking's status; the reply may use one only when the
# template or the facts already say it (an LLM talked into "gratis" or "cancelada" must not pass).
CLAIM_GROUPS: Dict[str, str] = {
    "free": r"gratis|gratuit\w*|sin\s+(?:costo|cargo)|de\s+regalo|regal[ao]\w*|cortesia|bonificad\w*|free",
    "discount": r"descuent\w*|rebaj\w*|promocion\w*|oferta\w*|mitad\s+de\s+precio|a\s+mitad",
    "refund": r"reembols\w*|devoluci\w*|devolvemos|devolvere\w*",
    "cancelled": r"cancelad\w*|cancele|cancelamos",
    "confirmed": r"confirmad\w*",
    "paid": r"pagad[ao]s?|liquidad[ao]s?",
    "rescheduled": r"reagendad\w*|reprogramad\w*",
}
# Currency words grouped by the currency they name; "$" alone names none of them.
CURRENCY_FAMILIES: Dict[str, str] = {
    "mxn": "MXN",
    "mxn$": "MXN",
    "pesos": "MXN",
    "peso": "MXN",
    "m.n.": "MXN",
    "mn": "MXN",
    "usd": "USD",
    "us$": "USD",
    "dolares": "USD",
    "dolar": "USD",
    "dlls": "USD",
    "dll": "USD",
    "eur": "EUR",
    "euros": "EUR",
    "euro": "EUR",
    "€": "EUR",
}


def fold(text: str) -> str:
    """Lower-case and drop accents, one character for one, so offsets still point into `text`."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    lower = char.lower()[:1] or char
    return unicodedata.normalize("NFKD", lower)[:1] if ord(lower) > 127 else lower


def number_candidates(raw: str) -> FrozenSet[Decimal]:
    """Every value a written number can mean: "1.200" is 1200 in Spain and 1.2 in Mexico, so both."""
    raw = raw.strip().replace(" ", "")
    found: Set[Decimal] = set()

    def add(text: str) -> None:
        try:
            found.add(Decimal(text))
        except InvalidOperation:
            pass

    if not raw:
        return frozenset()
    has_comma, has_dot = "," in raw, "." in raw
    if has_comma and has_dot:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        add(raw.replace(thousands, "").replace(decimal_sep, "."))
    elif has_comma or has_dot:
        sep = "," if has_comma else "."
        groups = raw.split(sep)
        if all(len(g) == 3 for g in groups[1:]):
            add("".join(groups))  # thousands separators
        if len(groups) == 2:
            add(groups[0] + "." + groups[1])  # decimal separator
    else:
        add(raw)
    return frozenset(found)


def is_two_decimal_amount(raw: str) -> bool:
    """ "800.00" or "1,250.50": written like money even without a currency sign."""
    raw = raw.strip()
    return len(raw) > 3 and raw[-3] in ".," and raw[-2:].isdigit()
