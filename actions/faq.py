"""faq: the studio's frequent questions, answered from the file the business edits.

Rasa's ResponseSelector (config.yml, retrieval intent `faq`) picks the topic; the answers are the
`utter_faq/<topic>` responses of data/responses/faq.yml. The answer goes through the same reply path as
every other (`Replier.say`: the file's text is the template, the phrasing layer may word it warmly and
the grounding check keeps every fact of it). A topic the selector is unsure of gets the polite "no
entendí" with the menu instead of a wrong answer.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction

logger = logging.getLogger(__name__)

RETRIEVAL_INTENT = "faq"
MIN_CONFIDENCE = 0.5


def selected_topic(tracker: Tracker) -> Optional[str]:
    """`faq/<topic>` the ResponseSelector chose for the latest message, when it is confident enough."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    response = selector.get("response") or {}
    key = response.get("intent_response_key")
    confidence = float(response.get("confidence") or 0.0)
    if not key or confidence < MIN_CONFIDENCE:
        logger.info("faq: no confident topic (%s, %.2f)", key, confidence)
        return None
    return str(key)


class ActionResponderFaq(AssistantAction):
    """Answers a frequent question with the business's own text for its topic."""

    def name(self) -> str:
        return "action_responder_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        topic = selected_topic(tracker)
        response = f"utter_{topic}" if topic else None
        if response is None or response not in (domain.get("responses") or {}):
            buttons = domain["responses"]["utter_default"][0].get("buttons") or []
            await self.replier(dispatcher, tracker, domain).say("utter_default", buttons=buttons)
            return []
        await self.replier(dispatcher, tracker, domain).say(response, facts={"faq": topic}, event="faq_answered")
        return []
