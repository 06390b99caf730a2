"""LLM phrasing of facts the actions fetched, with a grounding check and the template as fallback."""

from rasa_project.phrasing.grounding import GroundingResult, check_reply, find_ungrounded
from rasa_project.phrasing.phraser import Phraser
from rasa_project.phrasing.types import PhrasedReply, PhrasingRequest, Turn

__all__ = [
    "GroundingResult",
    "PhrasedReply",
    "Phraser",
    "PhrasingRequest",
    "Turn",
    "check_reply",
    "find_ungrounded",
]
