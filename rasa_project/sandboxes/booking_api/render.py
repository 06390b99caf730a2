"""JSON rendering of the sandbox's rows in the contract's shapes: times in the business timezone with
their offset, money as decimal strings, public ids (`RSV-1001`, `PAY-2001`) instead of row numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Dict
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Row

from rasa_project.sandboxes.booking_api.validation import (
    BOOKING_OFFSET,
    BOOKING_PREFIX,
    PURCHASE_OFFSET,
    PURCHASE_PREFIX,
    public_id,
)

PAYMENT_WINDOW = timedelta(hours=24)  # a pending payment link expires after this


class Renderer:
    def __init__(self, tz: ZoneInfo, utc_now: Callable[[], datetime]) -> None:
        self.tz = tz
        self._utc_now = utc_now

    def iso(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc).astimezone(self.tz).isoformat(timespec="seconds")

    def purchase_status(self, row: Row) -> str:
        if row.status == "pending" and row.created_at + PAYMENT_WINDOW < self._utc_now():
            return "expired"
        return row.status

    @staticmethod
    def _money(cents: int) -> str:
        return str((Decimal(cents) / 100).quantize(Decimal("0.01")))

    def package(self, r: Row) -> Dict[str, Any]:
        return {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "sessions": r.sessions,
            "validity_days": r.validity_days,
            "price": self._money(r.price_cents),
            "currency": r.currency,
        }

    def slot(self, r: Row) -> Dict[str, Any]:
        return {
            "id": r.id,
            "service_code": r.service_code,
            "service_name": r.service_name,
            "starts_at": self.iso(r.starts_at),
            "ends_at": self.iso(r.ends_at),
            "capacity": r.capacity,
            "booked": r.booked,
            "available": r.capacity - r.booked,
            "instructor": r.instructor,
        }

    def client(self, r: Row) -> Dict[str, Any]:
        return {
            "phone": r.phone,
            "name": r.name,
            "email": r.email,
            "sessions_remaining": r.sessions_remaining,
            "created_at": self.iso(r.created_at),
        }

    def booking(self, r: Row) -> Dict[str, Any]:
        return {
            "id": public_id(BOOKING_PREFIX, BOOKING_OFFSET, r.id),
            "slot_id": r.slot_id,
            "service_code": r.service_code,
            "service_name": r.service_name,
            "starts_at": self.iso(r.starts_at),
            "ends_at": self.iso(r.ends_at),
            "status": r.status,
            "created_at": self.iso(r.created_at),
            "cancelled_at": self.iso(r.cancelled_at),
            "client_phone": r.client_phone,
        }

    def purchase(self, r: Row, base_url: str) -> Dict[str, Any]:
        purchase_id = public_id(PURCHASE_PREFIX, PURCHASE_OFFSET, r.id)
        return {
            "id": purchase_id,
            "package_id": r.package_id,
            "package_code": r.package_code,
            "package_name": r.package_name,
            "amount": self._money(r.amount_cents),
            "currency": r.currency,
            "status": self.purchase_status(r),
            "payment_url": f"{base_url.rstrip('/')}/pay/{purchase_id}",
            "created_at": self.iso(r.created_at),
        }
