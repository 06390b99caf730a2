"""The outbound rules of WhatsApp and SMS as pure decisions (no I/O): the 24-hour window, which form a
template-capable message takes, and the error codes that change what we do next.

WhatsApp lets a business send free-form messages (text, media, buttons) only within 24 hours of the
client's last message; outside it only an approved template goes, by ContentSid + ContentVariables
(its text as Body fails with 63016 since April 2025). SMS has no window and no templates. The channel
decides here and never asks Twilio to send what would fail: a refused send costs money and can lower
the number's quality rating. See docs/whatsapp-window.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional

from rasa_project.phones import SMS

OUTSIDE_WINDOW = 63016  # "outside the allowed window": retried once as the template, when it has one
# "this number cannot get WhatsApp from us": invalid/inactive number, not a WhatsApp user (or an old app),
# the client sent STOP, the client blocked the business. Proactive messages stop until the client writes.
UNDELIVERABLE_CODES = frozenset({63003, 63024, 21610, 63014})
FOLLOW_UP_TEMPLATE = "seguimiento"  # a late reply of a retried turn, outside the window
FOLLOW_UP_NAMELESS = "de nuevo"  # "Hola de nuevo, tenemos una respuesta..." when the profile has no name

NO_TEMPLATE = "outside_window_no_template"


def window_open(last_inbound_at: Optional[datetime], now: datetime, hours: float, medium: str) -> bool:
    """May a free-form message go? Always for SMS; on WhatsApp within `hours` of the last inbound message
    (a client who never wrote is outside). Times are naive UTC, as in the channel's tables."""
    if medium == SMS:
        return True
    return last_inbound_at is not None and now - last_inbound_at < timedelta(hours=hours)


class InvalidTemplateSpec(ValueError):
    """A `{"template": ...}` custom message without a name or text: a bug in the action that sent it."""


@dataclass(frozen=True)
class TemplateSpec:
    """`dispatcher.utter_message(json_message={"template": {...}})`: the contract proactive actions use.

    `text` and `buttons` go inside the window (exactly as a text with buttons); outside it the approved
    template `name` goes, filled with `variables` ({"1": "Ana", ...}). The buttons' options are stored
    either way, so "1"/"2"/"3" or a tap maps back to their payloads."""

    name: str
    text: str
    variables: Dict[str, str] = field(default_factory=dict)
    buttons: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> TemplateSpec:
        if not isinstance(raw, Mapping):
            raise InvalidTemplateSpec(f"template must be an object, got {type(raw).__name__}")
        name, text = str(raw.get("name") or "").strip(), str(raw.get("text") or "").strip()
        if not name or not text:
            raise InvalidTemplateSpec("template needs a name and the free-form text")
        variables = raw.get("variables", {})
        buttons = raw.get("buttons", [])
        variables, buttons = ({} if variables is None else variables), ([] if buttons is None else buttons)
        if not isinstance(variables, Mapping) or not isinstance(buttons, list):
            raise InvalidTemplateSpec("template variables must be an object and buttons a list")
        return cls(name, text, {str(k): str(v) for k, v in variables.items()},
                   [dict(b) for b in buttons if isinstance(b, Mapping)])

    @property
    def ref(self) -> TemplateRef:
        return TemplateRef(self.name, self.variables)


@dataclass(frozen=True)
class TemplateRef:
    """A template by our name and its variables: what an outbound row keeps for its one 63016 retry."""

    name: str
    variables: Dict[str, str] = field(default_factory=dict)

    @property
    def content_variables(self) -> str:
        """Twilio's `ContentVariables`: the variables as a JSON object of strings."""
        return json.dumps(self.variables, ensure_ascii=False, sort_keys=True)

    @classmethod
    def stored(cls, name: Optional[str], variables: Optional[str]) -> Optional[TemplateRef]:
        if not name:
            return None
        loaded = json.loads(variables or "{}")
        return cls(name, {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {})


@dataclass(frozen=True)
class TemplateChoice:
    """How a template-capable message goes: `session` (free-form, inside the window), `template` (by
    `content_sid`) or `skip` (outside the window and no approved SID: `reason` is recorded)."""

    form: str
    content_sid: Optional[str] = None
    reason: Optional[str] = None


def choose_template_form(name: str, inside_window: bool, sids: Mapping[str, str]) -> TemplateChoice:
    if inside_window:
        return TemplateChoice("session")
    sid = sids.get(name)
    if sid:
        return TemplateChoice("template", content_sid=sid)
    return TemplateChoice("skip", reason=f"{NO_TEMPLATE}:{name}")


def follow_up(profile_name: Optional[str]) -> TemplateRef:
    """The `seguimiento` template for a client: their first name, or a word that reads well without one."""
    first = (profile_name or "").strip().split(" ")[0][:40]
    return TemplateRef(FOLLOW_UP_TEMPLATE, {"1": first or FOLLOW_UP_NAMELESS})
