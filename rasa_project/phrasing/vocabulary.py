"""The grounding check's own vocabulary: words that state money or status facts, currency words, and
how a written number is read. Weekdays, months and number words are the project's (`spanish_text`).

Kept apart from the regexes so the word lists (sensitive claims such as "gratis") can be read and
extended in one place.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Dict, FrozenSet, Set

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
