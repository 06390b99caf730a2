"""The Chatwoot sandbox's state: one account, one API-channel inbox, users, contacts, contact inboxes,
conversations, messages, and the queue of scripted API faults.

Plain records and the id sequences Chatwoot keeps (contact ids, conversation display ids per account,
message ids). What each change does and which webhooks it sends lives in `rules.py`; how each record is
rendered lives in `payloads.py`. Everything runs on one event loop, so plain dicts need no locks.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

CONVERSATION_STATUSES = ("open", "resolved", "pending", "snoozed")
MESSAGE_TYPES = ("incoming", "outgoing", "activity", "template")
MESSAGE_TYPE_CODES = {name: code for code, name in enumerate(MESSAGE_TYPES)}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class User:
    """A Chatwoot user: the owner of the API token, or an agent answering from the dashboard."""

    id: int
    name: str
    email: str
    role: str = "administrator"


@dataclass
class Inbox:
    id: int
    channel_id: int
    name: str
    created_at: datetime
    webhook_url: str | None = None
    inbox_identifier: str = field(default_factory=lambda: secrets.token_urlsafe(18)[:24])


@dataclass
class Contact:
    id: int
    name: str | None
    email: str | None
    phone_number: str | None
    identifier: str | None
    additional_attributes: Dict[str, Any]
    custom_attributes: Dict[str, Any]
    created_at: datetime
    last_activity_at: datetime | None = None
    blocked: bool = False


@dataclass
class ContactInbox:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    created_at: datetime
    updated_at: datetime
    hmac_verified: bool = False
    pubsub_token: str = field(default_factory=lambda: secrets.token_urlsafe(18)[:24])


@dataclass
class Conversation:
    id: int  # the display id, which is what every API path and payload calls `id`
    uuid: str
    contact_id: int
    contact_inbox_id: int
    inbox_id: int
    status: str
    additional_attributes: Dict[str, Any]
    custom_attributes: Dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    waiting_since: datetime | None
    first_reply_created_at: datetime | None = None
    snoozed_until: datetime | None = None
    agent_last_seen_at: datetime | None = None
    assignee_id: int | None = None


@dataclass
class Message:
    id: int
    conversation_id: int
    content: str | None
    message_type: str
    private: bool
    content_type: str
    content_attributes: Dict[str, Any]
    source_id: str | None
    echo_id: str | None
    sender_type: str | None  # "User", "Contact", or None for activity messages
    sender_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Fault:
    """What the next matching API call gets instead of an answer: a status, a delay before it, or both."""

    status: int | None = None
    delay_ms: float = 0.0
    count: int = 1
    path: str | None = None  # only calls whose path contains this
    method: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Fault:
        if not isinstance(raw, dict) or not ({"status", "delay_ms"} & raw.keys()):
            raise ValueError(f"a fault is an object with `status` and/or `delay_ms`, got {raw!r}")
        status, delay, count = raw.get("status"), raw.get("delay_ms", 0), raw.get("count", 1)
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                                   or not 400 <= status <= 599):
            raise ValueError(f"`status` must be an HTTP error status (400-599), got {status!r}")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError(f"`delay_ms` must be a non-negative number, got {delay!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"`count` must be a positive integer, got {count!r}")
        method = raw.get("method")
        return cls(status=status, delay_ms=float(delay), count=count, path=raw.get("path"),
                   method=method.upper() if isinstance(method, str) else None)

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (self.method is None or self.method == method)


E164 = re.compile(r"\+[1-9]\d{1,14}\Z")  # Chatwoot's own check: anchored at the end only, as in contact.rb


class ChatwootStore:
    """Records by id, in creation order, with the lookups the API needs."""

    def __init__(self, account_id: int, inbox_id: int, *, account_name: str, inbox_name: str,
                 api_user_name: str) -> None:
        self.account: Dict[str, Any] = {"id": account_id, "name": account_name}
        self.inbox = Inbox(id=inbox_id, channel_id=inbox_id, name=inbox_name, created_at=utc_now())
        self._api_user_name = api_user_name
        self.faults: List[Fault] = []
        self.requests: List[Dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        self.users: Dict[int, User] = {}
        self.contacts: Dict[int, Contact] = {}
        self.contact_inboxes: Dict[int, ContactInbox] = {}
        self.conversations: Dict[int, Conversation] = {}
        self.messages: Dict[int, Message] = {}
        self.faults.clear()
        self.requests.clear()
        self._sequences: Dict[str, int] = {}
        slug = re.sub(r"[^a-z0-9]+", ".", self._api_user_name.lower()).strip(".") or "api"
        self.api_user = self._add_user(self._api_user_name, f"{slug}@sandbox.chatwoot.local")

    def next_id(self, kind: str) -> int:
        self._sequences[kind] = self._sequences.get(kind, 0) + 1
        return self._sequences[kind]

    def _add_user(self, name: str, email: str, role: str = "administrator") -> User:
        user = User(id=self.next_id("user"), name=name, email=email, role=role)
        self.users[user.id] = user
        return user

    def agent(self, name: str) -> User:
        """The dashboard agent called `name`, created on first use."""
        for user in self.users.values():
            if user.name == name and user.id != self.api_user.id:
                return user
        slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "agent"
        return self._add_user(name, f"{slug}@sandbox.chatwoot.local", role="agent")

    def add_contact(self, **fields: Any) -> Contact:
        contact = Contact(id=self.next_id("contact"), created_at=utc_now(), **fields)
        self.contacts[contact.id] = contact
        return contact

    def add_contact_inbox(self, contact_id: int, source_id: str) -> ContactInbox:
        now = utc_now()
        record = ContactInbox(id=self.next_id("contact_inbox"), contact_id=contact_id, inbox_id=self.inbox.id,
                              source_id=source_id, created_at=now, updated_at=now)
        self.contact_inboxes[record.id] = record
        return record

    def add_conversation(self, contact_inbox: ContactInbox, status: str, additional_attributes: Dict[str, Any],
                         custom_attributes: Dict[str, Any]) -> Conversation:
        now = utc_now()
        conversation = Conversation(
            id=self.next_id("conversation"), uuid=str(uuid.uuid4()), contact_id=contact_inbox.contact_id,
            contact_inbox_id=contact_inbox.id, inbox_id=contact_inbox.inbox_id, status=status,
            additional_attributes=additional_attributes, custom_attributes=custom_attributes,
            created_at=now, updated_at=now, last_activity_at=now, waiting_since=now,
        )
        self.conversations[conversation.id] = conversation
        return conversation

    def add_message(self, conversation: Conversation, **fields: Any) -> Message:
        now = utc_now()
        message = Message(id=self.next_id("message"), conversation_id=conversation.id, created_at=now,
                          updated_at=now, **fields)
        self.messages[message.id] = message
        return message

    def contact_inboxes_of(self, contact_id: int) -> List[ContactInbox]:
        return [ci for ci in self.contact_inboxes.values() if ci.contact_id == contact_id]

    def contact_inbox_by_source(self, source_id: str, inbox_id: Optional[int] = None) -> ContactInbox | None:
        for record in self.contact_inboxes.values():
            if record.source_id == source_id and inbox_id in (None, record.inbox_id):
                return record
        return None

    def messages_of(self, conversation_id: int) -> List[Message]:
        return [m for m in self.messages.values() if m.conversation_id == conversation_id]

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first queued fault that applies to this call."""
        for position, fault in enumerate(self.faults):
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.pop(position)
                return fault
        return None
