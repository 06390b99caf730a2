"""What every Application API handler shares: the app keys, Rails-like params, id lookups."""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.chatwoot.errors import ChatwootError, not_found
from rasa_project.sandboxes.chatwoot.payloads import Payloads
from rasa_project.sandboxes.chatwoot.rules import ChatwootRules
from rasa_project.sandboxes.chatwoot.store import ChatwootStore, Conversation

RULES_KEY = web.AppKey("chatwoot_sandbox_rules", ChatwootRules)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def rules(request: web.Request) -> ChatwootRules:
    return request.app[RULES_KEY]


def store(request: web.Request) -> ChatwootStore:
    return request.app[RULES_KEY].store


def payloads(request: web.Request) -> Payloads:
    return request.app[RULES_KEY].payloads


async def read_params(request: web.Request) -> Dict[str, Any]:
    """Rails' `params`: the query string, overlaid by a JSON (or form) body."""
    params: Dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params
    if request.content_type in FORM_TYPES:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
        return params
    raw = await request.read()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:  # ActionDispatch::Http::Parameters::ParseError
            raise ChatwootError(400, {"status": 400, "error": "Bad Request"}) from exc
        if isinstance(body, dict):
            params.update(body)
    return params


def path_id(request: web.Request, name: str = "id") -> int:
    """`find(params[:id])`: anything that is not a known integer id is a 404."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise not_found()
    return int(raw)


def conversation_of(request: web.Request) -> Conversation:
    conversation = store(request).conversations.get(path_id(request))
    if conversation is None:
        raise not_found()
    return conversation


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def ok(body: Any) -> web.Response:
    """Chatwoot's create actions answer 200, not 201."""
    return web.json_response(body)
