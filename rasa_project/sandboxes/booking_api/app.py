"""The booking sandbox as an aiohttp application speaking `rasa_project/booking_api/openapi.yaml`.

Handlers only parse the request and call the store off the event loop (`asyncio.to_thread`), so a
slow database never stalls other requests; business rules live in `store.py`.
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timezone
from functools import partial
from typing import Any, AsyncIterator, Callable, Dict
from zoneinfo import ZoneInfo

from aiohttp import web

from rasa_project.sandboxes.booking_api import validation as v
from rasa_project.sandboxes.booking_api.controls import (
    SandboxControls,
    add_control_routes,
    build_middlewares,
    read_json,
)
from rasa_project.sandboxes.booking_api.schema import create_sandbox_engine
from rasa_project.sandboxes.booking_api.store import BookingStore

STORE = web.AppKey("store", BookingStore)
CONTROLS = web.AppKey("controls", SandboxControls)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(db_url: str, token: str, tz: str, now: Callable[[], datetime] = utc_now) -> web.Application:
    """Build the app; tables are created and seeded on start-up (idempotent), not here."""
    controls = SandboxControls()
    store = BookingStore(create_sandbox_engine(db_url), ZoneInfo(tz), now)
    app = web.Application(middlewares=build_middlewares(controls, token))
    app[STORE] = store
    app[CONTROLS] = controls

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await asyncio.to_thread(store.ensure_seeded)
        yield
        await asyncio.to_thread(store.engine.dispose)

    app.cleanup_ctx.append(lifecycle)
    r = app.router
    r.add_get("/services", list_services)
    r.add_get("/packages", list_packages)
    r.add_get("/schedule-slots", list_slots)
    r.add_get("/client/me", get_me)
    r.add_patch("/client/me", update_me)
    r.add_post("/clients", register_client)
    r.add_get("/client/bookings", list_bookings)
    r.add_post("/booking", create_booking)
    r.add_patch("/client/bookings/{id}", patch_booking)
    r.add_delete("/client/bookings/{id}", delete_booking)
    r.add_post("/client/purchase", purchase)
    r.add_get("/client/purchase-history", purchase_history)
    r.add_get("/admin/bookings", admin_bookings)
    r.add_get("/pay/{id}", pay_page)
    add_control_routes(
        app, controls, partial(asyncio.to_thread, store.reset), partial(asyncio.to_thread, store.summary)
    )
    return app


async def _run(request: web.Request, method: str, *args: Any) -> Any:
    return await asyncio.to_thread(getattr(request.app[STORE], method), *args)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def list_services(request: web.Request) -> web.Response:
    return _json(await _run(request, "list_services"))


async def list_packages(request: web.Request) -> web.Response:
    return _json(await _run(request, "list_packages"))


async def list_slots(request: web.Request) -> web.Response:
    q = request.query
    date_from = v.date_param(q, "date_from")
    date_to = v.date_param(q, "date_to")
    available_only = v.bool_param(q, "available_only", default=True)
    return _json(
        await _run(request, "list_slots", date_from, date_to, q.get("service") or None, available_only)
    )


async def get_me(request: web.Request) -> web.Response:
    return _json(await _run(request, "get_client", v.client_phone(request.headers)))


async def update_me(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    body = v.json_object(await read_json(request), allowed={"name", "email"})
    if not body:
        raise v.invalid({"body": "Indique name o email."})
    changes: Dict[str, Any] = {}
    if "name" in body:
        changes["name"] = v.name_field(body["name"])
    if "email" in body:
        changes["email"] = None if body["email"] is None else v.email_field(body["email"])
    return _json(await _run(request, "update_client", phone, changes))


async def register_client(request: web.Request) -> web.Response:
    body = v.json_object(
        await read_json(request), allowed={"phone", "name", "email"}, required={"phone", "name", "email"}
    )
    details: Dict[str, str] = {}
    values: Dict[str, str] = {}
    for field, parse in (("phone", v.phone_field), ("name", v.name_field), ("email", v.email_field)):
        try:
            values[field] = parse(body[field])
        except v.ApiError as exc:  # collect every bad field, not just the first
            details.update(exc.details)
    if details:
        raise v.invalid(details)
    client = await _run(request, "register_client", values["phone"], values["name"], values["email"])
    return _json(client, status=201)


async def list_bookings(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    scope = v.choice_param(request.query, "scope", ("upcoming", "all"), default="upcoming")
    return _json(await _run(request, "list_bookings", phone, scope == "upcoming"))


async def create_booking(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    body = v.json_object(await read_json(request), allowed={"slot_id"}, required={"slot_id"})
    booking = await _run(request, "create_booking", phone, v.int_field(body, "slot_id"))
    return _json(booking, status=201)


async def patch_booking(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    body = v.json_object(await read_json(request), allowed={"status"}, required={"status"})
    if body["status"] != "cancelled":
        raise v.invalid({"status": 'Solo se admite "cancelled".'})
    return _json(await _run(request, "cancel_booking", phone, request.match_info["id"]))


async def delete_booking(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    return _json(await _run(request, "cancel_booking", phone, request.match_info["id"]))


async def purchase(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    body = v.json_object(await read_json(request), allowed={"package_id"}, required={"package_id"})
    created = await _run(request, "purchase", phone, v.int_field(body, "package_id"), _base_url(request))
    return _json(created, status=201)


async def purchase_history(request: web.Request) -> web.Response:
    phone = v.client_phone(request.headers)
    return _json(await _run(request, "purchase_history", phone, _base_url(request)))


async def admin_bookings(request: web.Request) -> web.Response:
    day = v.date_param(request.query, "date", default=request.app[STORE].today())
    return _json(await _run(request, "admin_bookings", day, request.query.get("service") or None))


async def pay_page(request: web.Request) -> web.Response:
    """The demo's payment: opening the link pays the purchase (no card data anywhere)."""
    try:
        paid = await _run(request, "pay", request.match_info["id"], _base_url(request))
    except v.ApiError as exc:
        return web.Response(
            text=_page("Pago no encontrado", exc.message), content_type="text/html", status=exc.status
        )
    headline = {"paid": "¡Pago recibido!", "expired": "Enlace de pago vencido"}.get(
        paid["status"], "Pago pendiente"
    )
    text = f"{paid['package_name']}: {paid['amount']} {paid['currency']} ({paid['id']})."
    return web.Response(text=_page(headline, text), content_type="text/html")


def _page(title: str, text: str) -> str:
    return (
        f'<!doctype html><html lang="es"><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f"<p>Puedes volver a WhatsApp.</p></body></html>"
    )
