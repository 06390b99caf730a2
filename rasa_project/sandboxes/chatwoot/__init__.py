"""A local stand-in for the slice of Chatwoot the human handoff uses: the Application API of one account
with one API-channel inbox, and the webhooks Chatwoot sends back.

Run it with `python -m rasa_project.sandboxes.chatwoot --port 8085 --account-id 1 --api-token T
--webhook-url URL --webhook-secret S`, or build it in-process with `create_app(account_id, api_token,
webhook_url=..., webhook_secret=..., inbox_id=1)`.

Pointing a client at it: configuration only. The base URL replaces `https://app.chatwoot.com` (paths stay
`/api/v1/accounts/{account_id}/...`), the token goes in the `api_access_token` header (Chatwoot also reads
`api-access-token`, the form that survives proxies dropping underscores; `Authorization: Bearer` is not
read), JSON bodies. Success is 200 even for creates. Errors, as Chatwoot answers them:
- no token: 401 `{"errors": ["You need to sign in or sign up before continuing."]}`;
  a wrong token: 401 `{"error": "Invalid Access Token"}`;
- an unknown id (contact, conversation, inbox, another account): 404 `{"error": "Resource could not be found"}`;
- invalid records: 422 `{"message": "Phone number should be in e164 format", "attributes": ["phone_number"]}`;
  messages and other could-not-create cases: 422 `{"error": "..."}`;
- a source id another contact holds: 422 `{"error": "source_id should be unique"}` from `POST /conversations`,
  an unrescued 500 from `POST /contacts` and `POST /contacts/{id}/contact_inboxes`.

Routes (under `/api/v1/accounts/{account_id}`):
- `POST /contacts` {name, phone_number (E.164), email, identifier, inbox_id, source_id?} ->
  `{"payload": {"contact": {..., "contact_inboxes": [{"source_id", "inbox"}]}, "contact_inbox": {"inbox",
  "source_id"}}}`; without `source_id` the API channel gets a UUID. A taken phone/identifier is a 422.
- `GET /contacts/search?q=` (name, email, phone, identifier, id) -> `{"meta": {"count", "current_page",
  "has_more"}, "payload": [contact, ...]}`; a missing `q` is a 422. Encode `+` as `%2B` (a raw `+` is a
  space, which Chatwoot strips, so the digits still match). `GET /contacts/{id}` -> `{"payload": contact}`.
- `POST /contacts/{id}/contact_inboxes` {inbox_id, source_id} -> `{"source_id", "inbox"}` (idempotent).
- `POST /conversations` {source_id, inbox_id, contact_id, status, additional_attributes,
  custom_attributes, message?} -> the conversation. Status defaults to "open": send "pending" for a
  conversation the bot handles. With inbox_id + contact_id and no source_id, Chatwoot makes a new contact
  inbox each time; pass the contact's source_id.
- `GET /conversations/{id}`; `GET /conversations?status=open|pending|resolved|snoozed|all&inbox_id=&page=`
  -> `{"data": {"meta": {mine_count, assigned_count, unassigned_count, all_count}, "payload": [...]}}`
  (`open` when no status is given).
- `POST /conversations/{id}/toggle_status` {status: open|resolved|pending|snoozed, snoozed_until?} ->
  `{"meta": {}, "payload": {"success", "conversation_id", "current_status", "snoozed_until"}}`; without a
  status it toggles open <-> resolved.
- `POST /conversations/{id}/custom_attributes` {custom_attributes: {...}} (replaces the whole object).
- `POST /conversations/{id}/messages` {content, message_type incoming|outgoing (default outgoing),
  private, content_attributes, source_id, echo_id} -> the message (`message_type` as a number there:
  0 incoming, 1 outgoing, 2 activity); `GET` -> `{"meta": {...}, "payload": [the last 20]}`.
- `GET /api/v1/profile`: the token's user.

Webhooks: every change posts JSON to `webhook_url`, the same bodies Chatwoot sends to an account webhook
(filtered by its subscriptions, `webhook_events` here) and to an API inbox's webhook URL (every
conversation and message event, no contact events): `conversation_created`, `message_created` (every
incoming, outgoing and private message, also the ones the client posted itself),
`conversation_status_changed` and `conversation_updated` (both with `changed_attributes`), `contact_created`
if subscribed. See `rules.py` for the order and `payloads.py` for the shapes. An agent's reply is a
`message_created` with `message_type` "outgoing", `private` false, `sender` {"id", "name", "email",
"type": "user"} and `source_id` null; tell it from the client's own outgoing posts by `sender.id` (the
token's user) or by the `source_id`/`echo_id` the client set; `conversation.contact_inbox.source_id` and
`conversation.meta.sender.phone_number` say whose conversation it is.

Authenticating a webhook, as Chatwoot 4.x signs them (account webhooks: chatwoot#13573; API inboxes and
agent bots: #13892; older versions sign nothing, #9354): with a secret each attempt carries
`X-Chatwoot-Timestamp` (unix seconds), `X-Chatwoot-Delivery` (UUID, the same on every retry) and
`X-Chatwoot-Signature: sha256=` + hex HMAC-SHA256(secret, f"{timestamp}.{raw_body}"). A receiver checks::

    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, sha256).hexdigest()
    ok = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) <= 300

over the raw body bytes (Rails escapes `<>&` as `\\u003c...`, so re-serialized JSON will not match), then
drops deliveries whose `X-Chatwoot-Delivery` it has already processed. For a Chatwoot that does not sign,
or as a second factor, put a shared token in the webhook URL itself (Chatwoot cannot add headers, #11048):
`webhook_url="http://127.0.0.1:5005/webhooks/chatwoot?token=<secret>"`; the sandbox, like Chatwoot,
posts to that URL unchanged, and the receiver compares `request.query["token"]` in constant time.
Deliveries go out in order per conversation and are retried after `retry_delays` on 5xx/429/timeouts/
refused connections (not on other 4xx); `GET /_sandbox/webhooks` shows each attempt and the answer.

Not modelled: agent bots and their handoff, assignment and teams, labels, attachments, contact_updated,
`lock_to_single_conversation`, pagination beyond page numbers. Test controls (no auth) live under
`/_sandbox/`: see `controls.py`.
"""

from rasa_project.sandboxes.chatwoot.app import create_app, sandbox_rules
from rasa_project.sandboxes.chatwoot.webhooks import sign

__all__ = ["create_app", "sandbox_rules", "sign"]
