"""Every JSON shape the sandbox sends, built the way Chatwoot builds it.

Two families, as in Chatwoot:
- the API views (jbuilder partials): `contact`, `contact_inbox`, `conversation`, `message`, with times as
  epoch seconds and `message_type` as its enum number (0 incoming, 1 outgoing, 2 activity, 3 template);
- the webhook data (`webhook_data` / `push_event_data` on the models, `Conversations::EventDataPresenter`):
  `message_webhook`, `conversation_webhook`, `contact_webhook`, with `message_type` as its name and the
  message's `created_at` as Rails serializes a time (ISO 8601 with milliseconds, e.g.
  "2024-05-06T12:34:56.789Z"); `updated_at` of a conversation is a float, as `updated_at.to_f`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

from rasa_project.sandboxes.chatwoot.store import (
    MESSAGE_TYPE_CODES,
    ChatwootStore,
    Contact,
    ContactInbox,
    Conversation,
    Message,
    User,
)

JSON = Dict[str, Any]
UNREAD_LIMIT = 10  # unread_incoming_messages is `.incoming.last(10)`


def iso(value: datetime | None) -> str | None:
    """A time as Rails' JSON encoder writes it (UTC, milliseconds, `Z`)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch(value: datetime | None) -> int:
    """`time.to_i`; Ruby's `nil.to_i` is 0, which Chatwoot sends for times never set."""
    return int(value.timestamp()) if value is not None else 0


class Payloads:
    """Renders records from the store; stateless apart from reading it."""

    def __init__(self, store: ChatwootStore) -> None:
        self.store = store

    # account, inbox, users -------------------------------------------------------------------------------

    def account(self) -> JSON:
        return {"id": self.store.account["id"], "name": self.store.account["name"]}

    def inbox_webhook(self) -> JSON:
        return {"id": self.store.inbox.id, "name": self.store.inbox.name}

    def inbox(self) -> JSON:
        """`api/v1/models/_inbox` for an API channel (the fields a client reads)."""
        inbox = self.store.inbox
        return {
            "id": inbox.id, "avatar_url": "", "channel_id": inbox.channel_id, "name": inbox.name,
            "channel_type": "Channel::Api", "greeting_enabled": False, "greeting_message": None,
            "working_hours_enabled": False, "enable_email_collect": True, "csat_survey_enabled": False,
            "enable_auto_assignment": True, "out_of_office_message": None, "timezone": "UTC",
            "allow_messages_after_resolved": True, "lock_to_single_conversation": False,
            "webhook_url": inbox.webhook_url, "inbox_identifier": inbox.inbox_identifier,
            "additional_attributes": {}, "provider": None,
        }

    def inbox_model(self) -> JSON:
        """The Inbox record's `as_json`, which `POST /contacts` puts under `payload.contact_inbox.inbox`."""
        inbox = self.store.inbox
        return {
            "id": inbox.id, "channel_id": inbox.channel_id, "account_id": self.store.account["id"],
            "name": inbox.name, "created_at": iso(inbox.created_at), "updated_at": iso(inbox.created_at),
            "channel_type": "Channel::Api", "enable_auto_assignment": True, "greeting_enabled": False,
            "greeting_message": None, "email_address": None, "working_hours_enabled": False,
            "out_of_office_message": None, "timezone": "UTC", "enable_email_collect": True,
            "csat_survey_enabled": False, "allow_messages_after_resolved": True, "auto_assignment_config": {},
            "lock_to_single_conversation": False, "portal_id": None, "sender_name_type": "friendly",
            "business_name": None,
        }

    @staticmethod
    def user_push(user: User) -> JSON:
        return {"id": user.id, "name": user.name, "available_name": user.name, "avatar_url": "",
                "type": "user", "availability_status": "online", "thumbnail": ""}

    @staticmethod
    def user_webhook(user: User) -> JSON:
        return {"id": user.id, "name": user.name, "email": user.email, "type": "user"}

    # contacts ----------------------------------------------------------------------------------------------

    def contact(self, contact: Contact, *, with_contact_inboxes: bool = True) -> JSON:
        """`api/v1/models/_contact`."""
        data: JSON = {
            "additional_attributes": contact.additional_attributes, "availability_status": "offline",
            "email": contact.email, "id": contact.id, "name": contact.name,
            "phone_number": contact.phone_number, "blocked": contact.blocked,
            "identifier": contact.identifier, "thumbnail": "", "custom_attributes": contact.custom_attributes,
        }
        if contact.last_activity_at is not None:
            data["last_activity_at"] = epoch(contact.last_activity_at)
        data["created_at"] = epoch(contact.created_at)
        if with_contact_inboxes:
            data["contact_inboxes"] = [self.contact_inbox(ci) for ci in self.store.contact_inboxes_of(contact.id)]
        return data

    def contact_inbox(self, record: ContactInbox) -> JSON:
        """`api/v1/models/_contact_inbox`."""
        return {"source_id": record.source_id, "inbox": self.inbox()}

    @staticmethod
    def contact_inbox_model(record: ContactInbox) -> JSON:
        return {
            "id": record.id, "contact_id": record.contact_id, "inbox_id": record.inbox_id,
            "source_id": record.source_id, "created_at": iso(record.created_at),
            "updated_at": iso(record.updated_at), "hmac_verified": record.hmac_verified,
            "pubsub_token": record.pubsub_token,
        }

    @staticmethod
    def contact_push(contact: Contact) -> JSON:
        return {
            "additional_attributes": contact.additional_attributes,
            "custom_attributes": contact.custom_attributes, "email": contact.email, "id": contact.id,
            "identifier": contact.identifier, "name": contact.name, "phone_number": contact.phone_number,
            "thumbnail": "", "blocked": contact.blocked, "type": "contact",
        }

    def contact_webhook(self, contact: Contact) -> JSON:
        return {
            "account": self.account(), "additional_attributes": contact.additional_attributes, "avatar": "",
            "custom_attributes": contact.custom_attributes, "email": contact.email, "id": contact.id,
            "identifier": contact.identifier, "name": contact.name, "phone_number": contact.phone_number,
            "thumbnail": "", "blocked": contact.blocked, "type": "contact",
        }

    # messages ----------------------------------------------------------------------------------------------

    def _sender_push(self, message: Message) -> JSON | None:
        if message.sender_type == "User" and message.sender_id in self.store.users:
            return self.user_push(self.store.users[message.sender_id])
        if message.sender_type == "Contact" and message.sender_id in self.store.contacts:
            return self.contact_push(self.store.contacts[message.sender_id])
        return None

    def message(self, message: Message) -> JSON:
        """`api/v1/models/_message`: what `POST` and `GET .../messages` answer."""
        data: JSON = {"id": message.id, "content": message.content, "inbox_id": self.store.inbox.id}
        if message.echo_id:
            data["echo_id"] = message.echo_id
        data.update({
            "conversation_id": message.conversation_id,
            "message_type": MESSAGE_TYPE_CODES[message.message_type],
            "content_type": message.content_type, "status": "sent",
            "content_attributes": message.content_attributes, "created_at": epoch(message.created_at),
            "private": message.private, "source_id": message.source_id,
        })
        sender = self._sender_push(message)
        if sender is not None:
            data["sender"] = sender
        return data

    def message_push(self, message: Message) -> JSON:
        """`Message#push_event_data`: the record's attributes plus the conversation it belongs to."""
        conversation = self.store.conversations[message.conversation_id]
        contact_inbox = self.store.contact_inboxes[conversation.contact_inbox_id]
        data: JSON = {
            "id": message.id, "content": message.content, "account_id": self.store.account["id"],
            "inbox_id": self.store.inbox.id, "conversation_id": message.conversation_id,
            "message_type": MESSAGE_TYPE_CODES[message.message_type], "created_at": epoch(message.created_at),
            "updated_at": iso(message.updated_at), "private": message.private, "status": "sent",
            "source_id": message.source_id, "content_type": message.content_type,
            "content_attributes": message.content_attributes, "sender_type": message.sender_type,
            "sender_id": message.sender_id, "external_source_ids": {}, "additional_attributes": {},
            "processed_message_content": message.content, "sentiment": {},
            "conversation": {
                "assignee_id": conversation.assignee_id, "unread_count": self._unread_count(conversation),
                "last_activity_at": epoch(conversation.last_activity_at),
                "contact_inbox": {"source_id": contact_inbox.source_id},
            },
        }
        if message.echo_id:
            data["echo_id"] = message.echo_id
        sender = self._sender_push(message)
        if sender is not None:
            data["sender"] = sender
        return data

    def message_webhook(self, message: Message) -> JSON:
        """`Message#webhook_data` (the `message_created` body before `event` is merged in)."""
        sender: JSON | None = None
        if message.sender_type == "User" and message.sender_id in self.store.users:
            sender = self.user_webhook(self.store.users[message.sender_id])
        elif message.sender_type == "Contact" and message.sender_id in self.store.contacts:
            sender = self.contact_webhook(self.store.contacts[message.sender_id])
        return {
            "account": self.account(), "additional_attributes": {},
            "content_attributes": message.content_attributes, "content_type": message.content_type,
            "content": message.content,
            "conversation": self.conversation_webhook(self.store.conversations[message.conversation_id]),
            "created_at": iso(message.created_at), "id": message.id, "inbox": self.inbox_webhook(),
            "message_type": message.message_type, "private": message.private, "sender": sender,
            "source_id": message.source_id,
        }

    # conversations -----------------------------------------------------------------------------------------

    def _unread_count(self, conversation: Conversation) -> int:
        seen = conversation.agent_last_seen_at
        unread = [m for m in self.store.messages_of(conversation.id)
                  if m.message_type == "incoming" and (seen is None or m.created_at > seen)]
        return min(len(unread), UNREAD_LIMIT)

    def _last_chat_message(self, conversation: Conversation) -> List[JSON]:
        chat = [m for m in self.store.messages_of(conversation.id) if m.message_type != "activity" and not m.private]
        return [self.message_push(chat[-1])] if chat else []

    def conversation(self, conversation: Conversation) -> JSON:
        """`api/v1/conversations/partials/_conversation`: what show, create and the list answer."""
        contact = self.store.contacts[conversation.contact_id]
        messages = self.store.messages_of(conversation.id)
        non_activity = [m for m in messages if m.message_type != "activity"]
        meta: JSON = {"sender": self.contact(contact, with_contact_inboxes=False), "channel": "Channel::Api",
                      "hmac_verified": False}
        if conversation.assignee_id in self.store.users:
            meta["assignee"] = self.user_push(self.store.users[conversation.assignee_id])
        return {
            "meta": meta, "id": conversation.id,
            "messages": [self.message_push(messages[-1])] if messages else [],
            "account_id": self.store.account["id"], "uuid": conversation.uuid,
            "additional_attributes": conversation.additional_attributes,
            "agent_last_seen_at": epoch(conversation.agent_last_seen_at), "assignee_last_seen_at": 0,
            "can_reply": True, "contact_last_seen_at": 0, "custom_attributes": conversation.custom_attributes,
            "inbox_id": conversation.inbox_id, "labels": [], "muted": False,
            "snoozed_until": iso(conversation.snoozed_until), "status": conversation.status,
            "created_at": epoch(conversation.created_at), "timestamp": epoch(conversation.last_activity_at),
            "first_reply_created_at": epoch(conversation.first_reply_created_at),
            "unread_count": self._unread_count(conversation),
            "last_non_activity_message": self.message_push(non_activity[-1]) if non_activity else None,
            "last_activity_at": epoch(conversation.last_activity_at), "priority": None,
            "waiting_since": epoch(conversation.waiting_since), "sla_policy_id": None,
        }

    def conversation_webhook(self, conversation: Conversation) -> JSON:
        """`Conversation#webhook_data` (EventDataPresenter#push_data)."""
        contact = self.store.contacts[conversation.contact_id]
        assignee = self.store.users.get(conversation.assignee_id) if conversation.assignee_id else None
        return {
            "additional_attributes": conversation.additional_attributes, "can_reply": True,
            "channel": "Channel::Api",
            "contact_inbox": self.contact_inbox_model(self.store.contact_inboxes[conversation.contact_inbox_id]),
            "id": conversation.id, "inbox_id": conversation.inbox_id,
            "messages": self._last_chat_message(conversation), "labels": [],
            "meta": {
                "sender": self.contact_push(contact),
                "assignee": self.user_push(assignee) if assignee else None,
                "assignee_type": "User" if assignee else None, "team": None, "hmac_verified": False,
            },
            "status": conversation.status, "custom_attributes": conversation.custom_attributes,
            "snoozed_until": iso(conversation.snoozed_until),
            "unread_count": self._unread_count(conversation),
            "first_reply_created_at": iso(conversation.first_reply_created_at), "priority": None,
            "waiting_since": epoch(conversation.waiting_since),
            "agent_last_seen_at": epoch(conversation.agent_last_seen_at), "contact_last_seen_at": 0,
            "last_activity_at": epoch(conversation.last_activity_at),
            "timestamp": epoch(conversation.last_activity_at), "created_at": epoch(conversation.created_at),
            "updated_at": conversation.updated_at.timestamp(),
        }
