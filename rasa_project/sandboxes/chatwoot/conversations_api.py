"""Conversations and messages: `/api/v1/accounts/{account_id}/conversations...`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.chatwoot.api_common import (
    blank,
    conversation_of,
    ok,
    payloads,
    read_params,
    rules,
    store,
)
from rasa_project.sandboxes.chatwoot.errors import SourceIdTaken, could_not_create, not_found
from rasa_project.sandboxes.chatwoot.payloads import iso
from rasa_project.sandboxes.chatwoot.store import ContactInbox

RESULTS_PER_PAGE = 25  # CONVERSATION_RESULTS_PER_PAGE
MESSAGES_PER_PAGE = 20  # MessageFinder


def _contact_inbox_for(request: web.Request, params: Dict[str, Any]) -> ContactInbox:
    """conversations_controller#contact_inbox: built from inbox_id + contact_id (a new UUID source id when
    none is given), else looked up by source_id alone."""
    state = store(request)
    if not blank(params.get("inbox_id")) and str(params["inbox_id"]) != str(state.inbox.id):
        raise not_found()
    contact = None
    if not blank(params.get("contact_id")):
        contact = state.contacts.get(int(params["contact_id"])) if str(params["contact_id"]).isdigit() else None
        if contact is None:
            raise not_found()
    source_id = None if blank(params.get("source_id")) else str(params["source_id"]).strip()
    if contact is not None and not blank(params.get("inbox_id")):
        try:
            return rules(request).add_contact_inbox(contact, source_id)
        except SourceIdTaken as exc:
            raise could_not_create("source_id should be unique") from exc
    found = state.contact_inbox_by_source(source_id) if source_id else None
    if found is None:
        raise not_found()
    return found


async def create_conversation(request: web.Request) -> web.Response:
    """`POST /conversations` (source_id, inbox_id, contact_id, status, additional_attributes,
    custom_attributes, message {content, ...})."""
    params = await read_params(request)
    contact_inbox = _contact_inbox_for(request, params)
    conversation = rules(request).create_conversation(contact_inbox, params, store(request).api_user)
    return ok(payloads(request).conversation(conversation))


async def list_conversations(request: web.Request) -> web.Response:
    """`GET /conversations?status=open|resolved|pending|snoozed|all&inbox_id=&assignee_type=&page=`:
    `open` when no status is given, newest activity first, 25 a page, counts before the assignee filter."""
    params = await read_params(request)
    state = store(request)
    status = params.get("status") or "open"
    found = [c for c in state.conversations.values()
             if (status == "all" or c.status == status)
             and (blank(params.get("inbox_id")) or str(params["inbox_id"]) == str(c.inbox_id))]
    all_count = len(found)
    unassigned = sum(1 for c in found if c.assignee_id is None)
    counts = {"mine_count": sum(1 for c in found if c.assignee_id == state.api_user.id),
              "assigned_count": all_count - unassigned, "unassigned_count": unassigned, "all_count": all_count}
    assignee_type = params.get("assignee_type")
    if assignee_type == "me":
        found = [c for c in found if c.assignee_id == state.api_user.id]
    elif assignee_type == "unassigned":
        found = [c for c in found if c.assignee_id is None]
    elif assignee_type == "assigned":
        found = [c for c in found if c.assignee_id is not None]
    found.sort(key=lambda c: (c.last_activity_at, c.id), reverse=True)
    page_param = str(params.get("page") or "")
    page = int(page_param) if page_param.isdigit() and int(page_param) > 0 else 1
    chunk = found[(page - 1) * RESULTS_PER_PAGE:page * RESULTS_PER_PAGE]
    render = payloads(request)
    return web.json_response({"data": {"meta": counts, "payload": [render.conversation(c) for c in chunk]}})


async def show_conversation(request: web.Request) -> web.Response:
    return web.json_response(payloads(request).conversation(conversation_of(request)))


def _snoozed_until(raw: Any) -> datetime | None:
    """`parse_date_time`: unix seconds."""
    if blank(raw):
        return None
    try:
        return datetime.fromtimestamp(int(float(str(raw))), tz=timezone.utc)
    except ValueError as exc:
        raise could_not_create(f"invalid snoozed_until: {raw!r}") from exc


async def toggle_status(request: web.Request) -> web.Response:
    """`POST /conversations/{id}/toggle_status` (status, snoozed_until): without a status, open <-> resolved."""
    conversation = conversation_of(request)
    params = await read_params(request)
    if blank(params.get("status")):
        rules(request).toggle_status(conversation)
    else:
        rules(request).change_status(conversation, str(params["status"]), store(request).api_user,
                                     _snoozed_until(params.get("snoozed_until")))
    return ok({"meta": {}, "payload": {
        "success": True, "conversation_id": conversation.id, "current_status": conversation.status,
        "snoozed_until": iso(conversation.snoozed_until),
    }})


async def set_custom_attributes(request: web.Request) -> web.Response:
    """`POST /conversations/{id}/custom_attributes` {custom_attributes: {...}}: replaces, does not merge."""
    conversation = conversation_of(request)
    attributes = (await read_params(request)).get("custom_attributes")
    if not isinstance(attributes, dict):
        raise could_not_create("param is missing or the value is empty: custom_attributes")
    rules(request).set_custom_attributes(conversation, attributes)
    return ok({"custom_attributes": conversation.custom_attributes})


async def create_message(request: web.Request) -> web.Response:
    """`POST /conversations/{id}/messages` (content, message_type incoming|outgoing, private,
    content_type, content_attributes, source_id, echo_id)."""
    conversation = conversation_of(request)
    message = rules(request).create_message(conversation, store(request).api_user, await read_params(request))
    return ok(payloads(request).message(message))


async def list_messages(request: web.Request) -> web.Response:
    """`GET /conversations/{id}/messages[?before=<message id>]`: the 20 latest (before), oldest first,
    activity messages and private notes included."""
    conversation = conversation_of(request)
    params = await read_params(request)
    messages = store(request).messages_of(conversation.id)
    before = params.get("before")
    if str(before or "").isdigit():
        messages = [m for m in messages if m.id < int(str(before))]
    render = payloads(request)
    contact = store(request).contacts[conversation.contact_id]
    return web.json_response({
        "meta": {"labels": [], "additional_attributes": conversation.additional_attributes,
                 "contact": render.contact_push(contact),
                 "agent_last_seen_at": iso(conversation.agent_last_seen_at), "assignee_last_seen_at": None},
        "payload": [render.message(m) for m in messages[-MESSAGES_PER_PAGE:]],
    })


def add_conversation_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/conversations", list_conversations)
    app.router.add_post(f"{base}/conversations", create_conversation)
    app.router.add_get(f"{base}/conversations/{{id}}", show_conversation)
    app.router.add_post(f"{base}/conversations/{{id}}/toggle_status", toggle_status)
    app.router.add_post(f"{base}/conversations/{{id}}/custom_attributes", set_custom_attributes)
    app.router.add_get(f"{base}/conversations/{{id}}/messages", list_messages)
    app.router.add_post(f"{base}/conversations/{{id}}/messages", create_message)
