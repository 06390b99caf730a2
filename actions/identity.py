"""Who is writing: the client's phone number in E.164, taken from the conversation id.

The WhatsApp channel uses the sender's E.164 number ("+5215512345678") as Rasa's sender id. Other
channels (`rasa shell --conversation-id +52...`) can do the same; anything else is not a phone and
the actions say so instead of guessing.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def client_phone(tracker: Tracker) -> str | None:
    sender = (tracker.sender_id or "").removeprefix("whatsapp:")
    return sender if _E164.match(sender) else None
