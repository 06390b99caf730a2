"""WhatsApp's 24-hour customer service window, on the sandbox clock.

A business may send free-form WhatsApp messages (Body, media, or Content that is not an approved
template) only within 24 hours of the recipient's last inbound message. Twilio accepts such a send
(201, `queued`) and then reports it `failed` with ErrorCode 63016; an approved template sent by
ContentSid goes through at any time. SMS recipients (no `whatsapp:` prefix) have no window.

The sandbox never sees inbound traffic (the simulator posts straight to the bot), so whoever plays the
customer tells it: `POST /_sandbox/inbound {"from": "whatsapp:+52...", "at"?: iso}`.

Test controls (no auth):
- `POST /_sandbox/inbound {from, at?}` records an inbound message (at the sandbox's now by default);
  `GET /_sandbox/inbound` lists each recipient's last inbound and whether the window is open;
  `DELETE /_sandbox/inbound[?from=...]` forgets one recipient or all.
- `POST /_sandbox/window {"enforce": true|false}` switches the rule (it starts as `create_app` /
  `--window` set it, `ENFORCED_BY_DEFAULT` otherwise); `GET /_sandbox/window` shows it.
- `POST /_sandbox/clock {"offset_seconds": 90000}` or `{"now": iso}` moves the sandbox's now;
  `GET /_sandbox/clock` reads it; `DELETE /_sandbox/clock` goes back to real time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.twilio_api.clock import SandboxClock, iso, parse_iso
from rasa_project.sandboxes.twilio_api.controls import bad_request, json_object, recipient

WINDOW = timedelta(hours=24)
# Off until every caller that plays the customer reports inbound: tests/connector and tests/scale (and
# the local stack of the e2e suite) reply to recipients they never announce and assert `delivered` /
# never-`failed` outbound rows. Flip here to turn the rule on everywhere.
ENFORCED_BY_DEFAULT = False


def is_whatsapp(address: str) -> bool:
    return address.startswith("whatsapp:")


@dataclass
class CustomerWindow:
    """Each WhatsApp recipient's last inbound message and whether the window rule is enforced."""

    clock: SandboxClock
    enforce: bool = True
    last_inbound: Dict[str, datetime] = field(default_factory=dict)

    def record_inbound(self, address: str, at: datetime | None = None) -> datetime:
        when = at or self.clock.now()
        self.last_inbound[address] = when
        return when

    def is_open(self, address: str) -> bool:
        """True for SMS, and for WhatsApp within 24 h of the last inbound (never wrote: closed)."""
        if not is_whatsapp(address):
            return True
        last = self.last_inbound.get(address)
        return last is not None and self.clock.now() - last < WINDOW

    def blocks(self, address: str, freeform: bool) -> bool:
        """Whether Twilio would fail this send with 63016."""
        return self.enforce and freeform and not self.is_open(address)

    def describe(self, address: str) -> Dict[str, Any]:
        last = self.last_inbound.get(address)
        return {
            "from": address,
            "last_inbound": iso(last) if last else None,
            "window_open": self.is_open(address),
            "window_closes_at": iso(last + WINDOW) if last else None,
        }


def add_window_routes(app: web.Application, window: CustomerWindow) -> None:
    """Register `/_sandbox/inbound`, `/_sandbox/window` and `/_sandbox/clock` on `app`."""
    clock = window.clock

    async def record_inbound(request: web.Request) -> web.Response:
        payload = await json_object(request)
        address = recipient(payload.get("from"))
        if not address or not is_whatsapp(address):
            return bad_request('expected {"from": "whatsapp:+52...", "at"?: "2024-11-26T01:18:00Z"}')
        try:
            at = parse_iso(payload["at"]) if payload.get("at") is not None else None
        except ValueError as exc:
            return bad_request(f"`at`: {exc}")
        window.record_inbound(address, at)
        return web.json_response(window.describe(address))

    async def list_inbound(_: web.Request) -> web.Response:
        return web.json_response({"now": clock.iso(), "enforce": window.enforce,
                                  "recipients": [window.describe(a) for a in window.last_inbound]})

    async def forget_inbound(request: web.Request) -> web.Response:
        address = recipient(request.query.get("from"))
        if address is None:
            window.last_inbound.clear()
        else:
            window.last_inbound.pop(address, None)
        return web.Response(status=204)

    async def set_window(request: web.Request) -> web.Response:
        enforce = (await json_object(request)).get("enforce")
        if not isinstance(enforce, bool):
            return bad_request('expected {"enforce": true} or {"enforce": false}')
        window.enforce = enforce
        return await get_window(request)

    async def get_window(_: web.Request) -> web.Response:
        return web.json_response({"enforce": window.enforce, "hours": WINDOW.total_seconds() / 3600,
                                  "now": clock.iso()})

    async def set_clock(request: web.Request) -> web.Response:
        payload = await json_object(request)
        offset, now = payload.get("offset_seconds"), payload.get("now")
        if (offset is None) == (now is None):
            return bad_request('expected {"offset_seconds": 90000} or {"now": "2024-11-26T01:18:00Z"}')
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, (int, float)):
                return bad_request("`offset_seconds` must be a number")
            clock.set_offset(float(offset))
        else:
            try:
                clock.set_now(parse_iso(now))
            except ValueError as exc:
                return bad_request(f"`now`: {exc}")
        return web.json_response(clock.describe())

    async def get_clock(_: web.Request) -> web.Response:
        return web.json_response(clock.describe())

    async def reset_clock(_: web.Request) -> web.Response:
        clock.reset()
        return web.Response(status=204)

    app.router.add_post("/_sandbox/inbound", record_inbound)
    app.router.add_get("/_sandbox/inbound", list_inbound)
    app.router.add_delete("/_sandbox/inbound", forget_inbound)
    app.router.add_post("/_sandbox/window", set_window)
    app.router.add_get("/_sandbox/window", get_window)
    app.router.add_post("/_sandbox/clock", set_clock)
    app.router.add_get("/_sandbox/clock", get_clock)
    app.router.add_delete("/_sandbox/clock", reset_clock)
