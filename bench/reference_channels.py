"""Rasa's built-in Twilio channel, unchanged except that its Twilio client talks to the sandbox.

For the channel benchmark's reference row only: `rasa.core.channels.twilio.TwilioInput` as shipped
(no signature check, the turn runs inside the webhook request, sends use twilio's *synchronous*
client), with `client.api.base_url` pointed at `sandbox_url` (twilio 8.2.2 has no base-URL argument;
see `rasa_project/sandboxes/twilio_api/__init__.py`). Named in a generated credentials file:

    bench.reference_channels.SandboxTwilioInput:
      account_sid: AC...
      auth_token: ...
      twilio_number: whatsapp:+14155238886
      sandbox_url: http://127.0.0.1:PORT

Routes stay the built-in ones: `/webhooks/twilio/webhook`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.twilio import TwilioInput, TwilioOutput


class SandboxTwilioOutput(TwilioOutput):
    def __init__(self, account_sid: Optional[str], auth_token: Optional[str], twilio_number: Optional[str],
                 sandbox_url: str) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.api.base_url = sandbox_url.rstrip("/")


class SandboxTwilioInput(TwilioInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials or not credentials.get("sandbox_url"):
            cls.raise_missing_credentials_exception()
        channel = cls(credentials.get("account_sid"), credentials.get("auth_token"),
                      credentials.get("twilio_number"))  # debug_mode as shipped
        channel.sandbox_url = credentials["sandbox_url"]
        return channel

    def get_output_channel(self) -> OutputChannel:
        return SandboxTwilioOutput(self.account_sid, self.auth_token, self.twilio_number, self.sandbox_url)
