"""Tools for developers, tests and the local demo; production code never imports them.

local_stack (every process on loopback) · model_cache (train when the inputs changed) ·
whatsapp_simulator (be the client, sign like Twilio) · throwaway_db (Postgres databases for tests and
benches) · data_check (`rasa data validate`, strict) · nlu_check (held-out accuracy). The protocol
stand-ins they start live beside them in `rasa_project/sandboxes/`.
"""
