"""Whether to read the NLU's `fecha_hora` entities or the whole message.

The NLU splits one expression into several entities ("el viernes" + "a las 8am", "pasado" + "mañana a
las 7pm"), drops parts, or tags noise. The entities are read (joined in message order) only when they
cover every date and time phrase found in the message and cut none of its tokens; otherwise the
whole message is read. Either way nothing the client wrote about the moment is left out, and an
entity can never make a day out of a number the message shows is something else ("3" of "3 personas").
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from rasa_project.dates.findings import Finding
from rasa_project.dates.tokens import BREAK, Token, tokenize

__all__ = ["tokens_from_spans"]


def tokens_from_spans(
    tokens: Sequence[Token], findings: Sequence[Finding], spans: Sequence[str]
) -> Optional[List[Token]]:
    """The message's tokens inside the entities (a BREAK between entities that were apart in the text),
    or None when the message itself must be read."""
    if not spans or not findings:
        return None
    ranges = _locate([tokenize(span) for span in spans], tokens)
    if ranges is None:
        return None
    covered = {index for start, end in ranges for index in range(start, end)}
    if any(index not in covered for finding in findings for index in range(finding.start, finding.end)):
        return None
    chosen: List[Token] = []
    for number, (start, end) in enumerate(ranges):
        if number and start != ranges[number - 1][1]:
            chosen.append(Token(BREAK, "|"))
        chosen.extend(tokens[start:end])
    return chosen


def _locate(spans: List[List[Token]], tokens: Sequence[Token]) -> Optional[List[Tuple[int, int]]]:
    """Where each non-empty span sits in `tokens`, in order; None if one is not there as whole tokens."""
    ranges: List[Tuple[int, int]] = []
    cursor = 0
    for span in (s for s in spans if s):
        start = _find(tokens, span, cursor)
        if start is None:
            return None
        ranges.append((start, start + len(span)))
        cursor = start + len(span)
    return ranges or None


def _find(tokens: Sequence[Token], span: List[Token], cursor: int) -> Optional[int]:
    for start in range(cursor, len(tokens) - len(span) + 1):
        if list(tokens[start : start + len(span)]) == span:
            return start
    return None
