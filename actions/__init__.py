"""The action server: one action (or form + validation action) per intent.

rasa-sdk imports every module of this package and registers each concrete `Action` subclass. Actions
fetch facts from the internal booking API, render the domain template with them, and ask the
phrasing layer to word the reply; see `replies.py` for that one path.
"""
