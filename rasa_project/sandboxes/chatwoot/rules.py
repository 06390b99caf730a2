"""What each change does, and the webhooks it sends, in the order Chatwoot's callbacks send them.

The behaviours a client must live with, as Chatwoot has them:
- a new conversation is `open` unless the request says `status` (send "pending" for a bot-handled one);
- every message is announced as `message_created`, the ones the client posts through the API included
  (an outgoing one is sent by the token's user, so `sender.type` is "user" there too), private notes too;
- an incoming message reopens a resolved (or snoozed) conversation *before* its `message_created`:
  `conversation_status_changed` and `conversation_updated` arrive first;
- `waiting_since` and `first_reply_created_at` move with the messages, and each move is a
  `conversation_updated` (first human reply, first incoming message after a reply, ...);
- `POST .../custom_attributes` replaces the whole object; status changes add an activity message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Tuple
from uuid import uuid4

from rasa_project.sandboxes.chatwoot.errors import (
    SourceIdTaken,
    could_not_create,
    internal_error,
    not_found,
    record_invalid,
)
from rasa_project.sandboxes.chatwoot.payloads import Payloads, iso
from rasa_project.sandboxes.chatwoot.store import (
    CONVERSATION_STATUSES,
    E164,
    MESSAGE_TYPES,
    ChatwootStore,
    Contact,
    ContactInbox,
    Conversation,
    Message,
    User,
    utc_now,
)
from rasa_project.sandboxes.chatwoot.webhooks import WebhookDispatcher

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # Devise.email_regexp, \A...\z
MAX_CONTENT = 150_000
SENDABLE = ("incoming", "outgoing", "template")  # Message#webhook_sendable?
SYSTEM_REOPEN = "System reopened the conversation due to a new incoming message."
STATUS_ACTIVITY = {
    "resolved": "Conversation was marked resolved by {name}",
    "open": "Conversation was reopened by {name}",
    "pending": "Conversation was marked as pending by {name}",
    "snoozed": "Conversation was snoozed by {name}",
}
FALSE_VALUES = (False, 0, "0", "f", "F", "false", "FALSE", "off", "OFF", "")


def cast_bool(value: Any) -> bool:
    """ActiveRecord's boolean cast."""
    return value is not None and value not in FALSE_VALUES


def as_object(value: Any) -> Dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass
class Change:
    name: str
    previous: Any
    current: Any


def changed_attributes(changes: List[Change]) -> List[Dict[str, Any]]:
    """`extract_changed_attributes`: [{attr: {previous_value, current_value}}], times as Rails writes them."""
    def value(raw: Any) -> Any:
        return iso(raw) if isinstance(raw, datetime) else raw
    return [{c.name: {"previous_value": value(c.previous), "current_value": value(c.current)}} for c in changes]


class ChatwootRules:
    def __init__(self, store: ChatwootStore, payloads: Payloads, webhooks: WebhookDispatcher) -> None:
        self.store = store
        self.payloads = payloads
        self.webhooks = webhooks

    # contacts ----------------------------------------------------------------------------------------------

    def _validate_contact(self, fields: Dict[str, Any]) -> None:
        messages: List[str] = []
        attributes: List[str] = []
        others = self.store.contacts.values()

        def fail(attribute: str, message: str) -> None:
            messages.append(message)
            if attribute not in attributes:
                attributes.append(attribute)

        email, identifier, phone = fields["email"], fields["identifier"], fields["phone_number"]
        if email:
            if not EMAIL.fullmatch(email):
                fail("email", "Email Invalid email")
            if any((c.email or "").lower() == email.lower() for c in others):
                fail("email", "Email has already been taken")
        if identifier and any(c.identifier == identifier for c in others):
            fail("identifier", "Identifier has already been taken")
        if phone:
            if not E164.search(phone):
                fail("phone_number", "Phone number should be in e164 format")
            if any(c.phone_number == phone for c in others):
                fail("phone_number", "Phone number has already been taken")
        if fields["name"] and len(fields["name"]) > 255:
            fail("name", "Name is too long (maximum is 255 characters)")
        if messages:
            raise record_invalid(messages, attributes)

    def create_contact(self, params: Mapping[str, Any]) -> Tuple[Contact, ContactInbox | None]:
        """`POST /contacts`: the contact, and its contact inbox when `inbox_id` is given (one transaction)."""
        def text(key: str) -> str | None:
            raw = params.get(key)
            return (str(raw).strip() or None) if raw is not None else None

        email = text("email")
        fields = {"name": text("name"), "email": email.lower() if email else None,
                  "phone_number": text("phone_number"), "identifier": text("identifier")}
        self._validate_contact(fields)
        inbox_id = params.get("inbox_id")
        if inbox_id not in (None, "") and str(inbox_id) != str(self.store.inbox.id):
            raise not_found()  # Current.account.inboxes.find raises; the transaction drops the contact
        source_id = text("source_id")
        if inbox_id not in (None, "") and source_id and self.store.contact_inbox_by_source(source_id):
            raise internal_error()
        contact = self.store.add_contact(
            additional_attributes=as_object(params.get("additional_attributes")),
            custom_attributes=as_object(params.get("custom_attributes")), **fields)
        contact_inbox = None if inbox_id in (None, "") else self.add_contact_inbox(contact, source_id)
        self.webhooks.emit("contact_created", self.payloads.contact_webhook(contact), f"contact:{contact.id}")
        return contact, contact_inbox

    def add_contact_inbox(self, contact: Contact, source_id: str | None) -> ContactInbox:
        """ContactInboxBuilder: a UUID when no `source_id` is given (API channel); the existing record for the
        same contact and source id; `SourceIdTaken` when another contact of the inbox holds it."""
        source_id = source_id or str(uuid4())
        existing = self.store.contact_inbox_by_source(source_id, self.store.inbox.id)
        if existing is not None:
            if existing.contact_id != contact.id:
                raise SourceIdTaken(source_id)
            return existing
        return self.store.add_contact_inbox(contact.id, source_id)

    # conversations -----------------------------------------------------------------------------------------

    def _lane(self, conversation: Conversation) -> str:
        return f"conversation:{conversation.id}"

    def _emit_conversation(self, event: str, conversation: Conversation, changes: List[Change] | None) -> None:
        payload = self.payloads.conversation_webhook(conversation)
        if changes is not None:
            payload["changed_attributes"] = changed_attributes(changes)
        self.webhooks.emit(event, payload, self._lane(conversation))

    def _update(self, conversation: Conversation, **values: Any) -> None:
        """`conversation.update(...)`: save what changed, touch `updated_at`, send `conversation_updated`."""
        changes = [Change(name, getattr(conversation, name), value) for name, value in values.items()
                   if getattr(conversation, name) != value]
        if not changes:
            return
        for change in changes:
            setattr(conversation, change.name, change.current)
        previous, conversation.updated_at = conversation.updated_at, utc_now()
        self._emit_conversation("conversation_updated", conversation,
                                changes + [Change("updated_at", previous, conversation.updated_at)])

    def create_conversation(self, contact_inbox: ContactInbox, params: Mapping[str, Any], user: User) -> Conversation:
        status = params.get("status") or "open"
        if status not in CONVERSATION_STATUSES:
            raise record_invalid([f"'{status}' is not a valid status"], ["status"])
        conversation = self.store.add_conversation(
            contact_inbox, status, as_object(params.get("additional_attributes")),
            as_object(params.get("custom_attributes")))
        self._emit_conversation("conversation_created", conversation, None)
        message = params.get("message")
        if isinstance(message, Mapping) and message:
            self.create_message(conversation, user, message)
        return conversation

    def change_status(self, conversation: Conversation, status: str, actor: User | None,
                      snoozed_until: datetime | None = None) -> None:
        """Save a new status: `conversation_status_changed`, an activity message, `conversation_updated`."""
        if status not in CONVERSATION_STATUSES:
            raise record_invalid([f"'{status}' is not a valid status"], ["status"])
        snoozed_until = snoozed_until if status == "snoozed" else None
        changes = [Change(name, getattr(conversation, name), value)
                   for name, value in (("status", status), ("snoozed_until", snoozed_until))
                   if getattr(conversation, name) != value]
        if not changes:
            return
        conversation.status, conversation.snoozed_until = status, snoozed_until
        previous, conversation.updated_at = conversation.updated_at, utc_now()
        if status == "resolved":
            conversation.waiting_since = None  # update_column: no event of its own
        self._emit_conversation("conversation_status_changed", conversation,
                                [c for c in changes if c.name == "status"])
        content = STATUS_ACTIVITY[status].format(name=actor.name) if actor is not None else SYSTEM_REOPEN
        self._add_message(conversation, content=content, message_type="activity", private=False,
                          sender=None, params={})
        self._emit_conversation("conversation_updated", conversation,
                                changes + [Change("updated_at", previous, conversation.updated_at)])

    def toggle_status(self, conversation: Conversation) -> None:
        """`Conversation#toggle_status` (no `status` given): open -> resolved, anything else -> open."""
        self.change_status(conversation, "resolved" if conversation.status == "open" else "open",
                           self.store.api_user)

    def set_custom_attributes(self, conversation: Conversation, attributes: Dict[str, Any]) -> None:
        self._update(conversation, custom_attributes=dict(attributes))

    # messages ----------------------------------------------------------------------------------------------

    def create_message(self, conversation: Conversation, actor: User, params: Mapping[str, Any]) -> Message:
        """Messages::MessageBuilder: `message_type` defaults to outgoing; incoming ones come from the contact."""
        message_type = params.get("message_type") or "outgoing"
        if message_type not in MESSAGE_TYPES:
            raise could_not_create(f"'{message_type}' is not a valid message_type")
        content = params.get("content")
        content = None if content is None else str(content)
        if content is not None and len(content) > MAX_CONTENT:
            raise could_not_create(f"Validation failed: Content is too long (maximum is {MAX_CONTENT} characters)")
        attributes = params.get("content_attributes")
        if isinstance(attributes, str):
            try:
                attributes = json.loads(attributes) if attributes.strip() else {}
            except ValueError as exc:
                raise could_not_create(f"content_attributes is not valid JSON: {exc}") from exc
        sender = self.store.contacts[conversation.contact_id] if message_type == "incoming" else actor
        return self._add_message(conversation, content=content, message_type=message_type,
                                 private=cast_bool(params.get("private")), sender=sender, params={
                                     "content_type": params.get("content_type") or "text",
                                     "content_attributes": as_object(attributes),
                                     "source_id": params.get("source_id"), "echo_id": params.get("echo_id")})

    def _add_message(self, conversation: Conversation, *, content: str | None, message_type: str, private: bool,
                     sender: User | Contact | None, params: Dict[str, Any]) -> Message:
        message = self.store.add_message(
            conversation, content=content, message_type=message_type, private=private,
            content_type=params.get("content_type", "text"),
            content_attributes=params.get("content_attributes", {}),
            source_id=params.get("source_id"), echo_id=params.get("echo_id"),
            sender_type=None if sender is None else ("User" if isinstance(sender, User) else "Contact"),
            sender_id=None if sender is None else sender.id)
        if message_type == "incoming":  # reopen_conversation, before anything is announced
            if conversation.status == "snoozed":
                self.change_status(conversation, "open", self.store.api_user)
            if conversation.status == "resolved":
                self.change_status(conversation, "open", None)
        conversation.last_activity_at = message.created_at
        if isinstance(sender, Contact):
            sender.last_activity_at = message.created_at
        if message_type in SENDABLE:
            self.webhooks.emit("message_created", self.payloads.message_webhook(message), self._lane(conversation))
        self._track_waiting(conversation, message)
        return message

    def _track_waiting(self, conversation: Conversation, message: Message) -> None:
        """`valid_first_reply?` / `update_waiting_since` from Message#dispatch_create_events."""
        human = message.message_type == "outgoing" and message.sender_type == "User"
        if not human and message.message_type != "incoming":
            return
        public_human = [m for m in self.store.messages_of(conversation.id)
                        if m.message_type == "outgoing" and m.sender_type == "User" and not m.private]
        if human and not message.private and conversation.first_reply_created_at is None and len(public_human) <= 1:
            self._update(conversation, first_reply_created_at=message.created_at, waiting_since=None)
            return
        if human and not message.private and conversation.waiting_since is not None:
            self._update(conversation, waiting_since=None)
        if message.message_type == "incoming" and conversation.waiting_since is None:
            self._update(conversation, waiting_since=message.created_at)

