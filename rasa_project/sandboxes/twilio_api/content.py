"""Content templates (content.twilio.com/v1/Content): the model, Twilio's validation, rendering, approval.

Supported types and the limits Twilio documents for WhatsApp (characters counted as code points):

| type                 | fields                                                                          |
|----------------------|---------------------------------------------------------------------------------|
| `twilio/text`        | `body` 1-1600                                                                   |
| `twilio/quick-reply` | `body` 1-1024; `actions` 1-10 of `{title 1-20, id? ≤200}` (WhatsApp shows at    |
|                      | most 3 in session unless approved: more fail the send with 63021, see sending)  |
| `twilio/list-picker` | `body` 1-1024; `button` 1-20; `items` 1-10 of `{item 1-24, id 1-200,            |
|                      | description ≤72}`; never a WhatsApp template (approval refused, 63016 outside)  |

A refused create answers HTTP 400 with Twilio's error shape; Twilio does not document a code per
Content field, so the sandbox uses 20422 (Invalid Parameter) and names the field in `message`, except a
missing/empty `types`, which gets Twilio's own sentence. Placeholders are `{{1}}` or `{{name}}`, filled
from ContentVariables over the content's default `variables`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

TEXT, QUICK_REPLY, LIST_PICKER = "twilio/text", "twilio/quick-reply", "twilio/list-picker"
SUPPORTED_TYPES = (TEXT, QUICK_REPLY, LIST_PICKER)
RICH_TYPES = (LIST_PICKER, QUICK_REPLY)  # preferred over twilio/text for WhatsApp, in this order
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")
APPROVAL_STATUSES = ("approved", "rejected", "pending")
MAX_ACTIONS, MAX_SESSION_ACTIONS, MAX_ITEMS = 10, 3, 10
NO_TYPES = "Invalid types. At least one content type definition is required"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")


class ContentError(ValueError):
    """A create or approval request Twilio would refuse; the text names the parameter."""


@dataclass
class Approval:
    """The WhatsApp approval request of one content (`status` moves on, or a test control moves it)."""

    name: str
    category: str
    content_type: str
    status: str = "received"
    rejection_reason: str = ""
    allow_category_change: bool = False

    def resource(self) -> Dict[str, Any]:
        return {"name": self.name, "category": self.category, "content_type": self.content_type,
                "status": self.status, "rejection_reason": self.rejection_reason,
                "allow_category_change": self.allow_category_change}


@dataclass
class Content:
    sid: str
    account_sid: str
    friendly_name: str
    language: str
    variables: Dict[str, str]
    types: Dict[str, Dict[str, Any]]
    date_created: str
    date_updated: str
    approval: Approval | None = None
    planned: Tuple[str, str] | None = None  # (status, reason) a control set before any request

    @property
    def kind(self) -> str:
        """The type WhatsApp shows: a rich type when there is one, else twilio/text."""
        return next((t for t in RICH_TYPES if t in self.types), TEXT)

    @property
    def is_template(self) -> bool:
        """Approved for WhatsApp and of a type that may open a conversation (list-picker never may)."""
        return self.approval is not None and self.approval.status == "approved" and self.kind != LIST_PICKER

    def whatsapp(self) -> Dict[str, Any]:
        if self.approval is None:
            return {"type": "whatsapp", "name": "", "category": "", "content_type": self.kind,
                    "status": "unsubmitted", "rejection_reason": "", "allow_category_change": False}
        return {"type": "whatsapp", **self.approval.resource()}

    def resource(self, base_url: str) -> Dict[str, Any]:
        url = f"{base_url}/v1/Content/{self.sid}"
        return {
            "account_sid": self.account_sid, "date_created": self.date_created,
            "date_updated": self.date_updated, "friendly_name": self.friendly_name,
            "language": self.language, "links": {"approval_create": f"{url}/ApprovalRequests/whatsapp",
                                                 "approval_fetch": f"{url}/ApprovalRequests"},
            "sid": self.sid, "types": self.types, "url": url, "variables": self.variables,
        }


def _text(path: str, value: Any, limit: int, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ContentError(f"{path} is required and must be a non-empty string")
    if len(value) > limit:
        raise ContentError(f"{path} must be at most {limit} characters, got {len(value)}")
    return value


def _entries(path: str, value: Any, limit: int) -> List[Dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(e, dict) for e in value):
        raise ContentError(f"{path} must be a list of 1 to {limit} objects")
    if len(value) > limit:
        raise ContentError(f"{path} must have at most {limit} entries, got {len(value)}")
    return value


def _check_type(name: str, spec: Any) -> None:
    path = f"types.{name}"
    if name not in SUPPORTED_TYPES:
        raise ContentError(f"{path} is not a type this sandbox supports ({', '.join(SUPPORTED_TYPES)})")
    if not isinstance(spec, dict):
        raise ContentError(f"{path} must be an object")
    _text(f"{path}.body", spec.get("body"), 1600 if name == TEXT else 1024)
    if name == QUICK_REPLY:
        for n, action in enumerate(_entries(f"{path}.actions", spec.get("actions"), MAX_ACTIONS)):
            if action.get("type", "QUICK_REPLY") != "QUICK_REPLY":
                raise ContentError(f"{path}.actions[{n}].type must be QUICK_REPLY")
            _text(f"{path}.actions[{n}].title", action.get("title"), 20)
            _text(f"{path}.actions[{n}].id", action.get("id"), 200, required=False)
    elif name == LIST_PICKER:
        _text(f"{path}.button", spec.get("button"), 20)
        for n, item in enumerate(_entries(f"{path}.items", spec.get("items"), MAX_ITEMS)):
            _text(f"{path}.items[{n}].item", item.get("item"), 24)
            _text(f"{path}.items[{n}].id", item.get("id"), 200)
            _text(f"{path}.items[{n}].description", item.get("description"), 72)


def parse_content(payload: Any, *, sid: str, account_sid: str, now: str) -> Content:
    """A `Content` from the create request's JSON; raises ContentError as Twilio would refuse it."""
    if not isinstance(payload, dict):
        raise ContentError("the request body must be a JSON object")
    types = payload.get("types")
    if not isinstance(types, dict) or not types:
        raise ContentError(NO_TYPES)
    for name, spec in types.items():
        _check_type(name, spec)
    language = _text("language", payload.get("language"), 35)
    friendly_name = payload.get("friendly_name", "")
    variables = payload.get("variables", {}) or {}
    if not isinstance(friendly_name, str):
        raise ContentError("friendly_name must be a string")
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ContentError('variables must be an object of strings, e.g. {"1": "Ana"}')
    return Content(sid, account_sid, friendly_name, language or "", {str(k): v for k, v in variables.items()},
                   types, now, now)


def parse_approval(payload: Any, content: Content) -> Approval:
    """The WhatsApp approval request (`name`, `category`, `allow_category_change`?) for `content`."""
    if not isinstance(payload, dict):
        raise ContentError("the request body must be a JSON object")
    name, category = payload.get("name"), payload.get("category")
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
        raise ContentError("name is required: lowercase letters, digits and underscores only")
    if category not in CATEGORIES:
        raise ContentError(f"category must be one of {', '.join(CATEGORIES)}")
    if content.kind == LIST_PICKER:
        raise ContentError("twilio/list-picker content can not be submitted for WhatsApp approval")
    return Approval(name, category, content.kind,
                    allow_category_change=bool(payload.get("allow_category_change", False)))


def fill(text: str, values: Dict[str, str], missing: List[str]) -> str:
    """`text` with each `{{key}}` replaced; keys without a value stay as they are and go to `missing`."""

    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        missing.append(key)
        return match.group(0)

    return PLACEHOLDER.sub(replace, text)


@dataclass
class Rendered:
    """What the recipient sees of one content send."""

    content_type: str
    body: str
    actions: List[Dict[str, Any]] | None = None
    items: List[Dict[str, Any]] | None = None
    button: str | None = None
    missing: List[str] = field(default_factory=list)


def render(content: Content, variables: Dict[str, str], *, whatsapp: bool) -> Rendered:
    """Fill the placeholders; WhatsApp gets the rich type, SMS the twilio/text one when there is one."""
    kind = content.kind if whatsapp or TEXT not in content.types else TEXT
    spec, values = content.types[kind], {**content.variables, **variables}
    missing: List[str] = []
    rendered = Rendered(kind, fill(spec["body"], values, missing), missing=missing)
    if kind == QUICK_REPLY:
        rendered.actions = [{"title": fill(a["title"], values, missing),
                             "id": fill(a["id"], values, missing) if a.get("id") is not None else None}
                            for a in spec["actions"]]
    elif kind == LIST_PICKER:
        rendered.button = fill(spec["button"], values, missing)
        rendered.items = [{key: fill(item[key], values, missing) for key in ("item", "id", "description")}
                          for item in spec["items"]]
    return rendered
