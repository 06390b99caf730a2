"""What one `POST .../Messages.json` becomes beyond its form: content rendering, refusals, late failures.

Checked in Twilio's order, after the form checks of `app._validate`:

1. `ContentVariables` without `ContentSid` → 400 21654; a `ContentSid` that is not `HX` + 32 hex, or
   names no content of this account (never created, or deleted) → 400 21655 (unless the sandbox was
   built with `allow_unknown_content`: then it is sent as an opaque approved template, unrendered);
   `ContentVariables` that is not a JSON object of strings/numbers → 400 21656.
2. A recipient made `rejected` by `/_sandbox/delivery` (21610, opted out) → 400 with that code.
3. Accepted (201, `queued`), but ending `failed` through the status callback when:
   - 63016: WhatsApp recipient outside the 24-hour window (see `window.py`) and the send is free-form:
     Body/media, or Content that is not an approved template. A template's text sent as Body is
     free-form too, exactly as on Twilio since April 2025;
   - 63021: an unapproved `twilio/quick-reply` with more than 3 buttons sent over WhatsApp (WhatsApp
     shows at most 3 in session; Twilio documents no code for it, 63021 is its "invalid content");
   - 63028: a placeholder with neither a ContentVariables value nor a default in `variables`.
   Otherwise the recipient's delivery rule, if any, decides (`controls.py`).

A content send records the rendered text as the message `body` (what the recipient reads), and
`content_type`, `rendered_body`, `actions` (quick-reply `[{title, id}]`), `button` and `items`
(list-picker `[{item, id, description}]`) and `approved_template` in `/_sandbox/messages`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

from aiohttp import web

from rasa_project.sandboxes.twilio_api.content import MAX_SESSION_ACTIONS, QUICK_REPLY, render
from rasa_project.sandboxes.twilio_api.content_api import ContentStore
from rasa_project.sandboxes.twilio_api.errors import DELIVERY_ERRORS, twilio_error
from rasa_project.sandboxes.twilio_api.store import SandboxStore
from rasa_project.sandboxes.twilio_api.window import CustomerWindow, is_whatsapp

CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")

Failure = Tuple[str, Tuple[int, str]]  # (final status, (error code, error message))


@dataclass
class Prepared:
    """An accepted send: the body to record, the content fields, and a failure decided at create."""

    body: str
    fields: Dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None


def _failed(code: int) -> Failure:
    return "failed", (code, DELIVERY_ERRORS[code])


def parse_variables(raw: str | None) -> Dict[str, str]:
    """ContentVariables: a JSON object whose values are strings or numbers; ValueError otherwise."""
    if not raw:
        return {}
    values = json.loads(raw)
    if not isinstance(values, dict):
        raise ValueError("ContentVariables must be a JSON object")
    for value in values.values():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("ContentVariables values must be strings")
    return {str(key): str(value) for key, value in values.items()}


def prepare(form: Any, store: SandboxStore, contents: ContentStore, window: CustomerWindow) -> Prepared | web.Response:
    """The create's content and window outcome, or Twilio's 4xx refusal."""
    to, sid, raw_variables = form["To"], form.get("ContentSid") or None, form.get("ContentVariables") or None
    if raw_variables and not sid:
        return twilio_error(400, 21654)
    prepared, freeform = Prepared(form.get("Body", "")), True
    if sid:
        content = contents.get(sid) if CONTENT_SID.fullmatch(sid) else None
        if content is None and not (contents.allow_unknown and CONTENT_SID.fullmatch(sid)):
            return twilio_error(400, 21655)
        try:
            variables = parse_variables(raw_variables)
        except ValueError:  # json.JSONDecodeError included
            return twilio_error(400, 21656)
        if content is None:  # allowed unknown SID: an opaque template, as the real one would be
            prepared.fields["approved_template"], freeform = True, False
        else:
            rendered, template = render(content, variables, whatsapp=is_whatsapp(to)), content.is_template
            freeform = not template
            prepared.body = rendered.body
            prepared.fields = {"content_type": rendered.content_type, "rendered_body": rendered.body,
                               "actions": rendered.actions, "items": rendered.items, "button": rendered.button,
                               "approved_template": template}
            if rendered.missing:
                prepared.failure = _failed(63028)
            elif (is_whatsapp(to) and rendered.content_type == QUICK_REPLY and not template
                  and len(rendered.actions or []) > MAX_SESSION_ACTIONS):
                prepared.failure = _failed(63021)
    rule = store.rejection_for(to)
    if rule is not None:
        return twilio_error(400, rule.error_code, rule.error_message)
    if window.blocks(to, freeform):
        prepared.failure = _failed(63016)
    return prepared
