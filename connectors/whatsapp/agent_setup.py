"""What the channel changes on Rasa's agent once it is loaded, so settings and our guarantees hold.

- The action server comes from settings (`ACTION_SERVER_URL`, `ACTION_SERVER_TOKEN`): Rasa's `${VAR}`
  in endpoints.yml fails when a variable is unset, so endpoints.yml only carries the default URL.
  Rasa sends the token as the `token` query parameter, which our action server checks.
- Tracker-store errors must reach the inbox worker (which keeps the message and retries the turn)
  instead of Rasa's FailSafeTrackerStore silently restarting the conversation or keeping the turn
  in memory only (rasa#3243).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.utils.endpoints import EndpointConfig

from rasa_project.conversation_log.tracker_store import unwrap_fail_safe
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)


def configure_agent(agent: Any, settings: Settings) -> None:
    endpoint = EndpointConfig(url=settings.action_server_url, token=settings.action_server_token or None)
    agent.action_endpoint = endpoint
    processor = getattr(agent, "processor", None)
    if processor is not None:
        processor.action_endpoint = endpoint
    unwrap_fail_safe(agent)
    logger.info("Rasa agent wired: action server %s (token %s), tracker-store errors propagate",
                settings.action_server_url, "set" if settings.action_server_token else "not set")
