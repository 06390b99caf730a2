"""The Messages slice of Twilio's REST API (2010-04-01) that the assistant uses, on aiohttp.

Same paths, Basic auth, form encoding, validation codes and JSON as api.twilio.com, so twilio-python's
async client runs unchanged against it (see the package docstring for the base-URL override). The
Content API (`content_api.py`), the WhatsApp window (`window.py`) and inbound media (`media.py`) share
the app; what a send by ContentSid or outside the window becomes is decided in `sending.py`.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, List, Sequence
from urllib.parse import urlencode, urlparse

from aiohttp import BasicAuth, hdrs, web

from rasa_project.sandboxes.twilio_api.callbacks import StatusReporter
from rasa_project.sandboxes.twilio_api.content_api import CONTENT_KEY, ContentStore, add_content_routes
from rasa_project.sandboxes.twilio_api.controls import add_control_routes
from rasa_project.sandboxes.twilio_api.errors import ERROR_MESSAGES, twilio_error
from rasa_project.sandboxes.twilio_api.media import add_media_routes
from rasa_project.sandboxes.twilio_api.sending import prepare
from rasa_project.sandboxes.twilio_api.store import API_VERSION, SandboxStore
from rasa_project.sandboxes.twilio_api.window import ENFORCED_BY_DEFAULT, CustomerWindow, add_window_routes

logger = logging.getLogger(__name__)

STORE_KEY = web.AppKey("twilio_sandbox_store", SandboxStore)
REPORTER_KEY = web.AppKey("twilio_sandbox_reporter", StatusReporter)
CREDENTIALS_KEY = web.AppKey("twilio_sandbox_credentials", tuple)
WINDOW_KEY = web.AppKey("twilio_sandbox_window", CustomerWindow)

MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000

__all__ = ["ERROR_MESSAGES", "content_store", "create_app", "customer_window", "sandbox_store", "twilio_error"]


def _authenticated(request: web.Request) -> bool:
    account_sid, auth_token = request.app[CREDENTIALS_KEY]
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    try:
        auth = BasicAuth.decode(header, encoding="utf-8")
    except (ValueError, binascii.Error):
        return False
    return auth.login == account_sid and auth.password == auth_token


def _auth_guard(request: web.Request) -> web.Response | None:
    """401 for bad credentials (the Content API has no account in its paths)."""
    return None if _authenticated(request) else twilio_error(401, 20003)


def _guard(request: web.Request) -> web.Response | None:
    """401 for bad credentials, 404 for another account's path, as Twilio answers."""
    if not _authenticated(request):
        return twilio_error(401, 20003)
    account_sid, _ = request.app[CREDENTIALS_KEY]
    if request.match_info["account_sid"] != account_sid:
        return twilio_error(404, 20404, path=request.path)
    return None


def _valid_callback_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def _validate(form: Any) -> web.Response | None:
    """Twilio's checks, in Twilio's order."""
    if not form.get("To"):
        return twilio_error(400, 21604)
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return twilio_error(400, 21603)
    media = [url for url in form.getall("MediaUrl", []) if url]
    if not form.get("Body") and not media and not form.get("ContentSid"):
        return twilio_error(400, 21619)
    if len(form.get("Body", "")) > MAX_BODY_CHARS:
        return twilio_error(400, 21617)
    if len(media) > MAX_MEDIA:
        return twilio_error(400, 21623)
    callback = form.get("StatusCallback")
    if callback and not _valid_callback_url(callback):
        return twilio_error(400, 21609, url=callback)
    return None


async def create_message(request: web.Request) -> web.Response:
    """`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`."""
    store = request.app[STORE_KEY]
    store.stats["create_attempts"] += 1
    response = _guard(request)
    form = await request.post() if response is None else None
    if form is not None:
        fault = store.take_fault(str(form.get("To") or "") or None)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                response = twilio_error(fault.status, fault.code or 20000 + fault.status, fault.message)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = fault.retry_after
        if response is None:  # not `or`: an aiohttp Response is an empty mapping, hence falsy
            response = _validate(form)
    prepared = None
    if response is None and form is not None:
        outcome = prepare(form, store, request.app[CONTENT_KEY], request.app[WINDOW_KEY])
        response, prepared = (outcome, None) if isinstance(outcome, web.Response) else (None, outcome)
    if response is not None:
        store.count_rejection(response.status)
        return response

    assert form is not None and prepared is not None
    account_sid, _ = request.app[CREDENTIALS_KEY]
    message = store.add(
        account_sid=account_sid,
        to=form["To"],
        from_=form.get("From") or None,
        body=prepared.body,
        media_urls=[url for url in form.getall("MediaUrl", []) if url],
        messaging_service_sid=form.get("MessagingServiceSid") or None,
        status_callback=form.get("StatusCallback") or None,
        content_sid=form.get("ContentSid") or None,
        content_variables=form.get("ContentVariables") or None,
        **prepared.fields,
    )
    if prepared.failure is not None:  # the window or the content fails it after acceptance, as on Twilio
        message.final_status, message.final_error = prepared.failure
    request.app[REPORTER_KEY].track(message)
    logger.info("accepted %s to %s (index %s)", message.sid, message.to, message.index)
    return web.json_response(message.resource(), status=201)


async def fetch_message(request: web.Request) -> web.Response:
    """`GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json` with the current status."""
    response = _guard(request)
    if response is not None:
        return response
    message = request.app[STORE_KEY].messages.get(request.match_info["message_sid"])
    if message is None:
        return twilio_error(404, 20404, path=request.path)
    return web.json_response(message.resource())


def _date_filter(raw: str) -> datetime:
    """`YYYY-MM-DD` (midnight GMT) or an ISO 8601 datetime, as twilio-python serializes it."""
    value = datetime.fromisoformat(raw.replace("Z", "+00:00")) if "T" in raw else datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _sent_filters(query: Any) -> List[Callable[[datetime], bool]]:
    """`DateSent` (that day), `DateSent<` (on or before), `DateSent>` (on or after)."""
    checks: List[Callable[[datetime], bool]] = []
    if query.get("DateSent"):
        day = _date_filter(query["DateSent"]).date()
        checks.append(lambda sent: sent.date() == day)
    if query.get("DateSent<"):
        before = _date_filter(query["DateSent<"])
        checks.append(lambda sent: sent <= before)
    if query.get("DateSent>"):
        after = _date_filter(query["DateSent>"])
        checks.append(lambda sent: sent >= after)
    return checks


async def list_messages(request: web.Request) -> web.Response:
    """`GET /2010-04-01/Accounts/{AccountSid}/Messages.json`: newest first, filtered, paged like Twilio."""
    response = _guard(request)
    if response is not None:
        return response
    query = request.query
    try:
        page_size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(query.get("Page", 0))
        sent_checks = _sent_filters(query)
    except ValueError as exc:
        return twilio_error(400, 20001, message=f"Invalid filter: {exc}")
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
        return twilio_error(400, 20001, message="PageSize must be 1-1000 and Page non-negative")
    selected = []
    for message in reversed(list(request.app[STORE_KEY].messages.values())):
        if query.get("To") and message.to != query["To"]:
            continue
        if query.get("From") and message.from_ != query["From"]:
            continue
        if sent_checks:
            sent = parsedate_to_datetime(message.date_sent) if message.date_sent else None
            if sent is None or not all(check(sent) for check in sent_checks):
                continue
        selected.append(message)
    start = page * page_size
    chunk = selected[start:start + page_size]
    filters = {k: v for k, v in query.items() if k in ("To", "From", "DateSent", "DateSent<", "DateSent>")}

    def page_uri(number: int) -> str:
        return f"{request.path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

    return web.json_response({
        "messages": [m.resource() for m in chunk],
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "next_page_uri": page_uri(page + 1) if start + page_size < len(selected) else None,
    })


def create_app(
    account_sid: str,
    auth_token: str,
    *,
    status_delays: Sequence[float] = (0.05, 0.05, 0.05),
    enforce_window: bool = ENFORCED_BY_DEFAULT,
    allow_unknown_content: bool = False,
) -> web.Application:
    """The sandbox for one account; `status_delays[i]` is the wait before the i-th status change after creation.

    `enforce_window` starts with the WhatsApp 24-hour rule on or off (`/_sandbox/window` switches it
    later; see `window.ENFORCED_BY_DEFAULT`); `allow_unknown_content` accepts sends naming HX SIDs never
    created here (else 21655).
    """
    app = web.Application()
    store = SandboxStore()
    reporter = StatusReporter(store, auth_token, status_delays)
    window = CustomerWindow(store.clock, enforce=enforce_window)
    app[STORE_KEY] = store
    app[REPORTER_KEY] = reporter
    app[CREDENTIALS_KEY] = (account_sid, auth_token)
    app[WINDOW_KEY] = window

    async def reporter_lifecycle(_: web.Application) -> Any:
        await reporter.start()
        yield
        await reporter.close()

    app.cleanup_ctx.append(reporter_lifecycle)
    base = f"/{API_VERSION}/Accounts/{{account_sid}}"
    app.router.add_post(f"{base}/Messages.json", create_message)
    app.router.add_get(f"{base}/Messages.json", list_messages)
    app.router.add_get(f"{base}/Messages/{{message_sid}}.json", fetch_message)
    add_control_routes(app, store)
    add_window_routes(app, window)
    add_content_routes(app, ContentStore(account_sid, store.clock, allow_unknown_content), _auth_guard)
    add_media_routes(app, account_sid, _guard, lambda request: twilio_error(404, 20404, path=request.path))
    return app


def sandbox_store(app: web.Application) -> SandboxStore:
    """The app's state, for in-process tests that prefer it to the `/_sandbox` routes."""
    return app[STORE_KEY]


def content_store(app: web.Application) -> ContentStore:
    return app[CONTENT_KEY]


def customer_window(app: web.Application) -> CustomerWindow:
    return app[WINDOW_KEY]
