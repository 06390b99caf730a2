"""A local stand-in for the slice of Twilio's REST API the assistant uses: Messages with status callbacks,
inbound media behind Basic auth and a 307 to expiring storage (`media.py`), Content templates and their
WhatsApp approval (`content_api.py`), sends by ContentSid (`sending.py`) and WhatsApp's 24-hour customer
service window on a settable clock (`window.py`).

Run it with `python -m rasa_project.sandboxes.twilio_api [--host 127.0.0.1] [--port 8082] [--window]
[--allow-unknown-content]`, or build it in-process with `create_app(account_sid, auth_token,
status_delays=..., enforce_window=False, allow_unknown_content=False)`.

Pointing twilio-python 8.2.2 at it: the client has no base-URL argument; every request URL is
`Domain.base_url` + the version path, and each product is its own `Domain` with a plain `base_url`
attribute. Messages live on the `api` domain (`"https://api.twilio.com"`, set in
`twilio.rest.api.ApiBase.__init__`), Content on the `content` domain (`"https://content.twilio.com"`,
set in `twilio.rest.content.ContentBase.__init__`). Both are served here on the same host and port, so
override both (leave `edge`/`region` unset, since `get_hostname` would rewrite the host otherwise)::

    client = Client(account_sid, auth_token, http_client=AsyncTwilioHttpClient())
    client.api.base_url = "http://127.0.0.1:8082"       # the sandbox; no trailing path
    client.content.base_url = "http://127.0.0.1:8082"   # same sandbox: /v1/Content lives there too
    message = await client.messages.create_async(to=..., from_=..., body=...)

`client.messages` is `client.api.account.messages`, so it and `client.api.v2010.account.messages`
both use the overridden `api` domain; `client.content.v1.contents`, `.content_and_approvals` and the
approval fetch use the `content` one, and list pages follow the absolute `meta.next_page_url` the
sandbox returns (pointing back at itself). twilio-python 8.2.2 has no Content create nor approval
request; send those through the same domain: `await client.content.v1.create_async(method="POST",
uri="/Content", data=json.dumps(body), headers={"Content-Type": "application/json"})` returns the
parsed JSON and raises `TwilioRestException` on errors, like every generated method.
The `twilio_api_base_url` setting is the value our channel puts in `client.api.base_url`.

The WhatsApp window rule: when enforced, a free-form send (Body, media, or Content that is not an
approved template) to a `whatsapp:` recipient who has not written in the last 24 hours of the sandbox
clock (or never wrote) is accepted (201, queued) and then fails with ErrorCode 63016, as on Twilio.
Whoever plays the customer records its messages with `POST /_sandbox/inbound {"from": "whatsapp:+52..."}`.
It starts OFF (`window.ENFORCED_BY_DEFAULT`): tests/connector and tests/scale (and the local stack the
e2e suite runs) reply to customers they never announce, and assert `delivered` / never-`failed` rows.
Turn it on per run with `POST /_sandbox/window {"enforce": true}`, `--window` or
`create_app(..., enforce_window=True)`; flip the constant once every caller reports inbound. Unknown
ContentSids are refused (21655) by default.

Test controls (not Twilio's API, no auth) live under `/_sandbox/`: messages, faults, delivery outcomes
and stats (`controls.py`), inbound/window/clock (`window.py`), content approvals (`content_api.py`),
media (`media.py`). `/_sandbox/messages` records each message's resource plus `index`, `media_urls`,
`status_callback`, `content_sid`, `content_variables`, `content_type`, `rendered_body`, `actions`,
`items`, `button` and `approved_template`.
"""

from rasa_project.sandboxes.twilio_api.app import content_store, create_app, customer_window, sandbox_store
from rasa_project.sandboxes.twilio_api.media import media_store

__all__ = ["content_store", "create_app", "customer_window", "media_store", "sandbox_store"]
