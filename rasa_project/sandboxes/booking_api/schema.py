"""Tables of the booking sandbox and its engine; any SQLAlchemy URL works (SQLite file by default).

Times are stored as naive UTC and rendered in the business timezone at the edge. Money is stored in
cents (SQLite has no decimal type). SQLite transactions start with `BEGIN IMMEDIATE` so concurrent
bookings queue for the write lock instead of failing with "database is locked" on lock upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

metadata = sa.MetaData()

services = sa.Table(
    "services",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("duration_minutes", sa.Integer, nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
)

packages = sa.Table(
    "packages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("sessions", sa.Integer, nullable=True),
    sa.Column("validity_days", sa.Integer, nullable=False),
    sa.Column("price_cents", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)

slots = sa.Table(
    "slots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_code", sa.String(32), sa.ForeignKey("services.code"), nullable=False),
    sa.Column("starts_at", sa.DateTime, nullable=False, index=True),
    sa.Column("ends_at", sa.DateTime, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False, default=0),
    sa.Column("instructor", sa.String(120), nullable=False),
    sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slots_booked_within_capacity"),
)

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("phone", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("sessions_remaining", sa.Integer, nullable=True),  # NULL = unlimited
    sa.Column("created_at", sa.DateTime, nullable=False),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id"), nullable=False, index=True),
    sa.Column("client_phone", sa.String(20), sa.ForeignKey("clients.phone"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("used_session", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("cancelled_at", sa.DateTime, nullable=True),
)
# One confirmed booking per client and slot, enforced by the database even under races.
sa.Index(
    "uq_bookings_active_client_slot",
    bookings.c.slot_id,
    bookings.c.client_phone,
    unique=True,
    sqlite_where=bookings.c.status == "confirmed",
    postgresql_where=bookings.c.status == "confirmed",
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_phone", sa.String(20), sa.ForeignKey("clients.phone"), nullable=False, index=True),
    sa.Column("package_id", sa.Integer, sa.ForeignKey("packages.id"), nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("paid_at", sa.DateTime, nullable=True),
)

# What the seed chose (e.g. which slot is full), so `summary` can be answered after a restart.
sandbox_meta = sa.Table(
    "sandbox_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(500), nullable=False),
)


def slot_view() -> sa.sql.Select:
    """Slots with their service name."""
    return sa.select(slots, services.c.name.label("service_name")).join(
        services, services.c.code == slots.c.service_code
    )


def booking_view() -> sa.sql.Select:
    """Bookings with the slot's times and service, as the contract's Booking needs them."""
    return sa.select(
        bookings,
        slots.c.service_code,
        slots.c.starts_at,
        slots.c.ends_at,
        services.c.name.label("service_name"),
    ).select_from(
        bookings.join(slots, slots.c.id == bookings.c.slot_id).join(
            services, services.c.code == slots.c.service_code
        )
    )


def purchase_view() -> sa.sql.Select:
    """Purchases with their package's code, name and sessions."""
    return sa.select(
        purchases,
        packages.c.code.label("package_code"),
        packages.c.name.label("package_name"),
        packages.c.sessions,
    ).select_from(purchases.join(packages, packages.c.id == purchases.c.package_id))


def create_sandbox_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder and serialized write transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, future=True, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    database = parsed.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, future=True, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
