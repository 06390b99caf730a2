"""The Content API slice (content.twilio.com) on the sandbox's host, plus its `/_sandbox/content` controls.

Twilio's routes, Basic auth (account SID + auth token; no account in the path), JSON bodies:

- `POST /v1/Content` creates (201); `GET /v1/Content/{HX}` fetches; `DELETE /v1/Content/{HX}` (204);
  `GET /v1/Content` lists, oldest first, paged like Twilio's newer APIs:
  `{"contents": [...], "meta": {"page", "page_size", "first_page_url", "previous_page_url", "url",
  "next_page_url", "key": "contents"}}` with absolute URLs back to this sandbox.
- `POST /v1/Content/{HX}/ApprovalRequests/whatsapp {"name", "category", "allow_category_change"?}`
  answers 201 with `status: "received"`; from then on the request reads `approved`, or what a control
  set. `GET /v1/Content/{HX}/ApprovalRequests` → `{sid, account_sid, whatsapp: {...}, url}`
  (`whatsapp.status` is `unsubmitted` before any request). `GET /v1/ContentAndApprovals` lists both.

Test controls (no auth): `POST /_sandbox/content/{HX}/approval {"status": "approved"|"rejected"|"pending",
"rejection_reason"?}` sets the status of the request, or, before any request, the outcome the request
will get; `GET /_sandbox/content` lists every content with its approval; `DELETE /_sandbox/content`
forgets them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from rasa_project.sandboxes.twilio_api.clock import SandboxClock
from rasa_project.sandboxes.twilio_api.content import (
    APPROVAL_STATUSES,
    LIST_PICKER,
    NO_TYPES,
    Content,
    ContentError,
    parse_approval,
    parse_content,
)
from rasa_project.sandboxes.twilio_api.errors import twilio_error
from rasa_project.sandboxes.twilio_api.store import new_sid

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
Guard = Callable[[web.Request], Optional[web.Response]]


@dataclass
class ContentStore:
    """Contents by SID in creation order; `allow_unknown` lets sends name HX SIDs never created here."""

    account_sid: str
    clock: SandboxClock
    allow_unknown: bool = False
    contents: Dict[str, Content] = field(default_factory=dict)

    def get(self, sid: str) -> Content | None:
        return self.contents.get(sid)


CONTENT_KEY = web.AppKey("twilio_sandbox_contents", ContentStore)


def _base_url(request: web.Request) -> str:
    """Scheme and host the caller used (not `request.url`: it fails on hosts with a port here)."""
    return f"{request.scheme}://{request.host}"


def _invalid(reason: str) -> web.Response:
    return twilio_error(400, 20422, message=f"Invalid Parameter: {reason}")


def _paged(request: web.Request, records: List[Dict[str, Any]]) -> web.Response:
    try:
        page_size = int(request.query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(request.query.get("Page", 0))
    except ValueError:
        return _invalid("PageSize and Page must be integers")
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
        return _invalid("PageSize must be 1-1000 and Page non-negative")
    start = page * page_size

    def url(number: int) -> str:
        return f"{_base_url(request)}{request.path}?PageSize={page_size}&Page={number}"

    return web.json_response({"contents": records[start:start + page_size], "meta": {
        "page": page, "page_size": page_size, "first_page_url": url(0),
        "previous_page_url": url(page - 1) if page > 0 else None, "url": url(page),
        "next_page_url": url(page + 1) if start + page_size < len(records) else None, "key": "contents",
    }})


def add_content_routes(app: web.Application, contents: ContentStore, guard: Guard) -> None:
    """Register the Content API and its controls; `guard` answers 401 for bad credentials."""
    app[CONTENT_KEY] = contents

    async def body_of(request: web.Request) -> Any:
        try:
            return await request.json()
        except json.JSONDecodeError:
            raise ContentError("the request body must be JSON") from None

    def found(request: web.Request) -> Content | web.Response:
        content = contents.get(request.match_info["sid"])
        return content if content is not None else twilio_error(404, 20404, path=request.path)

    async def create(request: web.Request) -> web.Response:
        denied = guard(request)
        if denied is not None:
            return denied
        try:
            content = parse_content(await body_of(request), sid=new_sid("HX"), account_sid=contents.account_sid,
                                    now=contents.clock.iso())
        except ContentError as exc:
            return twilio_error(400, 20422, message=str(exc)) if str(exc) == NO_TYPES else _invalid(str(exc))
        contents.contents[content.sid] = content
        return web.json_response(content.resource(_base_url(request)), status=201)

    async def listing(request: web.Request) -> web.Response:
        denied = guard(request)  # not `denied or ...`: an aiohttp Response is an empty mapping, hence falsy
        if denied is not None:
            return denied
        base = _base_url(request)
        return _paged(request, [c.resource(base) for c in contents.contents.values()])

    async def with_approvals(request: web.Request) -> web.Response:
        denied = guard(request)
        if denied is not None:
            return denied
        records = [{k: v for k, v in c.resource("").items() if k not in ("url", "links")}
                   | {"approval_requests": c.whatsapp()} for c in contents.contents.values()]
        return _paged(request, records)

    async def fetch(request: web.Request) -> web.Response:
        denied = guard(request)
        content = found(request) if denied is None else denied
        return content if isinstance(content, web.Response) else web.json_response(
            content.resource(_base_url(request)))

    async def delete(request: web.Request) -> web.Response:
        denied = guard(request)
        content = found(request) if denied is None else denied
        if isinstance(content, web.Response):
            return content
        del contents.contents[content.sid]
        return web.Response(status=204)

    async def request_approval(request: web.Request) -> web.Response:
        denied = guard(request)
        content = found(request) if denied is None else denied
        if isinstance(content, web.Response):
            return content
        try:
            approval = parse_approval(await body_of(request), content)
        except ContentError as exc:
            return _invalid(str(exc))
        answer = approval.resource()  # Twilio answers "received"; the review happens afterwards
        approval.status, approval.rejection_reason = content.planned or ("approved", "")
        content.approval, content.planned = approval, None
        return web.json_response(answer, status=201)

    async def fetch_approval(request: web.Request) -> web.Response:
        denied = guard(request)
        content = found(request) if denied is None else denied
        if isinstance(content, web.Response):
            return content
        return web.json_response({"sid": content.sid, "account_sid": content.account_sid,
                                  "whatsapp": content.whatsapp(),
                                  "url": f"{_base_url(request)}/v1/Content/{content.sid}/ApprovalRequests"})

    async def control_approval(request: web.Request) -> web.Response:
        content = contents.get(request.match_info["sid"])
        if content is None:
            return web.json_response({"error": f"no content {request.match_info['sid']}"}, status=404)
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            payload = None
        status = payload.get("status") if isinstance(payload, dict) else None
        if status not in APPROVAL_STATUSES:
            return web.json_response({"error": f'expected {{"status": one of {APPROVAL_STATUSES}}}'}, status=400)
        if status == "approved" and content.kind == LIST_PICKER:
            return web.json_response({"error": "a twilio/list-picker can not be a WhatsApp template"}, status=400)
        reason = str(payload.get("rejection_reason") or "") if isinstance(payload, dict) else ""
        if content.approval is not None:
            content.approval.status, content.approval.rejection_reason = status, reason
        else:
            content.planned = (status, reason)
        return web.json_response({"sid": content.sid, "whatsapp": content.whatsapp(),
                                  "planned": content.planned[0] if content.planned else None})

    async def control_list(request: web.Request) -> web.Response:
        base = _base_url(request)
        return web.json_response({"contents": [c.resource(base) | {"approval_requests": c.whatsapp()}
                                               for c in contents.contents.values()]})

    async def control_clear(_: web.Request) -> web.Response:
        contents.contents.clear()
        return web.Response(status=204)

    app.router.add_post("/v1/Content", create)
    app.router.add_get("/v1/Content", listing)
    app.router.add_get("/v1/ContentAndApprovals", with_approvals)
    app.router.add_get("/v1/Content/{sid}", fetch)
    app.router.add_delete("/v1/Content/{sid}", delete)
    app.router.add_post("/v1/Content/{sid}/ApprovalRequests/whatsapp", request_approval)
    app.router.add_get("/v1/Content/{sid}/ApprovalRequests", fetch_approval)
    app.router.add_post("/_sandbox/content/{sid}/approval", control_approval)
    app.router.add_get("/_sandbox/content", control_list)
    app.router.add_delete("/_sandbox/content", control_clear)
