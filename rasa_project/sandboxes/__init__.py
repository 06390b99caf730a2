"""Local stand-ins for the outside systems (booking API, Twilio API, OpenAI-compatible LLM).

They speak the real protocols on loopback so the production clients run unchanged against them;
tests and the local demo point at them through settings, never through `if testing` branches.
"""
