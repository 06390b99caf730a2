"""The operator API under `/webhooks/whatsapp/operator/` (paths in `paths.py`; docs/handoff.md has curl).

For a team without a helpdesk, or a script: list the open handoffs, read a transcript, write to the
client as the business, hand the conversation back. Every request needs `Authorization: Bearer
<OPERATOR_API_TOKEN>` (compared in constant time); with no token configured the API is closed (401 for
everything), so a fresh install never exposes transcripts. Errors are JSON: 400 bad input, 401, 404 no
such conversation (or not handed off, for handback), 502 the message did not reach the client, 503 Rasa
not loaded yet.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Awaitable, Callable, Dict
from urllib.parse import unquote

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.whatsapp import paths
from connectors.whatsapp.handoff_actions import DeliveryFailed, NoAgent, hand_back, send_as_business
from connectors.whatsapp.lifecycle import ChannelRuntime
from rasa_project.phones import InvalidPhone, normalize_e164

MAX_TEXT = 4000
MAX_LIMIT = 500
Handler = Callable[..., Awaitable[HTTPResponse]]


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def authorized(token: str, header: str) -> bool:
    """True only for `Bearer <token>` with a configured, non-empty token."""
    scheme, _, given = (header or "").partition(" ")
    if not token or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def _sender(raw: str) -> str:
    return normalize_e164(unquote(raw))


def register_operator_api(bp: Blueprint, runtime: ChannelRuntime) -> None:
    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request, **kwargs: Any) -> HTTPResponse:
            if not authorized(runtime.settings.operator_api_token, request.headers.get("Authorization", "")):
                return _error(401, "missing or wrong bearer token")
            if "sender" in kwargs:
                try:
                    kwargs["sender"] = _sender(kwargs["sender"])
                except InvalidPhone:
                    return _error(400, "the conversation id must be an E.164 phone number")
            try:
                return await handler(request, **kwargs)
            except NoAgent:
                return _error(503, "the assistant is still starting")

        wrapper.__name__ = handler.__name__
        return wrapper

    @bp.route(paths.OPERATOR_HANDOFFS, methods=["GET"])
    @guarded
    async def operator_handoffs(request: Request) -> HTTPResponse:
        items = await asyncio.to_thread(runtime.opened.handoffs.open_handoffs)
        return response.json({"handoffs": items})

    @bp.route(paths.OPERATOR_TRANSCRIPT, methods=["GET"])
    @guarded
    async def operator_transcript(request: Request, sender: str) -> HTTPResponse:
        try:
            limit = int(request.args.get("limit", "50"))
        except ValueError:
            return _error(400, "limit must be a whole number")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"limit must be between 1 and {MAX_LIMIT}")
        messages = await asyncio.to_thread(runtime.opened.handoffs.transcript, sender, limit)
        if messages is None:
            return _error(404, "no such conversation")
        state = await asyncio.to_thread(runtime.opened.handoffs.state, sender)
        return response.json({"sender": sender, "handed_off": state == "human", "messages": messages})

    @bp.route(paths.OPERATOR_MESSAGES, methods=["POST"])
    @guarded
    async def operator_message(request: Request, sender: str) -> HTTPResponse:
        body: Dict[str, Any] = request.json if isinstance(request.json, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return _error(400, f"text must be a non-empty string of at most {MAX_TEXT} characters")
        author = body.get("author")
        if author is not None and not isinstance(author, (str, dict)):
            return _error(400, "author must be a name or an object")
        if await asyncio.to_thread(runtime.opened.handoffs.transcript, sender, 1) is None:
            return _error(404, "no such conversation")
        author_info = {"name": author} if isinstance(author, str) else dict(author or {})
        author_info.setdefault("source", "operator_api")
        try:
            await send_as_business(runtime, getattr(request.app.ctx, "agent", None), sender, text.strip(),
                                   author_info)
        except DeliveryFailed as exc:
            return _error(502, str(exc))
        return response.json({"sent": True}, status=201)

    @bp.route(paths.OPERATOR_HANDBACK, methods=["POST"])
    @guarded
    async def operator_handback(request: Request, sender: str) -> HTTPResponse:
        if not await hand_back(getattr(request.app.ctx, "agent", None), sender, "operator"):
            return _error(404, "this conversation is not with the team")
        return response.json({"handed_back": True})
