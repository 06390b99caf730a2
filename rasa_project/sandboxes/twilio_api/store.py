"""In-memory state of the Twilio sandbox: accepted messages, scripted faults, delivery rules, counters, clock.

Kept apart from the HTTP handlers so the rules (what is recorded, in which order, what a fault consumes)
read in one place. Everything runs on one event loop, so plain dicts and lists need no locks; the only
waiting is the long-poll, done with an `asyncio.Event` that is replaced on every new message.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Dict, List, Tuple

from rasa_project.sandboxes.twilio_api.clock import SandboxClock

API_VERSION = "2010-04-01"
TERMINAL_FAILURES = ("failed", "undelivered")


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two-letter prefix and 32 lowercase hex digits."""
    return prefix + uuid.uuid4().hex


def rfc2822_now() -> str:
    """Twilio's date format, e.g. `Tue, 26 Nov 2024 01:18:00 +0000`."""
    return format_datetime(datetime.now(timezone.utc).replace(microsecond=0))


def _segments(body: str, to: str) -> str:
    """WhatsApp never splits; SMS uses 153 GSM-7 or 67 UCS-2 characters per concatenated part."""
    if to.startswith("whatsapp:") or not body:
        return "1"
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return "1" if len(body) <= single else str(-(-len(body) // multi))


def initial_status(messaging_service_sid: str | None) -> str:
    """The status a new Message resource has (its create response): Twilio sends no callback for it."""
    return "accepted" if messaging_service_sid else "queued"


@dataclass
class Message:
    """One accepted outbound message: Twilio's resource plus what the sandbox records for tests."""

    index: int
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    media_urls: List[str]
    messaging_service_sid: str | None
    status_callback: str | None
    content_sid: str | None
    content_variables: str | None
    final_status: str = "delivered"
    final_error: Tuple[int, str] | None = None
    status: str = "queued"
    error_code: int | None = None
    error_message: str | None = None
    date_created: str = field(default_factory=rfc2822_now)
    date_updated: str = ""
    date_sent: str | None = None
    # Sent by ContentSid: what the recipient sees (see `sending.py`); None for Body/media sends.
    content_type: str | None = None
    rendered_body: str | None = None
    actions: List[Dict[str, Any]] | None = None
    items: List[Dict[str, Any]] | None = None
    button: str | None = None
    approved_template: bool | None = None

    def __post_init__(self) -> None:
        self.date_updated = self.date_updated or self.date_created

    def set_status(self, status: str, now: str | None = None) -> None:
        """Move to `status` (at `now`, RFC 2822); terminal failures carry their error, as Twilio's do."""
        self.status = status
        self.date_updated = now or rfc2822_now()
        if status == "sent" and self.date_sent is None:
            self.date_sent = self.date_updated
        if status in TERMINAL_FAILURES and self.final_error is not None:
            self.error_code, self.error_message = self.final_error

    def resource(self) -> Dict[str, Any]:
        """The JSON Twilio returns for a Message resource (the fields twilio-python 8.2.2 parses)."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": self.date_created,
            "date_sent": self.date_sent,
            "date_updated": self.date_updated,
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": _segments(self.body, self.to),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}/Media.json",
                "feedback": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}/Feedback.json",
            },
            "to": self.to,
            "uri": uri,
        }

    def record(self) -> Dict[str, Any]:
        """What `/_sandbox/messages` shows: the resource plus the request fields a test asserts on."""
        return {
            **self.resource(),
            "index": self.index,
            "media_urls": list(self.media_urls),
            "status_callback": self.status_callback,
            "content_sid": self.content_sid,
            "content_variables": self.content_variables,
            "content_type": self.content_type,
            "rendered_body": self.rendered_body,
            "actions": self.actions,
            "items": self.items,
            "button": self.button,
            "approved_template": self.approved_template,
        }


@dataclass(frozen=True)
class Fault:
    """One scripted outcome for the next matching create call: a delay, an error status, or both."""

    status: int | None = None
    delay_ms: int = 0
    code: int | None = None
    message: str | None = None
    retry_after: str | None = None
    to: str | None = None

    @classmethod
    def from_json(cls, outcome: Dict[str, Any], to: str | None) -> Fault:
        status = outcome.get("status")
        if status is not None and not (400 <= int(status) <= 599):
            raise ValueError(f"fault status must be an HTTP error status (400-599), got {status!r}")
        retry_after = outcome.get("retry_after")
        return cls(
            status=int(status) if status is not None else None,
            delay_ms=int(outcome.get("delay_ms", 0)),
            code=int(outcome["code"]) if outcome.get("code") is not None else None,
            message=outcome.get("message"),
            retry_after=str(retry_after) if retry_after is not None else None,
            to=outcome.get("to", to),
        )


@dataclass(frozen=True)
class DeliveryRule:
    """How messages to one recipient end: `failed`/`undelivered` (or `rejected` at create), with the code."""

    final_status: str
    error_code: int
    error_message: str


class SandboxStore:
    """Messages by SID and in arrival order, the fault queue, per-recipient delivery rules, counters."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.messages: Dict[str, Message] = {}
        self.log: List[Message] = []
        self.last_index = 0
        self.faults: List[Fault] = []
        self.delivery_rules: Dict[str, DeliveryRule] = {}
        self.stats: Counter = Counter()
        self.rejected: Counter = Counter()
        self._arrived = asyncio.Event()

    def add(self, **fields: Any) -> Message:
        """Record an accepted message with the next index and wake every long-poll."""
        self.last_index += 1
        rule = self.delivery_rules.get(fields["to"])
        fields.setdefault("date_created", self.clock.rfc2822())
        message = Message(index=self.last_index, sid=new_sid("SM"),
                          status=initial_status(fields.get("messaging_service_sid")), **fields)
        if rule is not None and rule.final_status != "rejected":
            message.final_status = rule.final_status
            message.final_error = (rule.error_code, rule.error_message)
        self.messages[message.sid] = message
        self.log.append(message)
        self.stats["accepted"] += 1
        self._arrived.set()
        self._arrived = asyncio.Event()
        return message

    def rejection_for(self, to: str) -> DeliveryRule | None:
        """The rule that makes Twilio refuse a create for `to` (e.g. 21610, opted out), if any."""
        rule = self.delivery_rules.get(to)
        return rule if rule is not None and rule.final_status == "rejected" else None

    def clear_messages(self) -> None:
        """Forget recorded messages; indexes keep growing so a reader's `after` stays meaningful."""
        self.messages.clear()
        self.log.clear()

    def take_fault(self, to: str | None) -> Fault | None:
        """Pop the first queued fault that applies to a create call for `to`."""
        for position, fault in enumerate(self.faults):
            if fault.to is None or fault.to == to:
                return self.faults.pop(position)
        return None

    def count_rejection(self, status: int) -> None:
        self.rejected[str(status)] += 1

    def select(self, to: str | None, after: int) -> List[Dict[str, Any]]:
        return [m.record() for m in self.log if m.index > after and (to is None or m.to == to)]

    async def wait_for(self, to: str | None, after: int, wait: float) -> List[Dict[str, Any]]:
        """Messages with index > `after` (for `to`), waiting up to `wait` seconds for the first one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        while True:
            found = self.select(to, after)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                pass

    def snapshot_stats(self) -> Dict[str, Any]:
        return {
            "create_attempts": self.stats["create_attempts"],
            "accepted": self.stats["accepted"],
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "faults_pending": len(self.faults),
            "callbacks_sent": self.stats["callbacks_sent"],
            "callback_failures": self.stats["callback_failures"],
            "messages_recorded": len(self.log),
            "last_index": self.last_index,
        }

    def reset_stats(self) -> None:
        self.stats.clear()
        self.rejected.clear()
