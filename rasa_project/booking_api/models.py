"""Typed results of the booking API (pydantic 1), mirroring the schemas of `openapi.yaml`.

Datetimes must carry their offset (the API speaks in the business timezone) and money is `Decimal`,
so the actions never mix naive datetimes or round floats. Unknown extra fields are ignored so the API
can grow without breaking the bot.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, validator


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("datetime without UTC offset")
    return value


class _ApiModel(BaseModel):
    class Config:
        allow_mutation = False
        extra = "ignore"


class Service(_ApiModel):
    code: str
    name: str
    duration_minutes: int
    description: str


class Package(_ApiModel):
    id: int
    code: str
    name: str
    sessions: int | None  # None = unlimited
    validity_days: int
    price: Decimal
    currency: str


class Slot(_ApiModel):
    id: int
    service_code: str
    service_name: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    available: int
    instructor: str

    _aware = validator("starts_at", "ends_at", allow_reuse=True)(_aware)


class ClientProfile(_ApiModel):
    phone: str
    name: str
    email: str | None
    sessions_remaining: int | None  # None = unlimited
    created_at: datetime

    _aware = validator("created_at", allow_reuse=True)(_aware)


class Booking(_ApiModel):
    id: str
    slot_id: int
    service_code: str
    service_name: str
    starts_at: datetime
    ends_at: datetime
    status: str  # confirmed | cancelled
    created_at: datetime
    cancelled_at: datetime | None
    client_phone: str

    _aware = validator("starts_at", "ends_at", "created_at", "cancelled_at", allow_reuse=True)(_aware)

    @validator("status")
    def _known_status(cls, value: str) -> str:
        if value not in {"confirmed", "cancelled"}:
            raise ValueError(f"unknown booking status {value!r}")
        return value

    @property
    def is_active(self) -> bool:
        return self.status == "confirmed"


class Purchase(_ApiModel):
    id: str
    package_id: int
    package_code: str
    package_name: str
    amount: Decimal
    currency: str
    status: str  # pending | paid | expired
    payment_url: str
    created_at: datetime

    _aware = validator("created_at", allow_reuse=True)(_aware)

    @validator("status")
    def _known_status(cls, value: str) -> str:
        if value not in {"pending", "paid", "expired"}:
            raise ValueError(f"unknown purchase status {value!r}")
        return value
