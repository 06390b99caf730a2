"""Test controls under `/_sandbox/` (no auth): be the team in the dashboard, script outages, read state.

Not part of Chatwoot's API. An agent's actions go through the same rules as Chatwoot's dashboard (a
message created by that agent, a status change by that agent), so they send the same webhooks:

- `POST /_sandbox/agent_reply` {conversation_id, content, private?, agent_name?}: an outgoing message (a
  private note with `private: true`) from the agent, announced as `message_created`;
- `POST /_sandbox/resolve` {conversation_id, agent_name?}: the agent resolves it
  (`conversation_status_changed`, then `conversation_updated`);
- `POST /_sandbox/status` {conversation_id, status, agent_name?}: any status change by an agent;
- `GET /_sandbox/state`: account, inbox, users, contacts, conversations, messages, API calls seen;
- `POST /_sandbox/faults` {"outcomes": [{"status": 503, "count": 3}, {"delay_ms": 8000}, ...]}, each with
  optional `path` (a substring) and `method`: the next matching API calls fail or stall (Chatwoot down,
  slow); `GET` lists them, `DELETE` clears them;
- `GET /_sandbox/webhooks[?wait=<seconds>]`: every delivery with its attempts and the receiver's answers
  (`wait` first waits until none is pending); `DELETE` forgets them;
- `POST /_sandbox/reset`: back to an empty account (ids restart, faults and deliveries dropped).
"""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.chatwoot.api_common import RULES_KEY
from rasa_project.sandboxes.chatwoot.errors import ChatwootError
from rasa_project.sandboxes.chatwoot.rules import ChatwootRules
from rasa_project.sandboxes.chatwoot.store import CONVERSATION_STATUSES, Conversation, Fault, User, utc_now

MAX_WAIT_SECONDS = 60.0
DEFAULT_AGENT = "Agente"


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


async def _json_object(request: web.Request) -> Dict[str, Any]:
    try:
        payload = await request.json()
    except json.JSONDecodeError as exc:
        raise _bad_request(f"invalid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise _bad_request("expected a JSON object")
    return payload


def add_control_routes(app: web.Application) -> None:
    def rules_of(request: web.Request) -> ChatwootRules:
        return request.app[RULES_KEY]

    def conversation(request: web.Request, payload: Dict[str, Any]) -> Conversation:
        raw = payload.get("conversation_id")
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit():
            raise _bad_request("`conversation_id` (the conversation's id, as in the API) is required")
        found = rules_of(request).store.conversations.get(int(raw))
        if found is None:
            raise web.HTTPNotFound(text=json.dumps({"error": f"conversation {raw} not found"}),
                                   content_type="application/json")
        return found

    def agent(request: web.Request, payload: Dict[str, Any]) -> User:
        name = payload.get("agent_name") or DEFAULT_AGENT
        if not isinstance(name, str):
            raise _bad_request("`agent_name` must be a string")
        return rules_of(request).store.agent(name)

    async def agent_reply(request: web.Request) -> web.Response:
        payload = await _json_object(request)
        target = conversation(request, payload)
        content = payload.get("content")
        if not isinstance(content, str) or not content.strip():
            raise _bad_request("`content` (the agent's text) is required")
        sender = agent(request, payload)
        rules = rules_of(request)
        target.agent_last_seen_at = utc_now()  # the agent has the conversation open while typing
        message = rules.create_message(target, sender, {"content": content, "message_type": "outgoing",
                                                        "private": bool(payload.get("private", False))})
        return web.json_response({"message": rules.payloads.message(message),
                                  "agent": rules.payloads.user_push(sender)}, status=201)

    async def set_status(request: web.Request, payload: Dict[str, Any], status: Any) -> web.Response:
        target = conversation(request, payload)
        if status not in CONVERSATION_STATUSES:
            raise _bad_request(f"`status` must be one of {', '.join(CONVERSATION_STATUSES)}")
        previous = target.status
        try:
            rules_of(request).change_status(target, status, agent(request, payload))
        except ChatwootError as exc:
            raise _bad_request(str(exc.body)) from exc
        return web.json_response({"conversation_id": target.id, "previous_status": previous,
                                  "current_status": target.status})

    async def resolve(request: web.Request) -> web.Response:
        return await set_status(request, await _json_object(request), "resolved")

    async def status(request: web.Request) -> web.Response:
        payload = await _json_object(request)
        return await set_status(request, payload, payload.get("status"))

    async def state(request: web.Request) -> web.Response:
        rules = rules_of(request)
        store, render = rules.store, rules.payloads
        return web.json_response({
            "account": render.account(), "inbox": render.inbox(),
            "users": [dict(render.user_webhook(u), role=u.role) for u in store.users.values()],
            "contacts": [render.contact(c) for c in store.contacts.values()],
            "conversations": [render.conversation(c) for c in store.conversations.values()],
            "messages": [render.message(m) for m in store.messages.values()],
            "api_requests": store.requests,
        })

    async def add_faults(request: web.Request) -> web.Response:
        payload = await _json_object(request)
        outcomes = payload.get("outcomes", [payload] if {"status", "delay_ms"} & payload.keys() else None)
        if not isinstance(outcomes, list) or not outcomes:
            raise _bad_request('expected {"outcomes": [{"status": 503, "count": 2}, {"delay_ms": 8000}]}')
        try:
            faults = [Fault.parse(raw) for raw in outcomes]
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        store = rules_of(request).store
        store.faults.extend(faults)
        return web.json_response({"pending": [vars(f) for f in store.faults]})

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"pending": [vars(f) for f in rules_of(request).store.faults]})

    async def clear_faults(request: web.Request) -> web.Response:
        rules_of(request).store.faults.clear()
        return web.Response(status=204)

    async def webhooks(request: web.Request) -> web.Response:
        dispatcher = rules_of(request).webhooks
        try:
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT_SECONDS)
        except ValueError as exc:
            raise _bad_request("`wait` must be a number of seconds") from exc
        settled = await dispatcher.wait_settled(wait) if wait > 0 else dispatcher.pending == 0
        return web.json_response({
            "url": dispatcher.url, "signed": bool(dispatcher.secret), "events": sorted(dispatcher.events),
            "settled": settled, "pending": dispatcher.pending,
            "deliveries": [d.record() for d in dispatcher.deliveries],
        })

    async def clear_webhooks(request: web.Request) -> web.Response:
        await rules_of(request).webhooks.reset()
        return web.Response(status=204)

    async def reset(request: web.Request) -> web.Response:
        rules = rules_of(request)
        await rules.webhooks.reset()
        rules.store.reset()
        return web.json_response({"reset": True})

    app.router.add_post("/_sandbox/agent_reply", agent_reply)
    app.router.add_post("/_sandbox/resolve", resolve)
    app.router.add_post("/_sandbox/status", status)
    app.router.add_get("/_sandbox/state", state)
    app.router.add_post("/_sandbox/faults", add_faults)
    app.router.add_get("/_sandbox/faults", list_faults)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/webhooks", webhooks)
    app.router.add_delete("/_sandbox/webhooks", clear_webhooks)
    app.router.add_post("/_sandbox/reset", reset)
