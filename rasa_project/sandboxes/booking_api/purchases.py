"""Package purchases of the booking sandbox: a purchase starts pending with a payment link; opening the
link (`GET /pay/<id>`) is the demo's payment and credits the package's sessions (null = unlimited).
The bot never sees card data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from rasa_project.sandboxes.booking_api.render import Renderer
from rasa_project.sandboxes.booking_api.schema import clients, packages, purchase_view, purchases
from rasa_project.sandboxes.booking_api.validation import PURCHASE_OFFSET, PURCHASE_PREFIX, not_found, row_id


class PurchaseRules:
    """Mixed into `BookingStore`, which provides the engine, clock, renderer and client lookup."""

    engine: Engine
    render: Renderer
    utc_now: Callable[[], datetime]
    _client_row: Callable[[Connection, str], Row]

    def purchase(self, phone: str, package_id: int, base_url: str) -> Dict[str, Any]:
        with self.engine.begin() as conn:
            self._client_row(conn, phone)
            package = conn.execute(sa.select(packages).where(packages.c.id == package_id)).first()
            if package is None:
                raise not_found("package_not_found", "Ese paquete no existe.", package_id=package_id)
            inserted = conn.execute(
                purchases.insert().values(
                    client_phone=phone,
                    package_id=package_id,
                    amount_cents=package.price_cents,
                    currency=package.currency,
                    status="pending",
                    created_at=self.utc_now(),
                )
            )
            return self.render.purchase(self._purchase_row(conn, inserted.inserted_primary_key[0]), base_url)

    def purchase_history(self, phone: str, base_url: str) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            self._client_row(conn, phone)
            rows = conn.execute(
                purchase_view()
                .where(purchases.c.client_phone == phone)
                .order_by(purchases.c.created_at.desc(), purchases.c.id.desc())
            ).all()
        return [self.render.purchase(r, base_url) for r in rows]

    def pay(self, purchase_ref: str, base_url: str) -> Dict[str, Any]:
        """The demo's payment page: a pending, unexpired purchase becomes paid and credits sessions."""
        with self.engine.begin() as conn:
            purchase_id = row_id(PURCHASE_PREFIX, PURCHASE_OFFSET, purchase_ref)
            row = self._purchase_row(conn, purchase_id) if purchase_id is not None else None
            if row is None or purchase_id is None:
                raise not_found("purchase_not_found", "No encontramos ese pago.", purchase_id=purchase_ref)
            if self.render.purchase_status(row) == "pending":
                conn.execute(
                    purchases.update()
                    .where(purchases.c.id == purchase_id)
                    .values(status="paid", paid_at=self.utc_now())
                )
                credit = clients.c.sessions_remaining + row.sessions if row.sessions is not None else None
                conn.execute(
                    clients.update()
                    .where(clients.c.phone == row.client_phone, clients.c.sessions_remaining.isnot(None))
                    .values(sessions_remaining=credit)
                )
                row = self._purchase_row(conn, purchase_id)
            return self.render.purchase(row, base_url)

    def _purchase_row(self, conn: sa.engine.Connection, purchase_id: int) -> Row | None:
        return conn.execute(purchase_view().where(purchases.c.id == purchase_id)).first()
