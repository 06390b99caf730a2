"""Persistence and rules of the booking sandbox (synchronous; the app runs it via `asyncio.to_thread`).

Capacity is enforced by one conditional `UPDATE slots SET booked = booked + 1 WHERE booked < capacity`,
atomic on every database, so two clients racing for the last place cannot both win; a partial unique
index stops the same client booking a slot twice. Results are JSON-ready dicts in the contract's shape.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Dict, List
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from rasa_project.sandboxes.booking_api import seed as seeding
from rasa_project.sandboxes.booking_api.purchases import PurchaseRules
from rasa_project.sandboxes.booking_api.render import Renderer
from rasa_project.sandboxes.booking_api.schema import (
    booking_view,
    bookings,
    clients,
    metadata,
    packages,
    services,
    slot_view,
    slots,
)
from rasa_project.sandboxes.booking_api.validation import (
    BOOKING_OFFSET,
    BOOKING_PREFIX,
    conflict,
    invalid,
    not_found,
    public_id,
    row_id,
)


class BookingStore(PurchaseRules):
    """The sandbox's data and business rules over one SQLAlchemy engine."""

    def __init__(self, engine: Engine, tz: ZoneInfo, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.tz = tz
        self._now = now
        self.render = Renderer(tz, self.utc_now)

    # -- time helpers ----------------------------------------------------------------------------

    def utc_now(self) -> datetime:
        return self._now().astimezone(timezone.utc).replace(tzinfo=None)

    def today(self) -> date:
        return self._now().astimezone(self.tz).date()

    def _day_start_utc(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(timezone.utc).replace(tzinfo=None)

    # -- lifecycle -------------------------------------------------------------------------------

    def ensure_seeded(self) -> bool:
        """Create tables and seed an empty database; True when it seeded."""
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            if seeding.is_seeded(conn):
                return False
            seeding.seed(conn, self.tz, self._now())
            return True

    def reset(self) -> Dict[str, Any]:
        metadata.drop_all(self.engine)
        self.ensure_seeded()
        return self.summary()

    def summary(self) -> Dict[str, Any]:
        with self.engine.connect() as conn:
            return seeding.summary(conn, self.tz)

    # -- catalogue -------------------------------------------------------------------------------

    def list_services(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(services).order_by(services.c.position)).all()
        return [
            {
                "code": r.code,
                "name": r.name,
                "duration_minutes": r.duration_minutes,
                "description": r.description,
            }
            for r in rows
        ]

    def list_packages(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(packages).order_by(packages.c.id)).all()
        return [self.render.package(r) for r in rows]

    def list_slots(
        self, date_from: date, date_to: date, service: str | None, available_only: bool
    ) -> List[Dict[str, Any]]:
        if date_to < date_from:
            raise invalid({"date_to": "Debe ser igual o posterior a date_from."})
        if (date_to - date_from).days > 62:
            raise invalid({"date_to": "El rango admite como máximo 62 días."})
        query = slot_view().where(
            slots.c.starts_at >= self._day_start_utc(date_from),
            slots.c.starts_at < self._day_start_utc(date_to + timedelta(days=1)),
        )
        if service:
            query = query.where(slots.c.service_code == service)
        if available_only:
            query = query.where(slots.c.booked < slots.c.capacity, slots.c.starts_at > self.utc_now())
        with self.engine.connect() as conn:
            if (
                service
                and conn.execute(sa.select(services.c.code).where(services.c.code == service)).first() is None
            ):
                raise invalid({"service": f"Servicio desconocido: {service}."})
            rows = conn.execute(query.order_by(slots.c.starts_at, slots.c.id)).all()
        return [self.render.slot(r) for r in rows]

    # -- clients ---------------------------------------------------------------------------------

    def get_client(self, phone: str) -> Dict[str, Any]:
        with self.engine.connect() as conn:
            return self.render.client(self._client_row(conn, phone))

    def register_client(self, phone: str, name: str, email: str) -> Dict[str, Any]:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(clients.c.phone).where(clients.c.phone == phone)).first() is not None:
                raise conflict("client_exists", "Ya existe un cliente con ese teléfono.", phone=phone)
            try:
                conn.execute(
                    clients.insert().values(
                        phone=phone, name=name, email=email, sessions_remaining=0, created_at=self.utc_now()
                    )
                )
            except sa.exc.IntegrityError:  # registered concurrently
                raise conflict(
                    "client_exists", "Ya existe un cliente con ese teléfono.", phone=phone
                ) from None
            return self.render.client(self._client_row(conn, phone))

    def update_client(self, phone: str, changes: Dict[str, Any]) -> Dict[str, Any]:
        with self.engine.begin() as conn:
            self._client_row(conn, phone)
            conn.execute(clients.update().where(clients.c.phone == phone).values(**changes))
            return self.render.client(self._client_row(conn, phone))

    # -- bookings --------------------------------------------------------------------------------

    def list_bookings(self, phone: str, upcoming_only: bool) -> List[Dict[str, Any]]:
        query = booking_view().where(bookings.c.client_phone == phone)
        if upcoming_only:
            query = query.where(bookings.c.status == "confirmed", slots.c.starts_at > self.utc_now())
        with self.engine.connect() as conn:
            self._client_row(conn, phone)
            rows = conn.execute(query.order_by(slots.c.starts_at, bookings.c.id)).all()
        return [self.render.booking(r) for r in rows]

    def create_booking(self, phone: str, slot_id: int) -> Dict[str, Any]:
        now = self.utc_now()
        with self.engine.begin() as conn:
            client = self._client_row(conn, phone)
            slot = conn.execute(sa.select(slots).where(slots.c.id == slot_id)).first()
            if slot is None:
                raise not_found("slot_not_found", "Ese horario no existe.", slot_id=slot_id)
            if slot.starts_at <= now:
                raise invalid({"slot_id": "Ese horario ya empezó o pasó."})
            duplicate = conn.execute(
                sa.select(bookings.c.id).where(
                    bookings.c.slot_id == slot_id,
                    bookings.c.client_phone == phone,
                    bookings.c.status == "confirmed",
                )
            ).first()
            if duplicate is not None:
                raise conflict(
                    "already_booked",
                    "Ya tienes una reserva en ese horario.",
                    booking_id=public_id(BOOKING_PREFIX, BOOKING_OFFSET, duplicate.id),
                )
            taken = conn.execute(
                slots.update()
                .where(slots.c.id == slot_id, slots.c.booked < slots.c.capacity)
                .values(booked=slots.c.booked + 1)
            )
            if taken.rowcount != 1:
                raise conflict("slot_full", "Ese horario ya está completo.", slot_id=slot_id)
            uses_session = client.sessions_remaining is not None and client.sessions_remaining > 0
            if uses_session:
                conn.execute(
                    clients.update()
                    .where(clients.c.phone == phone)
                    .values(sessions_remaining=clients.c.sessions_remaining - 1)
                )
            try:
                inserted = conn.execute(
                    bookings.insert().values(
                        slot_id=slot_id,
                        client_phone=phone,
                        status="confirmed",
                        used_session=uses_session,
                        created_at=now,
                    )
                )
            except sa.exc.IntegrityError:  # the same client double-tapped: the unique index caught it
                raise conflict("already_booked", "Ya tienes una reserva en ese horario.") from None
            return self.render.booking(self._booking_row(conn, inserted.inserted_primary_key[0]))

    def cancel_booking(self, phone: str, booking_ref: str) -> Dict[str, Any]:
        with self.engine.begin() as conn:
            self._client_row(conn, phone)
            booking_id = row_id(BOOKING_PREFIX, BOOKING_OFFSET, booking_ref)
            row = self._booking_row(conn, booking_id) if booking_id is not None else None
            if row is None or booking_id is None or row.client_phone != phone:
                raise not_found("booking_not_found", "No encontramos esa reserva.", booking_id=booking_ref)
            if row.status == "cancelled":
                raise conflict(
                    "already_cancelled", "Esa reserva ya estaba cancelada.", booking_id=booking_ref
                )
            if row.starts_at <= self.utc_now():
                raise invalid({"booking_id": "No se puede cancelar una sesión que ya empezó o pasó."})
            cancelled = conn.execute(
                bookings.update()
                .where(bookings.c.id == booking_id, bookings.c.status == "confirmed")
                .values(status="cancelled", cancelled_at=self.utc_now())
            )
            if cancelled.rowcount != 1:  # cancelled concurrently
                raise conflict(
                    "already_cancelled", "Esa reserva ya estaba cancelada.", booking_id=booking_ref
                )
            conn.execute(slots.update().where(slots.c.id == row.slot_id).values(booked=slots.c.booked - 1))
            if row.used_session:
                conn.execute(
                    clients.update()
                    .where(clients.c.phone == phone, clients.c.sessions_remaining.isnot(None))
                    .values(sessions_remaining=clients.c.sessions_remaining + 1)
                )
            return self.render.booking(self._booking_row(conn, booking_id))

    def admin_bookings(self, day: date, service: str | None) -> List[Dict[str, Any]]:
        query = booking_view().where(
            slots.c.starts_at >= self._day_start_utc(day),
            slots.c.starts_at < self._day_start_utc(day + timedelta(days=1)),
        )
        if service:
            query = query.where(slots.c.service_code == service)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(slots.c.starts_at, bookings.c.id)).all()
        return [self.render.booking(r) for r in rows]

    # -- queries and rendering -------------------------------------------------------------------

    def _client_row(self, conn: sa.engine.Connection, phone: str) -> Row:
        row = conn.execute(sa.select(clients).where(clients.c.phone == phone)).first()
        if row is None:
            raise not_found(
                "client_not_found", "No hay ningún cliente registrado con ese teléfono.", phone=phone
            )
        return row

    def _booking_row(self, conn: sa.engine.Connection, booking_id: int) -> Row | None:
        return conn.execute(booking_view().where(bookings.c.id == booking_id)).first()
