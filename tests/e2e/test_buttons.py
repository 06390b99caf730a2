"""Native WhatsApp buttons end to end: the real model and channel, read at the Twilio sandbox. A booking
confirmation (2 options) goes as a quick-reply Content; tapping "Sí, confirmar" (ButtonPayload) confirms
the booking in the booking sandbox; the help menu (8 options) goes as a list picker when its titles fit
(≤ 24 characters); the Content of a repeated set of options is created once."""

from __future__ import annotations

from typing import Any, Dict, List

import httpx
import pytest

from rasa_project.devtools.local_stack import LocalStack
from tests.e2e.support import WhatsAppClient
from tests.e2e.test_journeys import CONFIRM, Journey, api, known, open_day, weekday  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


async def _contents(http: httpx.AsyncClient, stack: LocalStack) -> List[Dict[str, Any]]:
    return (await http.get(f"{stack.twilio_url}/_sandbox/content")).json()["contents"]


def _with_buttons(messages: List[Dict[str, Any]], text: str) -> Dict[str, Any]:
    """The message with buttons whose text has `text` (a finished booking may be followed by the
    satisfaction question, which has buttons of its own)."""
    found = [m for m in messages if m.get("content_sid") and text in (m.get("content_body") or "")]
    assert found, [m["body"] for m in messages]
    return found[0]


async def test_confirmation_is_a_quick_reply_and_a_tap_books(known: Journey, http: httpx.AsyncClient,
                                                             stack: LocalStack) -> None:
    day = open_day(2)
    response = await known.client.send(f"quiero reservar yoga el {weekday(day)} a las 7 de la tarde")
    assert response.status_code == 200
    messages = await known.client.replies(1)
    messages += await known.client.settle(quiet=1.5)
    ask = _with_buttons(messages, CONFIRM)
    assert ask["content_type"] == "twilio/quick-reply", messages
    assert CONFIRM in ask["content_body"] and [a["title"] for a in ask["actions"]] == ["Sí, confirmar", "No"]
    assert ask["body"].endswith("\n\n1. Sí, confirmar\n2. No")  # what the helpers read: the numbered text
    payload = ask["actions"][0]["id"]

    tapped = await known.client.send(button=(payload, "Sí, confirmar"))  # as Twilio posts a tap
    assert tapped.status_code == 200
    done = "\n".join(m["body"] for m in await known.client.replies(1) + await known.client.settle(quiet=1.5))
    assert "Listo" in done, done
    await known.assert_booked("yoga", day, 19)

    # the same two options again: the Content is reused, not created again
    sids_before = {c["sid"] for c in await _contents(http, stack)}
    other = open_day(3, skip=(day,))
    await known.client.send(f"quiero reservar pilates el {weekday(other)} a las 9 de la mañana")
    again = _with_buttons(await known.client.replies(1) + await known.client.settle(quiet=1.5), CONFIRM)
    assert again["content_sid"] == ask["content_sid"]
    assert {c["sid"] for c in await _contents(http, stack)} == sids_before


async def test_help_menu_is_a_list_picker(client: WhatsAppClient, http: httpx.AsyncClient, stack: LocalStack) -> None:
    await client.skip_history()
    response = await client.send("ayuda")
    assert response.status_code == 200
    [menu] = await client.replies(1)
    assert menu["content_type"] == "twilio/list-picker", (
        "utter_ayuda went as numbered text: a list item allows 24 characters; too long: "
        f"{[line for line in menu['body'].splitlines() if len(line.split('. ', 1)[-1]) > 24]}")
    assert len(menu["items"]) == 8 and "2. Ver mis reservas" in menu["body"]
    listed = sum(1 for c in await _contents(http, stack) if "twilio/list-picker" in c["types"])
    await client.send("ayuda")
    await client.replies(1)
    assert sum(1 for c in await _contents(http, stack) if "twilio/list-picker" in c["types"]) == listed
