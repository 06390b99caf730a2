"""Local stand-in of the internal booking API (aiohttp + SQLAlchemy), same contract as production.

Run it with `python -m rasa_project.sandboxes.booking_api`; tests build it with `create_app`.
"""

from rasa_project.sandboxes.booking_api.app import create_app

__all__ = ["create_app"]
