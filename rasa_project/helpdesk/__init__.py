"""The team's helpdesk (Chatwoot, through an API-channel inbox): the client, the tables the mirror keeps,
and the mirror that copies every conversation into Chatwoot from the outbox the tracker store fills.

Runtime code: the Rasa process starts the mirror with the WhatsApp channel's loops (`connectors/whatsapp/
lifecycle.py`) only when `chatwoot_base_url` is set; Chatwoot's webhooks come back through
`connectors/whatsapp/chatwoot_webhook.py`.
"""
