"""Which WhatsApp element a message's options become: quick-reply buttons, a list picker, or numbered text.

WhatsApp shows buttons only through Twilio Content resources, and only within these limits (in a
session message, without template approval; Twilio/WhatsApp count characters):
- up to 3 options, each title ≤ 20 and payload ≤ 200 → `twilio/quick-reply` (one tap, the title shown);
- up to 10 options, each title ≤ 24, description ≤ 72 (the button's own `description`, else
  "Opción N", since Twilio requires one), payload ≤ 200 → `twilio/list-picker`;
- anything else (more options, a longer title, repeated titles or payloads, no text to carry them,
  an SMS recipient, `whatsapp_native_buttons` off) → the numbered text of `options.py`.
A title is never shortened: a cut title would read wrong and no longer match what the client types.

The Content body is the variable `{{1}}` (filled per message through ContentVariables), so one
resource serves every message with the same options; `ContentSpec.key` names that resource.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from connectors.whatsapp.options import Option
from rasa_project.phones import WHATSAPP_PREFIX

QUICK_REPLY, LIST_PICKER = "twilio/quick-reply", "twilio/list-picker"
MAX_QUICK_REPLIES, QUICK_REPLY_TITLE = 3, 20
MAX_LIST_ITEMS, LIST_ITEM_TITLE, LIST_ITEM_DESCRIPTION = 10, 24, 72
MAX_ID = 200
CONTENT_MAX_BODY = 1024  # a Content body's limit (a plain message allows 1,600)
LIST_BUTTON = "Ver opciones"  # the list picker's button (≤ 20), what the client taps to open the list
BODY_VARIABLE = "1"
LANGUAGE = "es"


@dataclass(frozen=True)
class ContentSpec:
    """The Content resource one set of options needs: its type and its entries (title, id, description)."""

    kind: str
    entries: Tuple[Tuple[str, str, str], ...]

    @property
    def key(self) -> str:
        """sha256 of type + entries + the fixed parts: equal keys ⇔ the same resource can be reused."""
        canonical = json.dumps([self.kind, LIST_BUTTON if self.kind == LIST_PICKER else "", LANGUAGE,
                                [list(entry) for entry in self.entries]], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def definition(self) -> Dict[str, Any]:
        """The `POST /v1/Content` request body."""
        spec: Dict[str, Any] = {"body": "{{" + BODY_VARIABLE + "}}"}
        if self.kind == QUICK_REPLY:
            spec["actions"] = [{"title": title, "id": id_} for title, id_, _ in self.entries]
        else:
            spec["button"] = LIST_BUTTON
            spec["items"] = [{"item": title, "id": id_, "description": description}
                             for title, id_, description in self.entries]
        return {"friendly_name": f"opciones_{self.key[:16]}", "language": LANGUAGE,
                "variables": {BODY_VARIABLE: "Elige una opción"}, "types": {self.kind: spec}}

    @staticmethod
    def variables(text: str) -> str:
        """The ContentVariables of one message: its text as the body."""
        return json.dumps({BODY_VARIABLE: text}, ensure_ascii=False)


def _fits(options: Sequence[Option], descriptions: Sequence[str], title_limit: int) -> bool:
    titles = [o.title for o in options]
    payloads = [o.payload for o in options]
    return (all(0 < len(t) <= title_limit for t in titles) and all(0 < len(p) <= MAX_ID for p in payloads)
            and all(len(d) <= LIST_ITEM_DESCRIPTION for d in descriptions)
            and len(set(titles)) == len(titles) and len(set(payloads)) == len(payloads))


def choose_content(options: Sequence[Option], text: str, to: str, *, enabled: bool,
                   descriptions: Optional[Sequence[str]] = None) -> Optional[ContentSpec]:
    """The Content to send `options` with to `to` (Twilio's `To`), or None for numbered text.

    `text` is the part the buttons go with (≤ 1,024, see `CONTENT_MAX_BODY`); `descriptions` are the
    buttons' own descriptions ("" for none), in option order.
    """
    if not enabled or not options or not to.startswith(WHATSAPP_PREFIX):
        return None
    if not text.strip() or len(text) > CONTENT_MAX_BODY:
        return None
    described = list(descriptions or [])[:len(options)]
    described += [""] * (len(options) - len(described))
    if len(options) <= MAX_QUICK_REPLIES and not any(described) and _fits(options, [], QUICK_REPLY_TITLE):
        return ContentSpec(QUICK_REPLY, tuple((o.title, o.payload, "") for o in options))
    if len(options) <= MAX_LIST_ITEMS and _fits(options, described, LIST_ITEM_TITLE):
        pairs = enumerate(zip(options, described, strict=True), start=1)
        entries: List[Tuple[str, str, str]] = [(o.title, o.payload, d or f"Opción {n}") for n, (o, d) in pairs]
        return ContentSpec(LIST_PICKER, tuple(entries))
    return None


def button_descriptions(buttons: Sequence[Dict[str, Any]]) -> List[str]:
    """Each Rasa button's optional `description` (a list picker shows it under the title), "" for none."""
    return [str(b.get("description") or "").strip() for b in buttons or ()
            if str(b.get("title") or "").strip() or str(b.get("payload") or "").strip()]  # as options_from_buttons
