"""Find every checkable fact in a Spanish text: links, ids, phones, dates, times, amounts, numbers.

The same extractor reads the trusted sources (facts and template) and the LLM's text, so "18:00",
"18 h" and "6 de la tarde" all become 18:00, and "$800", "800.00" and "800 MXN" all become 800.
Passes run from the most specific shape to the least and blank out what they took, so the "00" of
"18:00" is never read again as a number. Ambiguous forms keep every reading ("a las 6" is 06:00 or
18:00) and the checker accepts a claim when any reading is grounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, FrozenSet, Hashable, List, Optional

from rasa_project.phrasing.vocabulary import CLAIM_GROUPS, CURRENCY_FAMILIES, is_two_decimal_amount, number_candidates
from rasa_project.spanish_text import HOUR_WORDS, MONTH_ABBREVIATIONS, MONTHS, WEEKDAYS, fold
from rasa_project.spanish_text import QUANTITY_WORDS as NUMBER_WORDS


@dataclass(frozen=True)
class Claim:
    """One fact-bearing span: `values` are its normalized readings (any grounded one suffices)."""

    kind: str
    snippet: str
    values: FrozenSet[Hashable]
    year: int | None = None
    weekday: int | None = None
    currency: str | None = None
    duration_of: FrozenSet[Decimal] = frozenset()  # "2 horas" may be a duration, not a time
    looks_like_money: bool = False  # "800.00": an amount even without a currency sign


_WD = "|".join(WEEKDAYS)
_MO = "|".join(MONTHS)
_MO_OR_ABBR = "|".join((*MONTHS, *MONTH_ABBREVIATIONS))
_HW = "|".join(HOUR_WORDS)
_NUM = r"\d[\d.,]*\d|\d"
_CUR_WORD = r"mxn|usd|eur|pesos?|dolares|dolar|dlls?|euros?|m\.n\.|mn"
_TLDS = (
    "com|net|org|mx|io|ly|co|me|app|link|info|xyz|es|gl|to|page|site|online|shop|store|biz|us|ai|dev|gg|ru|cn|top|click"
)
SEPARATOR = "\0"  # joins independent texts; nothing is matched across it
_URL_TAIL = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"'`\0]+"
    rf"|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'`\0]*)?"
)
ISO = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?(?![\d:])"
)
PHONE = re.compile(r"(?<![\w+])\+?\d(?:[ .()\-]{0,2}\d){9,14}(?!\w)")
TOKEN = re.compile(r"\b[a-z0-9]+(?:[-_][a-z0-9]+)*\b")
_NOT_ID = re.compile(r"[\d\-_]+(?:h|hr|hrs|hs|am|pm|ro|ra|er|do|da|to|ta|vo|va|no|na|mo|ma|o|a)?")
_MERIDIEM = r"a\.?\s?m\.?|p\.?\s?m\.?"
TIME_COLON = re.compile(
    rf"(?<![\d.,:])(\d{{1,2}}):(\d{{2}})(?::\d{{2}})?(?:\s*({_MERIDIEM})(?![a-z])|\s*(hrs?\.?|hs\.?|h|horas)(?![a-z]))?"
)
TIME_MERIDIEM = re.compile(rf"(?<![\d.,:])(\d{{1,2}})(?:\.(\d{{2}}))?\s*({_MERIDIEM})(?![a-z])")
TIME_HOURS = re.compile(r"(?<![\d.,:])(las?\s+)?(\d{1,2})\s*(hrs?\.?|hs\.?|h|horas)(?![a-z])")
TIME_WORDS = re.compile(
    rf"\b(?:(a|desde|hasta|de|entre|antes\s+de|despues\s+de|para)\s+)?las?\s+(\d{{1,2}}|{_HW})\b"
    r"(?:\s+y\s+(media|cuarto|\d{2})\b)?"
    r"(?:\s+(de\s+la\s+manana|de\s+la\s+tarde|de\s+la\s+noche|de\s+la\s+madrugada|del\s+mediodia|en\s+punto)\b)?"
)
NOON = re.compile(r"\b(mediodia|medianoche)\b")
DATE_DE = re.compile(
    rf"(?:\b({_WD}),?\s+)?(?:el\s+)?\b(\d{{1,2}}|primero)(?:o|ro|er|°)?\s+de\s+({_MO_OR_ABBR})\b\.?(?:\s+(?:de|del)\s+(\d{{4}}))?"
)
DATE_MONTH_FIRST = re.compile(rf"(?:\b({_WD}),?\s+)?\b({_MO})\s+(\d{{1,2}})\b(?:,?\s+(?:de\s+)?(\d{{4}})\b)?")
DATE_SLASH = re.compile(rf"(?:\b({_WD}),?\s+)?(?<![\d/])(\d{{1,2}})/(\d{{1,2}})(?:/(\d{{2}}|\d{{4}}))?(?![\d/])")
WEEKDAY_DAY = re.compile(rf"\b({_WD}),?\s+(?:el\s+)?(\d{{1,2}})\b")
WEEKDAY = re.compile(rf"\b({_WD})\b")
MONTH = re.compile(rf"\b({_MO})\b")
RELATIVE = re.compile(r"\b(pasado\s+manana|hoy|ayer|manana)\b")
_NOT_TOMORROW = ("la", "las", "esta", "cada", "una", "toda", "media", "por")
MONEY_SIGN_FIRST = re.compile(rf"(us\$|mxn\s?\$|\$|€)\s?({_NUM})(?:\s?({_CUR_WORD})(?![a-z]))?")
MONEY_SIGN_AFTER = re.compile(rf"(?<![\w.,])({_NUM})\s?({_CUR_WORD}|€)(?![a-z])")
PERCENT = re.compile(rf"(?<![\w.,])({_NUM})\s?(%|por\s+ciento)")
NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)(?:o|a|ro|ra|er|do|da|to|ta|vo|va|no|na|mo|ma|°)?(?!\w)")
NUMBER_WORD = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b")
CLAIM_WORD = {group: re.compile(rf"\b(?:{pattern})\b") for group, pattern in CLAIM_GROUPS.items()}


class _Scanner:
    """The text being read, with what earlier passes took blanked out."""

    def __init__(self, text: str) -> None:
        self.original = unicodedata.normalize("NFC", text)  # `fold` keeps offsets into the NFC form
        self._folded = fold(text)

    def take(self, pattern: re.Pattern[str], accept: Optional[Callable[[re.Match], bool]] = None) -> List[re.Match]:
        """The matches of `pattern` (that `accept` keeps), blanked out for the later passes."""
        text = self._folded
        matches = [m for m in pattern.finditer(text) if accept is None or accept(m)]
        if matches:
            # Blank with NUL, not spaces: a later `\s+` must not bridge what an earlier pass took.
            parts, last = [], 0
            for m in matches:
                parts += [text[last : m.start()], "\0" * (m.end() - m.start())]
                last = m.end()
            parts.append(text[last:])
            self._folded = "".join(parts)
        return matches

    def snippet(self, match: re.Match) -> str:
        return self.original[match.start() : match.end()].strip()


def normalize_url(url: str) -> str:
    """Compare links without scheme, "www.", trailing punctuation or slash; the path keeps its case."""
    cut = _URL_TAIL.search(url)
    url = (url[: cut.start()] if cut else url).rstrip(".,;:!?)]}'\"")
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host, _, path = url.partition("/")
    return (host.lower() + ("/" + path if path else "")).rstrip("/")


def normalize_id(token: str) -> str:
    return re.sub(r"[-_\s]", "", token).upper()


def _hour_value(raw: str) -> int:
    return HOUR_WORDS[raw] if raw in HOUR_WORDS else int(raw)


def _times(hour: int, minute: int, meridiem: str | None) -> FrozenSet[Hashable]:
    """Minutes after midnight for each reading of an hour; no meridiem keeps both 06:00 and 18:00."""
    if hour > 24 or minute > 59:
        return frozenset({("invalid", hour, minute)})
    hour %= 24
    if meridiem == "24h":
        hours = {hour}
    elif meridiem in ("am", "manana", "madrugada"):
        hours = {0 if hour == 12 else hour}
    elif meridiem in ("pm", "tarde", "noche"):
        hours = {hour + 12 if hour < 12 else hour}
    elif meridiem == "mediodia":
        hours = {hour + 12 if hour < 6 else hour}
    else:
        hours = {hour, hour + 12} if 0 < hour < 12 else {hour}
    return frozenset((h % 24) * 60 + minute for h in hours)


def _meridiem(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.replace(".", "").replace(" ", "")
    for key in ("am", "pm", "manana", "tarde", "noche", "madrugada", "mediodia"):
        if raw.endswith(key):
            return key
    return None


def _date(scan: _Scanner, m: re.Match, weekday: str | None, day: str, month: int, year: str | None) -> Claim:
    day_n = 1 if day == "primero" else int(day)
    year_n = None if not year else (int(year) + 2000 if len(year) == 2 else int(year))
    return Claim(
        "date",
        scan.snippet(m),
        frozenset({(month, day_n)}),
        year=year_n,
        weekday=WEEKDAYS[weekday] if weekday else None,
    )


def extract_claims(text: str) -> List[Claim]:
    """Every checkable fact in `text`, in pass order (links first, bare numbers and words last)."""
    scan = _Scanner(text)
    claims: List[Claim] = []
    add = claims.append
    for m in scan.take(EMAIL):
        add(Claim("email", scan.snippet(m), frozenset({scan.snippet(m).lower()})))
    for m in scan.take(URL):
        add(Claim("url", scan.snippet(m), frozenset({normalize_url(scan.snippet(m))})))
    for m in scan.take(ISO):
        add(Claim("date", scan.snippet(m), frozenset({(int(m[2]), int(m[3]))}), year=int(m[1])))
        if m[4]:
            add(Claim("time", scan.snippet(m), _times(int(m[4]), int(m[5]), "24h")))
    for m in scan.take(PHONE):
        add(Claim("phone", scan.snippet(m), frozenset({re.sub(r"\D", "", m[0])})))

    def is_id(m: re.Match) -> bool:
        token = m[0]
        return any(c.isdigit() for c in token) and any(c.isalpha() for c in token) and not _NOT_ID.fullmatch(token)

    for m in scan.take(TOKEN, is_id):
        add(Claim("id", scan.snippet(m), frozenset({normalize_id(scan.snippet(m))})))
    _extract_times(scan, add)
    _extract_dates(scan, add)
    _extract_amounts(scan, add)
    for m in scan.take(NUMBER_WORD):
        add(Claim("number_word", scan.snippet(m), frozenset({Decimal(NUMBER_WORDS[m[1]])})))
    for group, pattern in CLAIM_WORD.items():
        for m in scan.take(pattern):
            add(Claim("claim_word", scan.snippet(m), frozenset({group})))
    return claims


def _extract_times(scan: _Scanner, add: Callable[[Claim], None]) -> None:
    for m in scan.take(TIME_COLON):
        # "18:00" and "6:00 h" are a 24-hour clock; a bare "6:00" is often said for 6 pm too.
        meridiem = _meridiem(m[3]) or ("24h" if m[4] or int(m[1]) >= 12 else None)
        add(Claim("time", scan.snippet(m), _times(int(m[1]), int(m[2]), meridiem)))
    for m in scan.take(TIME_MERIDIEM):
        add(Claim("time", scan.snippet(m), _times(int(m[1]), int(m[2] or 0), _meridiem(m[3]))))
    for m in scan.take(TIME_HOURS):
        hour = int(m[2])
        duration = frozenset({Decimal(hour)}) if m[3] == "horas" and not m[1] else frozenset()
        add(Claim("time", scan.snippet(m), _times(hour, 0, "24h"), duration_of=duration))

    def is_time(m: re.Match) -> bool:
        return bool(m[1] or m[3] or m[4])

    for m in scan.take(TIME_WORDS, is_time):
        minute = {"media": 30, "cuarto": 15}.get(m[3] or "", int(m[3]) if (m[3] or "").isdigit() else 0)
        suffix = (m[4] or "").split()[-1] if m[4] else None
        add(
            Claim(
                "time",
                scan.snippet(m),
                _times(_hour_value(m[2]), minute, None if suffix == "punto" else suffix),
            )
        )
    for m in scan.take(NOON):
        add(Claim("time", scan.snippet(m), frozenset({12 * 60 if m[1] == "mediodia" else 0})))


def _extract_dates(scan: _Scanner, add: Callable[[Claim], None]) -> None:
    for m in scan.take(DATE_DE):
        add(_date(scan, m, m[1], m[2], MONTHS.get(m[3]) or MONTH_ABBREVIATIONS[m[3]], m[4]))
    for m in scan.take(DATE_MONTH_FIRST):
        add(_date(scan, m, m[1], m[3], MONTHS[m[2]], m[4]))
    for m in scan.take(DATE_SLASH, lambda m: 1 <= int(m[3]) <= 12 and 1 <= int(m[2]) <= 31):
        add(_date(scan, m, m[1], m[2], int(m[3]), m[4]))
    for m in scan.take(WEEKDAY_DAY):
        add(Claim("weekday_day", scan.snippet(m), frozenset({int(m[2])}), weekday=WEEKDAYS[m[1]]))
    for m in scan.take(WEEKDAY):
        add(Claim("weekday", scan.snippet(m), frozenset({WEEKDAYS[m[1]]})))
    for m in scan.take(MONTH):
        add(Claim("month", scan.snippet(m), frozenset({MONTHS[m[1]]})))

    def is_relative(m: re.Match) -> bool:
        if m[1] != "manana":
            return True
        before = m.string[: m.start()].split()
        return not before or before[-1] not in _NOT_TOMORROW

    for m in scan.take(RELATIVE, is_relative):
        add(Claim("relative_day", scan.snippet(m), frozenset({" ".join(m[1].split())})))


def _currency(*words: str | None) -> str | None:
    """The currency a sign or word names; "$" alone names none (pesos and dollars share it)."""
    for word in words:
        word = (word or "").replace(" ", "")
        family = CURRENCY_FAMILIES.get(word) or CURRENCY_FAMILIES.get(word.rstrip("$"))
        if family:
            return family
    return None


def _extract_amounts(scan: _Scanner, add: Callable[[Claim], None]) -> None:
    for m in scan.take(MONEY_SIGN_FIRST):
        add(Claim("money", scan.snippet(m), number_candidates(m[2]), currency=_currency(m[1], m[3])))
    for m in scan.take(MONEY_SIGN_AFTER):
        add(Claim("money", scan.snippet(m), number_candidates(m[1]), currency=_currency(m[2])))
    for m in scan.take(PERCENT):
        add(Claim("percent", scan.snippet(m), number_candidates(m[1])))
    for m in scan.take(NUMBER):
        add(
            Claim(
                "number",
                scan.snippet(m),
                number_candidates(m[1]),
                looks_like_money=is_two_decimal_amount(m[1]),
            )
        )
