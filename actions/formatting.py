"""Spanish wording of facts: dates, money, bulleted lists. Pure functions, no I/O."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

LOCALE = "es"


def when_text(moment: datetime, tz: str) -> str:
    """'viernes 27 de noviembre, 18:00' in the business time zone."""
    local = moment.astimezone(ZoneInfo(tz))
    return format_datetime(local, "EEEE d 'de' MMMM, HH:mm", locale=LOCALE)


def day_text(day: date) -> str:
    """'viernes 27 de noviembre'."""
    return format_date(day, "EEEE d 'de' MMMM", locale=LOCALE)


def time_text(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def money_text(amount: Decimal, currency: str) -> str:
    """'$1,450.00 MXN': the symbol alone is ambiguous between pesos and dollars."""
    locale = "es_MX" if currency == "MXN" else LOCALE
    return f"{format_currency(amount, currency, locale=locale)} {currency}"


def bulleted(lines: Iterable[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def join_es(items: Sequence[str]) -> str:
    """'a, b y c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " y " + items[-1]


def first_name(full_name: str | None) -> str | None:
    if not full_name:
        return None
    return full_name.strip().split()[0] if full_name.strip() else None
