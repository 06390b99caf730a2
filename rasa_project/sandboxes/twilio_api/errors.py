"""Twilio's error documents and the wording the sandbox uses for each code.

A REST error is `{code, message, more_info, status}` with the HTTP status, on every Twilio domain
(api.twilio.com and content.twilio.com alike), which is what twilio-python turns into
`TwilioRestException(status, uri, message, code)`. Delivery errors (63xxx, 30xxx) never come back from a
create call: they arrive later as `ErrorCode`/`ErrorMessage` of a `failed`/`undelivered` status.
"""

from __future__ import annotations

from aiohttp import web

# Create-time (HTTP 4xx/5xx) errors, in Twilio's words.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20422: "Invalid Parameter",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "The StatusCallback URL {url} is not a valid URL.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body or media urls must be specified.",
    21623: "Number of media files exceeds allowed limit.",
    21654: "ContentSid Required",
    21655: "The ContentSid is Invalid",
    21656: "The Content Variables parameter is invalid.",
}

# Delivery errors, reported through the status callback and the Message resource's error_message.
DELIVERY_ERRORS = {
    21610: ERROR_MESSAGES[21610],
    30008: "Unknown error",
    63003: "Channel could not find To address",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
    63021: "Channel invalid content error",
    63024: "Invalid message recipient",
    63028: "Number of parameters provided does not match the expected number of parameters",
}


def twilio_error(status: int, code: int, message: str | None = None, **fmt: str) -> web.Response:
    """A Twilio error document: `{code, message, more_info, status}` with the HTTP status."""
    text = message if message is not None else ERROR_MESSAGES.get(code, web.Response(status=status).reason)
    body = {
        "code": code,
        "message": text.format(**fmt) if fmt else text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)
