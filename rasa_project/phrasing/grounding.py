"""The grounding check: the LLM may reword the template, never add or change a fact.

Pure functions (no I/O) so they are unit-tested alone. Every date, time, amount, number, id, phone and
link in the LLM's text must be found, after normalization, in the facts or the template; so must the
words that state money or status facts ("gratis", "descuento", "cancelada"). Anything else is
`grounding_failed` and the phraser sends the template instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, Hashable, List, Mapping, Set, Tuple, cast

from rasa_project.phrasing.claims import SEPARATOR, TOKEN, Claim, extract_claims, normalize_id
from rasa_project.phrasing.types import REASON_EMPTY_OUTPUT, REASON_GROUNDING_FAILED, REASON_TOO_LONG

MAX_REPLY_CHARS = 1600  # Twilio's WhatsApp body limit; the prompt asks for ~600
_MONEY_KEY = re.compile(
    r"price|precio|amount|monto|importe|total|cost|fee|tarifa|balance|saldo|deposit|anticipo|"
    r"payment|pago|due|adeudo|discount|descuento|refund|reembolso"
)


@dataclass(frozen=True)
class GroundingResult:
    ok: bool
    reason: str | None  # empty_output | too_long | grounding_failed; None when ok
    text: str  # the cleaned text (what would be sent)
    ungrounded: Tuple[str, ...] = ()  # the offending snippets, for the log


@dataclass
class Grounds:
    """Everything the sources state, normalized the same way as the LLM's claims."""

    values: Dict[str, Set[Hashable]] = field(default_factory=dict)
    date_years: Dict[Tuple[int, int], Set[int | None]] = field(default_factory=dict)
    date_weekdays: Dict[Tuple[int, int], Set[int]] = field(default_factory=dict)

    def of(self, kind: str) -> Set[Hashable]:
        return self.values.setdefault(kind, set())

    def add_claim(self, claim: Claim, money_context: bool = False) -> None:
        kind, numbers = claim.kind, self.of("number")
        self.of(kind).update(claim.values)
        if kind == "url":
            self.of("id").update(
                normalize_id(m[0]) for m in TOKEN.finditer(claim.snippet.lower()) if any(c.isdigit() for c in m[0])
            )
        elif kind == "id":
            numbers.update(Decimal(d) for d in re.findall(r"\d+", claim.snippet))
        elif kind == "date":
            for month_day in claim.values:
                month, day = cast(Tuple[int, int], month_day)
                self.date_years.setdefault((month, day), set()).add(claim.year)
                weekdays = self.date_weekdays.setdefault((month, day), set())
                if claim.weekday is not None:
                    weekdays.add(claim.weekday)
                if claim.year is not None:
                    weekdays.add(_weekday(claim.year, month, day))
                self.of("weekday").update(weekdays)
                self.of("month").add(month)
                numbers.update(Decimal(n) for n in (day, claim.year) if n is not None)
        elif kind == "weekday_day":
            self.of("weekday").add(claim.weekday)
            self.of("weekday_pair").update((claim.weekday, d) for d in claim.values)
            numbers.update(Decimal(d) for d in claim.values)  # type: ignore[arg-type]
        elif kind == "time":
            for minutes in claim.values:
                if isinstance(minutes, int):
                    hour = minutes // 60
                    numbers.update({Decimal(hour), Decimal(hour % 12 or 12)})
            numbers.update(claim.duration_of)
        elif kind in ("money", "percent", "number", "number_word"):
            numbers.update(claim.values)
            if kind == "money" or claim.looks_like_money or money_context:
                self.of("money").update(claim.values)
            if claim.currency:
                self.of("currency").add(claim.currency)
            if kind == "number_word":
                self.of("word").add(claim.snippet.lower())


def _weekday(year: int, month: int, day: int) -> int:
    try:
        return dt.date(year, month, day).weekday()
    except ValueError:
        return -1


def collect_grounds(facts: Mapping[str, Any], template_text: str) -> Grounds:
    """What the template and the facts (strings and numbers, nested anywhere) state."""
    grounds = Grounds()
    for claim in extract_claims(template_text):
        grounds.add_claim(claim)

    texts: Dict[bool, List[str]] = {False: [], True: []}  # fact strings, by "is it under a money key"

    def walk(value: Any, money_context: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, money_context or bool(_MONEY_KEY.search(str(key).lower())))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, money_context)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float, Decimal)):
            number = Decimal(str(value))
            grounds.of("number").add(number)
            if money_context:
                grounds.of("money").add(number)
        else:
            texts[money_context].append(str(value))

    walk(facts, False)
    for money_context, strings in texts.items():
        # One pass over all strings, NUL-separated (no pattern matches across a NUL): far cheaper than
        # one extraction per fact.
        for claim in extract_claims(SEPARATOR.join(strings)) if strings else ():
            grounds.add_claim(claim, money_context)
    return grounds


def is_grounded(claim: Claim, grounds: Grounds) -> bool:
    """Whether any reading of `claim` is stated by the sources."""
    kind = claim.kind
    if kind == "date":
        return all(_date_grounded(claim, month_day, grounds) for month_day in claim.values)  # type: ignore[arg-type]
    if kind == "weekday_day":
        day = next(iter(claim.values))
        if (claim.weekday, day) in grounds.of("weekday_pair"):
            return True
        return any(
            d == day and claim.weekday in grounds.date_weekdays.get((m, d), set()) for (m, d) in grounds.date_years
        )
    if kind == "time":
        numbers = grounds.of("number")
        return not claim.values.isdisjoint(grounds.of("time")) or any(d in numbers for d in claim.duration_of)
    if kind == "money":
        currency_ok = claim.currency is None or claim.currency in grounds.of("currency")
        return currency_ok and bool(claim.values & grounds.of("money"))
    if kind == "percent":
        return bool(claim.values & grounds.of("percent"))
    if kind == "number":
        return bool(claim.values & (grounds.of("number") | grounds.of("money")))
    if kind == "number_word":
        return bool(claim.values & grounds.of("number")) or claim.snippet.lower() in grounds.of("word")
    if kind == "phone":
        digits = next(iter(claim.values))
        return any(str(p)[-10:] == str(digits)[-10:] for p in grounds.of("phone"))
    return bool(claim.values & grounds.of(kind))  # url, email, id, weekday, month, relative_day, claim_word


def _date_grounded(claim: Claim, month_day: Tuple[int, int], grounds: Grounds) -> bool:
    years = grounds.date_years.get(month_day)
    if years is None:
        return False
    known_years = years - {None}
    if claim.year is not None and known_years and claim.year not in known_years:
        return False
    weekday = claim.weekday
    if weekday is None:
        return True
    known = grounds.date_weekdays.get(month_day, set())
    return weekday in known if known else weekday in grounds.of("weekday")


def find_ungrounded(text: str, facts: Mapping[str, Any], template_text: str) -> List[str]:
    """The snippets of `text` that state something the facts and the template do not."""
    grounds = collect_grounds(facts, template_text)
    return [claim.snippet for claim in extract_claims(text) if not is_grounded(claim, grounds)]


def clean_markdown(text: str) -> str:
    """WhatsApp shows markdown literally: drop headers and table rules, flatten table rows and links."""
    lines = []
    for line in text.strip().strip('"“”').strip().splitlines():
        stripped = line.strip()
        if re.fullmatch(r"\|?(?:\s*:?-{2,}:?\s*\|?)+", stripped) or re.fullmatch(r"(?:-{3,}|\*{3,}|_{3,})", stripped):
            continue
        if len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|"):
            line = " · ".join(cell.strip() for cell in stripped.strip("|").split("|") if cell.strip())
        lines.append(re.sub(r"^\s{0,3}#{1,6}\s+", "", line))
    cleaned = "\n".join(lines)
    cleaned = re.sub(r"\*\*(.+?)\*\*", r"*\1*", cleaned)
    cleaned = re.sub(r"__(.+?)__", r"_\1_", cleaned)
    cleaned = re.sub(r"\[([^\]\n]+)\]\((\S+?)\)", r"\1: \2", cleaned)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def check_reply(
    text: str | None, facts: Mapping[str, Any], template_text: str, *, max_chars: int = MAX_REPLY_CHARS
) -> GroundingResult:
    """Clean the LLM's text and decide whether it may be sent instead of the template."""
    cleaned = clean_markdown(text or "")
    if not cleaned:
        return GroundingResult(False, REASON_EMPTY_OUTPUT, cleaned)
    if len(cleaned) > max_chars:
        return GroundingResult(False, REASON_TOO_LONG, cleaned)
    ungrounded = find_ungrounded(cleaned, facts, template_text)
    if ungrounded:
        return GroundingResult(False, REASON_GROUNDING_FAILED, cleaned, tuple(ungrounded))
    return GroundingResult(True, None, cleaned)
