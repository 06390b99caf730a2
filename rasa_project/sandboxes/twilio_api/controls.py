"""Test controls under `/_sandbox/` (no auth): read what reached "Twilio", script faults and outcomes.

They are not part of Twilio's API; they let a test or the terminal simulator see the bot's replies
(long-polling instead of sleeping), make the next create calls fail or stall, and make a recipient
undeliverable, without touching the code under test.

`POST /_sandbox/delivery {"to", "final_status"?, "error_code"?, "error_message"?}` sets how every later
message to `to` ends. Without `final_status`, a known code picks what Twilio does with it:

| code  | Twilio's outcome                                      | here                                  |
|-------|-------------------------------------------------------|---------------------------------------|
| 21610 | create refused, HTTP 400 (recipient replied STOP)     | `rejected`: 400 at create, no message |
| 63003 | accepted, then `failed` (no such WhatsApp user)       | `failed` via the status callback      |
| 63016 | accepted, then `failed` (outside the 24-hour window)  | `failed` via the status callback      |
| 63024 | accepted, then `failed` (invalid message recipient)   | `failed` via the status callback      |
| other | —                                                     | `undelivered` (as before)             |

`final_status` may also be given explicitly: `delivered`, `read`, `failed`, `undelivered`, `rejected`.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.twilio_api.errors import DELIVERY_ERRORS
from rasa_project.sandboxes.twilio_api.store import DeliveryRule, Fault, SandboxStore

MAX_WAIT_SECONDS = 60.0
FINAL_STATUSES = ("delivered", "read", "failed", "undelivered", "rejected")
DEFAULT_DELIVERY_ERRORS = DELIVERY_ERRORS
TWILIO_OUTCOMES = {21610: "rejected", 63003: "failed", 63016: "failed", 63024: "failed"}
DEFAULT_CODES = {"rejected": 21610, "failed": 30008, "undelivered": 30008}


def bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


def recipient(raw: str | None) -> str | None:
    """`whatsapp:+52...` arrives as `whatsapp: 52...` when the caller forgot to escape the `+`."""
    if raw is None or raw == "":
        return None
    return raw.replace(" ", "+")


async def json_object(request: web.Request) -> Dict[str, Any]:
    try:
        payload = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {exc}"}),
                                 content_type="application/json") from exc
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected a JSON object"}),
                                 content_type="application/json")
    return payload


def add_control_routes(app: web.Application, store: SandboxStore) -> None:
    """Register the `/_sandbox/*` routes on `app`, bound to `store`."""

    async def list_messages(request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT_SECONDS)
        except ValueError:
            return bad_request("`after` must be an integer and `wait` a number of seconds")
        messages = await store.wait_for(recipient(request.query.get("to")), after, wait)
        return web.json_response({"messages": messages, "last_index": max(after, store.last_index)})

    async def clear_messages(_: web.Request) -> web.Response:
        store.clear_messages()
        return web.Response(status=204)

    async def add_faults(request: web.Request) -> web.Response:
        payload = await json_object(request)
        outcomes = payload.get("outcomes")
        if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
            return bad_request('expected {"outcomes": [{"status": 500}, {"delay_ms": 3000}, ...]}')
        try:
            faults = [Fault.from_json(outcome, recipient(payload.get("to"))) for outcome in outcomes]
        except (TypeError, ValueError) as exc:
            return bad_request(f"invalid outcome: {exc}")
        store.faults.extend(faults)
        return web.json_response({"pending": len(store.faults)})

    async def list_faults(_: web.Request) -> web.Response:
        return web.json_response({"pending": [vars(fault) for fault in store.faults]})

    async def clear_faults(_: web.Request) -> web.Response:
        store.faults.clear()
        return web.Response(status=204)

    async def set_delivery(request: web.Request) -> web.Response:
        payload = await json_object(request)
        to = recipient(payload.get("to"))
        try:
            code = int(payload["error_code"]) if payload.get("error_code") is not None else None
        except (TypeError, ValueError):
            return bad_request("`error_code` must be an integer")
        default_status = TWILIO_OUTCOMES.get(code, "undelivered") if code is not None else "undelivered"
        final_status = payload.get("final_status") or default_status
        if not to or final_status not in FINAL_STATUSES:
            expected = f'{{"to": "whatsapp:+...", "final_status": one of {FINAL_STATUSES}}}'
            return bad_request(f"expected {expected}")
        if final_status in ("delivered", "read") and code is None:
            store.delivery_rules.pop(to, None)
            if final_status == "read":
                store.delivery_rules[to] = DeliveryRule("read", 0, "")
            return web.json_response({"to": to, "final_status": final_status})
        error_code = code if code is not None else DEFAULT_CODES.get(final_status, 30008)
        message = payload.get("error_message") or DEFAULT_DELIVERY_ERRORS.get(error_code, "Unknown error")
        store.delivery_rules[to] = DeliveryRule(final_status, error_code, message)
        return web.json_response({"to": to, "final_status": final_status, "error_code": error_code})

    async def clear_delivery(request: web.Request) -> web.Response:
        to = recipient(request.query.get("to"))
        if to is None:
            store.delivery_rules.clear()
        else:
            store.delivery_rules.pop(to, None)
        return web.Response(status=204)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(store.snapshot_stats())

    async def reset_stats(_: web.Request) -> web.Response:
        store.reset_stats()
        return web.Response(status=204)

    app.router.add_get("/_sandbox/messages", list_messages)
    app.router.add_delete("/_sandbox/messages", clear_messages)
    app.router.add_post("/_sandbox/faults", add_faults)
    app.router.add_get("/_sandbox/faults", list_faults)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_post("/_sandbox/delivery", set_delivery)
    app.router.add_delete("/_sandbox/delivery", clear_delivery)
    app.router.add_get("/_sandbox/stats", stats)
    app.router.add_delete("/_sandbox/stats", reset_stats)
