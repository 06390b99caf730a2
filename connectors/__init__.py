"""Rasa input/output channels of the assistant (named by class path in `credentials.yml`)."""
