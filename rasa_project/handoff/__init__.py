"""Human handoff: a person of the team takes a conversation over and the bot stays silent.

Rasa's own `ConversationPaused` / `ConversationResumed` events are the truth (the paused tracker lives in
the conversation log, so every instance honours it); `state.py` keeps the `handoffs` table and the
`helpdesk_outbox` in step with them from inside the tracker store's save. See docs/handoff.md.
"""
