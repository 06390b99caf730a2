"""Contacts and contact inboxes: `/api/v1/accounts/{account_id}/contacts...`."""

from __future__ import annotations

from typing import List

from aiohttp import web

from rasa_project.sandboxes.chatwoot.api_common import blank, ok, path_id, payloads, read_params, rules, store
from rasa_project.sandboxes.chatwoot.errors import SourceIdTaken, internal_error, not_found
from rasa_project.sandboxes.chatwoot.store import Contact

RESULTS_PER_PAGE = 15


async def create_contact(request: web.Request) -> web.Response:
    """`POST /contacts` (name, email, phone_number, identifier, inbox_id, source_id, *_attributes)."""
    contact, contact_inbox = rules(request).create_contact(await read_params(request))
    render = payloads(request)
    return ok({"payload": {
        "contact": render.contact(contact),
        "contact_inbox": {"inbox": render.inbox_model() if contact_inbox else None,
                          "source_id": contact_inbox.source_id if contact_inbox else None},
    }})


def _matches(contact: Contact, query: str) -> bool:
    """contacts_controller#search_conditions: ILIKE on name, email, phone; LIKE on identifier; the id."""
    folded = query.lower()
    if any(folded in (value or "").lower() for value in (contact.name, contact.email, contact.phone_number)):
        return True
    return query in (contact.identifier or "") or (query.isdigit() and contact.id == int(query))


async def search_contacts(request: web.Request) -> web.Response:
    """`GET /contacts/search?q=`: `+` in a query string is a space, which Chatwoot strips, so
    `q=+5215512345678` still finds the number (by its digits)."""
    params = await read_params(request)
    if blank(params.get("q")):
        return web.json_response({"error": "Specify search string with parameter q"}, status=422)
    query = str(params["q"]).strip()
    page_param = params.get("page")
    try:
        page = max(1, int(page_param)) if page_param else 1
    except ValueError:
        page = 1
    found: List[Contact] = [c for c in store(request).contacts.values() if _matches(c, query)]
    start = (page - 1) * RESULTS_PER_PAGE
    chunk = found[start:start + RESULTS_PER_PAGE]
    render = payloads(request)
    return web.json_response({
        "meta": {"count": len(chunk), "current_page": page_param or 1,
                 "has_more": len(found) > start + RESULTS_PER_PAGE},
        "payload": [render.contact(contact) for contact in chunk],
    })


def _contact(request: web.Request) -> Contact:
    contact = store(request).contacts.get(path_id(request))
    if contact is None:
        raise not_found()
    return contact


async def show_contact(request: web.Request) -> web.Response:
    return web.json_response({"payload": payloads(request).contact(_contact(request))})


async def create_contact_inbox(request: web.Request) -> web.Response:
    """`POST /contacts/{id}/contact_inboxes` (inbox_id, source_id): the same record again for the same
    contact and source id; a source id another contact holds is an unrescued RecordNotUnique (500)."""
    contact = _contact(request)
    params = await read_params(request)
    if blank(params.get("inbox_id")) or str(params["inbox_id"]) != str(store(request).inbox.id):
        raise not_found()
    source_id = None if blank(params.get("source_id")) else str(params["source_id"]).strip()
    try:
        record = rules(request).add_contact_inbox(contact, source_id)
    except SourceIdTaken as exc:
        raise internal_error() from exc
    return ok(payloads(request).contact_inbox(record))


def add_contact_routes(app: web.Application, base: str) -> None:
    app.router.add_post(f"{base}/contacts", create_contact)
    app.router.add_get(f"{base}/contacts/search", search_contacts)
    app.router.add_get(f"{base}/contacts/{{id}}", show_contact)
    app.router.add_post(f"{base}/contacts/{{id}}/contact_inboxes", create_contact_inbox)
