"""Who is writing: the client's phone number in E.164, taken from the conversation id.

The WhatsApp channel uses the sender's E.164 number ("+5215512345678") as Rasa's sender id. Other
channels (`rasa shell --conversation-id +52...`) can do the same; anything else is not a phone and
the actions say so instead of guessing. The rule is the channel's own (`rasa_project.phones`), so a
number the channel accepts is a number the actions accept.
"""

from __future__ import annotations

from rasa_sdk import Tracker

from rasa_project.phones import is_e164, without_prefix


def client_phone(tracker: Tracker) -> str | None:
    sender = without_prefix(tracker.sender_id)
    return sender if is_e164(sender) else None
