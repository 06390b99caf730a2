"""OpenAI-compatible stand-in for OpenRouter (`python -m rasa_project.sandboxes.llm_server`)."""

from rasa_project.sandboxes.llm_server.app import create_app

__all__ = ["create_app"]
