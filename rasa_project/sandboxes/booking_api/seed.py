"""Demo data of the booking sandbox, laid out relative to "today" in the business timezone.

Slots cover the next 21 days, Monday to Saturday. The pilates slot at 18:00 TOMORROW is seeded full
(four walk-in clients hold its places) so the taken-slot path can be exercised; when tomorrow is a
Sunday (the studio is closed) the full slot is on the following Monday instead. Seeding is idempotent:
it only runs on an empty database, and `reset` wipes and re-seeds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rasa_project.sandboxes.booking_api.schema import (
    bookings,
    clients,
    packages,
    purchases,
    sandbox_meta,
    services,
    slots,
)

SEED_DAYS = 21
SUNDAY = 6

SERVICES = [
    # code, name, minutes, capacity, description, instructor, daily start times
    (
        "pilates",
        "Pilates Reformer",
        50,
        4,
        "Clase en máquina reformer, grupos reducidos.",
        "Carla Méndez",
        ["07:00", "09:00", "18:00", "19:00"],
    ),
    (
        "yoga",
        "Yoga Vinyasa",
        60,
        8,
        "Secuencias dinámicas sincronizadas con la respiración.",
        "Diego Ruiz",
        ["08:00", "19:00"],
    ),
    (
        "funcional",
        "Entrenamiento Funcional",
        45,
        10,
        "Fuerza y acondicionamiento en circuito.",
        "Sofía Torres",
        ["07:00", "20:00"],
    ),
    (
        "masaje",
        "Masaje Descontracturante",
        60,
        1,
        "Sesión individual de masaje terapéutico.",
        "Laura Gómez",
        [f"{hour:02d}:00" for hour in range(10, 17)],
    ),
]

PACKAGES = [
    ("suelta", "Clase suelta", 1, 7, 18000),
    ("bono5", "Bono 5 clases", 5, 30, 80000),
    ("bono10", "Bono 10 clases", 10, 60, 145000),
    ("mensual", "Mensual ilimitado", None, 30, 190000),
]

ANA = "+5215512345678"
MARTIN = "+5491155550000"
LUCIA = "+34600111222"
WALK_INS = [f"+52155000000{n}" for n in range(1, 5)]


def open_days_after(today: date, count: int) -> List[date]:
    """The next `count` days the studio opens (Sundays closed), starting tomorrow."""
    days = [today + timedelta(days=offset) for offset in range(1, count + 2)]
    return [day for day in days if day.weekday() != SUNDAY][:count]


def seed(conn: Connection, tz: ZoneInfo, now: datetime) -> None:
    """Insert the demo data; `now` is aware, stored times are naive UTC."""
    today = now.astimezone(tz).date()
    utc_now = now.astimezone(timezone.utc).replace(tzinfo=None)

    def at(day: date, hhmm: str) -> datetime:
        local = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz)
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    for position, (code, name, minutes, capacity, description, _, _) in enumerate(SERVICES):
        conn.execute(
            services.insert().values(
                code=code,
                name=name,
                duration_minutes=minutes,
                description=description,
                capacity=capacity,
                position=position,
            )
        )
    for code, name, sessions, validity, cents in PACKAGES:
        conn.execute(
            packages.insert().values(
                code=code,
                name=name,
                sessions=sessions,
                validity_days=validity,
                price_cents=cents,
                currency="MXN",
            )
        )

    slot_ids: Dict[Tuple[str, date, str], int] = {}
    for offset in range(SEED_DAYS):
        day = today + timedelta(days=offset)
        if day.weekday() == SUNDAY:
            continue
        for code, _, minutes, capacity, _, instructor, times in SERVICES:
            for hhmm in times:
                starts = at(day, hhmm)
                result = conn.execute(
                    slots.insert().values(
                        service_code=code,
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=minutes),
                        capacity=capacity,
                        booked=0,
                        instructor=instructor,
                    )
                )
                slot_ids[(code, day, hhmm)] = result.inserted_primary_key[0]

    people = [
        (ANA, "Ana López", "ana.lopez@example.com", 8, 60),
        (MARTIN, "Martín Pérez", "martin.perez@example.com", 4, 30),
        (LUCIA, "Lucía García", "lucia.garcia@example.com", 0, 3),
    ] + [(phone, f"Cliente de mostrador {n}", None, 0, 1) for n, phone in enumerate(WALK_INS, start=1)]
    for phone, name, email, sessions, days_ago in people:
        conn.execute(
            clients.insert().values(
                phone=phone,
                name=name,
                email=email,
                sessions_remaining=sessions,
                created_at=utc_now - timedelta(days=days_ago),
            )
        )

    def book(phone: str, key: Tuple[str, date, str], used_session: bool) -> None:
        slot_id = slot_ids[key]
        conn.execute(
            bookings.insert().values(
                slot_id=slot_id,
                client_phone=phone,
                status="confirmed",
                used_session=used_session,
                created_at=utc_now - timedelta(days=1),
            )
        )
        conn.execute(slots.update().where(slots.c.id == slot_id).values(booked=slots.c.booked + 1))

    first, second, third = open_days_after(today, 3)
    full_day = first  # tomorrow, or Monday when tomorrow is a Sunday
    for phone in WALK_INS:
        book(phone, ("pilates", full_day, "18:00"), used_session=False)
    book(ANA, ("yoga", second, "08:00"), used_session=True)
    book(ANA, ("masaje", third, "11:00"), used_session=True)
    book(MARTIN, ("funcional", first, "07:00"), used_session=True)

    bono10 = conn.execute(
        sa.select(packages.c.id, packages.c.price_cents).where(packages.c.code == "bono10")
    ).one()
    conn.execute(
        purchases.insert().values(
            client_phone=ANA,
            package_id=bono10.id,
            amount_cents=bono10.price_cents,
            currency="MXN",
            status="paid",
            created_at=utc_now - timedelta(days=10),
            paid_at=utc_now - timedelta(days=10),
        )
    )

    conn.execute(
        sandbox_meta.insert(),
        [
            {"key": "seeded_for", "value": today.isoformat()},
            {"key": "full_slot_id", "value": str(slot_ids[("pilates", full_day, "18:00")])},
        ],
    )


def is_seeded(conn: Connection) -> bool:
    return conn.execute(sa.select(sa.func.count()).select_from(services)).scalar_one() > 0


def summary(conn: Connection, tz: ZoneInfo) -> Dict[str, Any]:
    """What tests and the demo need to know about the seed: the full slot and the seeded clients."""
    meta = dict(conn.execute(sa.select(sandbox_meta.c.key, sandbox_meta.c.value)).all())
    full_id = int(meta["full_slot_id"])
    slot = conn.execute(sa.select(slots).where(slots.c.id == full_id)).one()
    starts = slot.starts_at.replace(tzinfo=timezone.utc).astimezone(tz)
    people: List[Dict[str, Any]] = []
    for phone in (ANA, MARTIN, LUCIA):
        row = conn.execute(sa.select(clients).where(clients.c.phone == phone)).one()
        confirmed = (
            conn.execute(
                sa.select(bookings.c.id)
                .where(bookings.c.client_phone == phone, bookings.c.status == "confirmed")
                .order_by(bookings.c.id)
            )
            .scalars()
            .all()
        )
        people.append(
            {
                "phone": row.phone,
                "name": row.name,
                "email": row.email,
                "sessions_remaining": row.sessions_remaining,
                "booking_ids": [f"RSV-{1000 + booking_id}" for booking_id in confirmed],
            }
        )

    def count(table: sa.Table) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    return {
        "seeded_for": meta["seeded_for"],
        "timezone": tz.key,
        "full_slot_id": full_id,
        "full_slot": {
            "id": full_id,
            "service_code": slot.service_code,
            "starts_at": starts.isoformat(),
            "capacity": slot.capacity,
            "booked": slot.booked,
            "note": "Pilates de mañana a las 18:00 (el lunes siguiente si mañana es domingo), lleno.",
        },
        "clients": people,
        "walk_in_clients": WALK_INS,
        "counts": {
            "services": count(services),
            "packages": count(packages),
            "slots": count(slots),
            "bookings": count(bookings),
            "purchases": count(purchases),
        },
    }
