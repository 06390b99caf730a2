"""Inbound media as Twilio serves it: an authenticated media URL that redirects to short-lived storage.

Twilio puts `MediaUrl0=https://api.twilio.com/2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME}` in the
webhook of a voice note. A GET of it needs Basic auth (account SID + auth token; 401 otherwise) and
answers 307 to a pre-signed storage URL on another host that needs no auth and expires. Here the
storage lives on the same sandbox under `/_sandbox/storage/<token>`: same origin, different path, so a
client that keeps `Authorization` on a same-origin redirect leaks the credentials, and the request log
shows it.

Test controls (no auth): `POST /_sandbox/media` registers bytes (`{"content_type", "data": base64,
"ttl_seconds"?, "delay_ms"?, "chunked"?}`) and returns the media URL; `GET /_sandbox/media` lists the
media and every media/storage request received (with headers); `DELETE /_sandbox/media` forgets both.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import hdrs, web

from rasa_project.sandboxes.twilio_api.store import API_VERSION, new_sid

DEFAULT_STORAGE_TTL_SECONDS = 300.0  # Twilio's pre-signed URLs last minutes
MAX_MEDIA_BYTES = 32 * 1024 * 1024
CHUNK_BYTES = 64 * 1024

Guard = Callable[[web.Request], Optional[web.Response]]
NotFound = Callable[[web.Request], web.Response]


@dataclass
class Media:
    """One registered media item; `delay_ms` stalls its storage download, `chunked` hides its length."""

    account_sid: str
    message_sid: str
    media_sid: str
    content_type: str
    data: bytes
    ttl_seconds: float = DEFAULT_STORAGE_TTL_SECONDS
    delay_ms: float = 0.0
    chunked: bool = False

    @property
    def path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.message_sid}/Media/{self.media_sid}"

    def describe(self, base_url: str) -> Dict[str, Any]:
        return {"url": base_url + self.path, "message_sid": self.message_sid, "media_sid": self.media_sid,
                "content_type": self.content_type, "size": len(self.data)}


@dataclass
class MediaStore:
    media: Dict[str, Media] = field(default_factory=dict)  # by media SID
    storage: Dict[str, tuple] = field(default_factory=dict)  # token → (media SID, expires at, monotonic)
    requests: List[Dict[str, Any]] = field(default_factory=list)
    stopping: Optional[asyncio.Event] = None  # set at shutdown, so a stalled download ends at once

    async def stall(self, seconds: float) -> None:
        if self.stopping is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    def record(self, request: web.Request, kind: str, status: int) -> None:
        self.requests.append({"kind": kind, "method": request.method, "path": request.path, "status": status,
                              "headers": {k.lower(): v for k, v in request.headers.items()}})

    def clear(self) -> None:
        self.media.clear()
        self.storage.clear()
        self.requests.clear()


MEDIA_STORE_KEY = web.AppKey("twilio_sandbox_media", MediaStore)


def _base_url(request: web.Request) -> str:
    """Scheme and host the caller used (not `request.url`: it fails on hosts with a port here)."""
    return f"{request.scheme}://{request.host}"


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


def _parse_media(payload: Any, account_sid: str) -> Media:
    """A `Media` from the control's JSON; raises ValueError with what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    content_type, data = payload.get("content_type"), payload.get("data")
    if not isinstance(content_type, str) or "/" not in content_type or not isinstance(data, str):
        raise ValueError('expected {"content_type": "audio/ogg", "data": "<base64>"}')
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"`data` is not base64: {exc}") from exc
    if len(raw) > MAX_MEDIA_BYTES:
        raise ValueError(f"media larger than {MAX_MEDIA_BYTES} bytes")
    ttl, delay = payload.get("ttl_seconds", DEFAULT_STORAGE_TTL_SECONDS), payload.get("delay_ms", 0)
    for name, value in (("ttl_seconds", ttl), ("delay_ms", delay)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"`{name}` must be a non-negative number")
    message_sid = payload.get("message_sid") or new_sid("MM")
    if not isinstance(message_sid, str) or not message_sid.isalnum():
        raise ValueError("`message_sid` must be an alphanumeric SID")
    return Media(account_sid, message_sid, new_sid("ME"), content_type.strip().lower(), raw,
                 float(ttl), float(delay), bool(payload.get("chunked", False)))


def add_media_routes(app: web.Application, account_sid: str, guard: Guard, not_found: NotFound) -> None:
    """Register the media URL, its storage and the `/_sandbox/media` controls; `guard` is Twilio's auth."""
    store = MediaStore(stopping=asyncio.Event())  # binds to the loop on first use (3.10+)
    app[MEDIA_STORE_KEY] = store

    async def on_shutdown(_: web.Application) -> None:
        if store.stopping is not None:
            store.stopping.set()

    app.on_shutdown.append(on_shutdown)  # type: ignore[arg-type]  # aiohttp 3.9's Signal stubs

    async def fetch_media(request: web.Request) -> web.StreamResponse:
        """`GET .../Messages/{MM}/Media/{ME}`: 401 without credentials, else 307 to fresh storage."""
        response = guard(request)
        media = store.media.get(request.match_info["media_sid"])
        if response is None and (media is None or media.message_sid != request.match_info["message_sid"]):
            response = not_found(request)
        if response is not None:
            store.record(request, "media", response.status)
            return response
        assert media is not None
        token = secrets.token_urlsafe(24)
        store.storage[token] = (media.media_sid, time.monotonic() + media.ttl_seconds)
        store.record(request, "media", 307)
        location = f"{_base_url(request)}/_sandbox/storage/{token}"
        return web.Response(status=307, headers={hdrs.LOCATION: location})

    async def fetch_storage(request: web.Request) -> web.StreamResponse:
        """The pre-signed URL: no auth, the bytes until it expires, then 403 like S3."""
        media_sid, expires_at = store.storage.get(request.match_info["token"], (None, 0.0))
        media = store.media.get(media_sid) if media_sid else None
        if media is None or time.monotonic() > expires_at:
            store.record(request, "storage", 403)
            return web.Response(status=403, text="Request has expired", content_type="text/plain")
        store.record(request, "storage", 200)
        if media.delay_ms:
            await store.stall(media.delay_ms / 1000)
        if not media.chunked:
            return web.Response(body=media.data, content_type=media.content_type)
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: media.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(media.data), CHUNK_BYTES):
            await response.write(media.data[start:start + CHUNK_BYTES])
        await response.write_eof()
        return response

    async def register(request: web.Request) -> web.Response:
        try:
            media = _parse_media(await request.json(), account_sid)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return _bad_request(str(exc))
        store.media[media.media_sid] = media
        return web.json_response(media.describe(_base_url(request)), status=201)

    async def listing(request: web.Request) -> web.Response:
        base_url = _base_url(request)
        return web.json_response({"media": [m.describe(base_url) for m in store.media.values()],
                                  "requests": store.requests})

    async def clear(_: web.Request) -> web.Response:
        store.clear()
        return web.Response(status=204)

    base = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{message_sid}}/Media/{{media_sid}}"
    app.router.add_get(base, fetch_media)
    app.router.add_get("/_sandbox/storage/{token}", fetch_storage)
    app.router.add_post("/_sandbox/media", register)
    app.router.add_get("/_sandbox/media", listing)
    app.router.add_delete("/_sandbox/media", clear)


def media_store(app: web.Application) -> MediaStore:
    """The app's media state, for in-process tests."""
    return app[MEDIA_STORE_KEY]
