"""A local stand-in for the slice of Twilio's REST API the assistant uses (Messages, status callbacks,
inbound media behind Basic auth and a 307 to expiring storage: see `media.py`).

Run it with `python -m rasa_project.sandboxes.twilio_api [--host 127.0.0.1] [--port 8082]`, or build it
in-process with `create_app(account_sid, auth_token, status_delays=...)`.

Pointing twilio-python 8.2.2 at it: the client has no base-URL argument; every request URL is
`Domain.base_url` + `/2010-04-01/...`, and the Messages API lives on the `api` domain, whose
`base_url` is the plain attribute `client.api.base_url` (set to "https://api.twilio.com" in
`twilio.rest.api.ApiBase.__init__`). Override that attribute (leave `edge`/`region` unset, since
`get_hostname` would rewrite the host otherwise)::

    client = Client(account_sid, auth_token, http_client=AsyncTwilioHttpClient())
    client.api.base_url = "http://127.0.0.1:8082"       # the sandbox; no trailing path
    message = await client.messages.create_async(to=..., from_=..., body=...)

`client.messages` is `client.api.account.messages`, so it and `client.api.v2010.account.messages`
both use the overridden domain. The `twilio_api_base_url` setting is the value our channel puts there.

Test controls (not Twilio's API, no auth) live under `/_sandbox/`: see `controls.py`.
"""

from rasa_project.sandboxes.twilio_api.app import create_app, sandbox_store
from rasa_project.sandboxes.twilio_api.media import media_store

__all__ = ["create_app", "media_store", "sandbox_store"]
