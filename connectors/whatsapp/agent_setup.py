"""What the channel changes on Rasa's agent once it is loaded, so settings and our guarantees hold.

- The action server comes from settings (`ACTION_SERVER_URL`, `ACTION_SERVER_TOKEN`): Rasa's `${VAR}`
  in endpoints.yml fails when a variable is unset, so endpoints.yml only carries the default URL.
  Rasa sends the token as the `token` query parameter, which our action server checks. Rasa gives each
  action call 300 s in one number, connect included; `ActionEndpoint` gives the connect
  `ACTION_SERVER_CONNECT_TIMEOUT_SECONDS` and the call `ACTION_SERVER_TIMEOUT_SECONDS`, so a stuck call
  fails the turn, which the inbox retries, instead of holding the client five minutes.
- Tracker-store errors must reach the inbox worker (which keeps the message and retries the turn)
  instead of Rasa's FailSafeTrackerStore silently restarting the conversation or keeping the turn
  in memory only (rasa#3243).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import aiohttp
from rasa.utils.endpoints import EndpointConfig

from rasa_project.conversation_log.tracker_store import unwrap_fail_safe
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)


class ActionEndpoint(EndpointConfig):
    """Rasa's action endpoint with our connect and total timeouts (module docstring)."""

    def __init__(self, url: str, token: Optional[str], connect_timeout: float, total_timeout: float) -> None:
        super().__init__(url=url, token=token)
        self.timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)

    async def request(self, *args: Any, **kwargs: Any) -> Optional[Any]:
        kwargs["timeout"] = self.timeout  # replaces RemoteAction's DEFAULT_REQUEST_TIMEOUT (300 s)
        return await super().request(*args, **kwargs)


def configure_agent(agent: Any, settings: Settings) -> None:
    endpoint = ActionEndpoint(settings.action_server_url, settings.action_server_token or None,
                              settings.action_server_connect_timeout_seconds, settings.action_server_timeout_seconds)
    agent.action_endpoint = endpoint
    processor = getattr(agent, "processor", None)
    if processor is not None:
        processor.action_endpoint = endpoint
    unwrap_fail_safe(agent)
    logger.info("Rasa agent wired: action server %s (token %s), tracker-store errors propagate",
                settings.action_server_url, "set" if settings.action_server_token else "not set")
