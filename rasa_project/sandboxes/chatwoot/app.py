"""The slice of Chatwoot's Application API the handoff uses, with Chatwoot's auth, errors and webhooks.

Every `/api/` request passes, in this order: the scripted faults (`/_sandbox/faults`: Chatwoot down or
slow), the token check (`api_access_token` header; Chatwoot's two 401 bodies), the account check (another
account id is a 404, as `Account.find` raises), then the handler, whose `ChatwootError`s become Chatwoot's
error bodies.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web

from rasa_project.sandboxes.chatwoot.api_common import RULES_KEY, store
from rasa_project.sandboxes.chatwoot.contacts_api import add_contact_routes
from rasa_project.sandboxes.chatwoot.controls import add_control_routes
from rasa_project.sandboxes.chatwoot.conversations_api import add_conversation_routes
from rasa_project.sandboxes.chatwoot.errors import ChatwootError
from rasa_project.sandboxes.chatwoot.payloads import Payloads
from rasa_project.sandboxes.chatwoot.rules import ChatwootRules
from rasa_project.sandboxes.chatwoot.store import ChatwootStore
from rasa_project.sandboxes.chatwoot.webhooks import DEFAULT_EVENTS, WebhookDispatcher

TOKEN_KEY = web.AppKey("chatwoot_sandbox_api_token", str)
STOPPING_KEY = web.AppKey("chatwoot_sandbox_stopping", asyncio.Event)
TOKEN_HEADERS = ("api_access_token", "api-access-token")  # proxies drop underscores unless told not to
SIGN_IN = {"errors": ["You need to sign in or sign up before continuing."]}
MAX_REQUESTS_RECORDED = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _sleep(request: web.Request, seconds: float) -> None:
    """Stall like a hung Chatwoot, but stop at once when the sandbox shuts down."""
    try:
        await asyncio.wait_for(request.app[STOPPING_KEY].wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    fault = store(request).take_fault(request.method, request.path)
    if fault is not None:
        if fault.delay_ms:
            await _sleep(request, fault.delay_ms / 1000)
        if fault.status is not None:
            reason = web.Response(status=fault.status).reason
            return web.json_response({"status": fault.status, "error": reason}, status=fault.status)
    routing_error = getattr(request.match_info, "http_exception", None)
    if routing_error is not None:  # Rails routes before any controller runs: no auth for unknown paths
        raise routing_error
    token = next((request.headers[name] for name in TOKEN_HEADERS if request.headers.get(name, "").strip()), None)
    if token is None:  # devise_token_auth's authenticate_user!
        return web.json_response(SIGN_IN, status=401)
    if not hmac.compare_digest(token.strip().encode(), request.app[TOKEN_KEY].encode()):
        return web.json_response({"error": "Invalid Access Token"}, status=401)
    account_id = request.match_info.get("account_id")
    if account_id is not None and account_id != str(store(request).account["id"]):
        return web.json_response({"error": "Resource could not be found"}, status=404)
    try:
        return await handler(request)
    except ChatwootError as exc:
        return web.json_response(exc.body, status=exc.status)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    requests = store(request).requests
    entry: dict = {"method": request.method, "path": request.path, "status": None}
    requests.append(entry)
    del requests[:-MAX_REQUESTS_RECORDED]
    try:
        response = await _answer(request, handler)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    return response


async def profile(request: web.Request) -> web.Response:
    """`GET /api/v1/profile`: the token's user (a cheap "is Chatwoot up and is my token good" probe)."""
    state = store(request)
    user, account = state.api_user, state.account
    return web.json_response({
        "id": user.id, "name": user.name, "display_name": user.name, "available_name": user.name,
        "email": user.email, "uid": user.email, "provider": "email", "type": "user", "confirmed": True,
        "avatar_url": "", "account_id": account["id"], "access_token": request.app[TOKEN_KEY],
        "accounts": [{"id": account["id"], "name": account["name"], "role": user.role, "status": "active"}],
        "custom_attributes": {}, "ui_settings": {}, "message_signature": None,
    })


def create_app(
    account_id: int,
    api_token: str,
    *,
    webhook_url: str | None,
    webhook_secret: str | None,
    inbox_id: int = 1,
    webhook_events: Sequence[str] = DEFAULT_EVENTS,
    retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
    webhook_timeout: float = 5.0,
    account_name: str = "Estudio",
    inbox_name: str = "WhatsApp",
    api_user_name: str = "Asistente",
) -> web.Application:
    """One account with one API-channel inbox (`inbox_id`), reached with `api_token`; webhooks go to
    `webhook_url` (signed with `webhook_secret`, or unsigned like Chatwoot before 4.x when it is None)."""
    if not api_token:
        raise ValueError("api_token must not be empty")
    state = ChatwootStore(account_id, inbox_id, account_name=account_name, inbox_name=inbox_name,
                          api_user_name=api_user_name)
    state.inbox.webhook_url = webhook_url
    dispatcher = WebhookDispatcher(webhook_url, webhook_secret, events=webhook_events,
                                   retry_delays=retry_delays, timeout=webhook_timeout)
    app = web.Application(middlewares=[api_middleware])
    app[RULES_KEY] = ChatwootRules(state, Payloads(state), dispatcher)
    app[TOKEN_KEY] = api_token
    app[STOPPING_KEY] = asyncio.Event()

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await dispatcher.start()
        yield
        await dispatcher.close()

    async def on_shutdown(_: web.Application) -> None:
        app[STOPPING_KEY].set()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)  # type: ignore[arg-type]
    base = "/api/v1/accounts/{account_id}"
    add_contact_routes(app, base)
    add_conversation_routes(app, base)
    app.router.add_get("/api/v1/profile", profile)
    add_control_routes(app)
    return app


def sandbox_rules(app: web.Application) -> ChatwootRules:
    """The app's state and rules, for in-process tests that prefer them to the `/_sandbox` routes."""
    return app[RULES_KEY]

