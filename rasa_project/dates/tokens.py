"""Client text as tokens the date readers match on: words, numbers, clock times, dates and noise.

WhatsApp text comes with or without accents, in capitals, with emoji, commas anywhere, "8 p.m.",
"19hs", "alas 7", "d la mañana", "pasadomañana". Every reader works on this one token list so each
rule is written once: words are compared after `fold` and typo correction, a number knows the clock
suffix it carried, and amounts ("2 personas", "$800", "RSV-1003", "+52155...") become one NOISE
token that no date rule can take for a day or an hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, List, Sequence, Tuple

from rasa_project.dates.typos import correct_word
from rasa_project.spanish_text import CARDINALS, ORDINALS, fold

__all__ = ["BREAK", "CLOCK", "DATE", "NOISE", "NUMBER", "WORD", "Token", "number_at", "tokenize", "word_at"]

WORD, NUMBER, CLOCK, DATE, NOISE, BREAK = "word", "number", "clock", "date", "noise", "break"


@dataclass(frozen=True)
class Token:
    """One unit of text. `values`: (n,) for a NUMBER, (hour, minute) for a CLOCK, (day, month, year or 0)
    for a DATE. `suffix`: "am" | "pm" | "h" when a number or clock carried one ("8pm", "19 hs").
    `pause_before`: a comma, full stop or "?" came before it, where a clause ends ("hoy no puedo,
    mañana sí"); phrases read straight through pauses ("el jueves, a las 7 pm")."""

    kind: str
    text: str
    values: Tuple[int, ...] = ()
    suffix: str = ""
    pause_before: bool = field(default=False, compare=False)


_MERIDIEM = re.compile(r"(\d)\s*([ap])\s?\.\s?m\b\.?")  # "8 p.m." / "8p. m." -> "8pm"
_RAW = re.compile(r"([$+#€£]?)([a-z0-9]+(?:[:./\-][a-z0-9]+)*)(%?)|([,;:.!?¿¡…\n]+)")
_SUFFIX = r"(am|pm|hs|hrs|hr|h)"
_HOUR = re.compile(r"(\d{1,2})" + _SUFFIX)
_CLOCK = re.compile(r"(\d{1,2})([:h.])(\d{2})" + _SUFFIX + "?")
_DATE = re.compile(r"(\d{1,2})([/\-.])(\d{1,2})(?:\2(\d{4}|\d{2}))?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_HELD_LETTER = re.compile(r"([a-z])\1{2,}")
_SUFFIX_WORDS: Dict[str, str] = {"am": "am", "pm": "pm", "hs": "h", "hrs": "h", "hr": "h", "h": "h"}

# Chat spellings of the words the date rules use.
_ALIASES: Dict[str, Tuple[str, ...]] = {
    "q": ("que",), "k": ("que",), "ke": ("que",), "d": ("de",), "x": ("por",), "pa": ("para",),
    "xa": ("para",), "pal": ("para", "el"), "alas": ("a", "las"), "ala": ("a", "la"), "oy": ("hoy",),
    "hoi": ("hoy",), "mnn": ("manana",), "prox": ("proximo",), "sig": ("siguiente",), "fds": ("finde",),
    "pasadomanana": ("pasado", "manana"),
}  # fmt: skip
# Nouns that make the number before them an amount: "5 clases", "2 personas", "bono de 10 clases".
_COUNTED: FrozenSet[str] = frozenset(
    "clase clases persona personas sesion sesiones vez veces minuto minutos min mins mes meses ano "
    "anos bono bonos pase pases lugar lugares cupo cupos turno turnos entrada entradas peso pesos euro "
    "euros dolar dolares usd mxn ars eur cop clp soles lucas mil amiga amigas amigo amigos nino ninos nina "
    "ninas hijo hijos hija hijas adulto adultos kilos kg km cuotas plaza plazas hueco huecos opcion opciones "
    "chica chicas chico chicos alumna alumnas alumno alumnos mujer mujeres hombre hombres".split()
)
_HOURS_WORDS = ("hora", "horas")
_GREETINGS = (("buenas", "buenos", "buen"), ("tardes", "noches", "dias", "dia"))


def tokenize(text: str) -> List[Token]:
    """The tokens of `text`, accents folded, typos in date words corrected, amounts made NOISE."""
    folded = _MERIDIEM.sub(r"\1\2m", fold(text))
    raw: List[Token] = []
    pause = False
    for match in _RAW.finditer(folded):
        if match.group(4):
            pause = True
            continue
        lexed = _lex(match.group(1), match.group(2), match.group(3))
        raw.extend([replace(lexed[0], pause_before=pause), *lexed[1:]] if pause else lexed)
        pause = False
    return _merge(raw)


def word_at(tokens: Sequence[Token], index: int) -> str:
    """The word at `index`, or "" when it is out of range or not a word (so rules can compare freely)."""
    if 0 <= index < len(tokens) and tokens[index].kind == WORD:
        return tokens[index].text
    return ""


def number_at(tokens: Sequence[Token], index: int) -> int | None:
    """The plain number at `index` (no clock suffix), or None."""
    if 0 <= index < len(tokens) and tokens[index].kind == NUMBER and not tokens[index].suffix:
        return tokens[index].values[0]
    return None


def _lex(prefix: str, body: str, percent: str) -> List[Token]:
    if prefix or percent:  # "$800", "+5215512345678", "#3", "10%"
        return [Token(NOISE, prefix + body + percent)]
    if not any(char.isdigit() for char in body):
        return [Token(WORD, word) for part in re.split(r"[:./\-]", body) for word in _words(part)]
    return [_lex_number(body)]


def _words(typed: str) -> Tuple[str, ...]:
    word = _squeeze(typed)
    if word in _ALIASES:
        return _ALIASES[word]
    if word.startswith("pasado") and len(word) > 6 and correct_word(word[6:]) == "manana":
        return ("pasado", "manana")
    return (correct_word(word),)


def _squeeze(word: str) -> str:
    """'mañanaaa' -> 'manana', 'vienee' -> 'viene', 'alasss' -> 'alas': letters held down for emphasis.
    (Spanish words do not end in a doubled letter, and never triple one.)"""
    word = _HELD_LETTER.sub(r"\1", word)
    return word[:-1] if len(word) > 3 and word[-1] == word[-2] else word


def _lex_number(body: str) -> Token:
    """'7' / '2026' NUMBER, '8pm' NUMBER with suffix, '7:30' / '7h30' CLOCK, '15/12' / '2026-12-15' DATE,
    '1ro' a WORD, anything else NOISE."""
    if body.isdigit():
        return Token(NUMBER, body, (int(body),)) if len(body) in (1, 2, 4) else Token(NOISE, body)
    hour = _HOUR.fullmatch(body)
    if hour:
        return Token(NUMBER, body, (int(hour.group(1)),), _SUFFIX_WORDS[hour.group(2)])
    clock = _CLOCK.fullmatch(body)
    if clock and _plausible_clock(clock):
        suffix = _SUFFIX_WORDS.get(clock.group(4) or "", "")
        return Token(CLOCK, body, (int(clock.group(1)), int(clock.group(3))), suffix)
    day = _DATE.fullmatch(body)
    if day:
        return Token(DATE, body, (int(day.group(1)), int(day.group(3)), _year(day.group(4))))
    iso = _ISO_DATE.fullmatch(body)
    if iso:
        return Token(DATE, body, (int(iso.group(3)), int(iso.group(2)), int(iso.group(1))))
    if body in ORDINALS:  # "1ro": a word, so "el 2do" (an option) never becomes the 2nd
        return Token(WORD, body)
    return Token(NOISE, body)


def _plausible_clock(match: re.Match[str]) -> bool:
    # "15.12" is more likely the 15th of December than 15:12; "7.30" is half past seven.
    return match.group(2) != "." or int(match.group(3)) % 5 == 0 or match.group(4) is not None


def _year(text: str | None) -> int:
    if not text:
        return 0
    return int(text) + 2000 if len(text) == 2 else int(text)


def _merge(raw: List[Token]) -> List[Token]:
    """Join what belongs together: '8' + 'pm', '19' + 'hs', '2' + 'personas', 'fin de semana', greetings."""
    out: List[Token] = []
    i = 0
    while i < len(raw):
        joined, used = _join_at(raw, i, out[-1] if out else None)
        out.append(replace(joined, pause_before=raw[i].pause_before))
        i += used
    return out


def _join_at(raw: List[Token], i: int, before: Token | None) -> Tuple[Token, int]:
    token = raw[i]
    following = [t.text if t.kind == WORD else "" for t in raw[i + 1 : i + 3]] + ["", ""]
    after = following[0]
    anchored = before is not None and before.kind == WORD and before.text in ("la", "las")
    if token.kind in (NUMBER, CLOCK) and not token.suffix and after in _SUFFIX_WORDS:
        return replace(token, text=f"{token.text} {after}", suffix=_SUFFIX_WORDS[after]), 2
    if token.kind == NUMBER and not token.suffix and after in _HOURS_WORDS:
        # "a las 19 horas" is an hour, "1 hora" / "2 horas" a duration.
        joined = f"{token.text} {after}"
        return (replace(token, text=joined, suffix="h"), 2) if anchored else (Token(NOISE, joined), 2)
    if _is_amount(token) and after in _COUNTED:
        return Token(NOISE, f"{token.text} {after}"), 2
    if token.kind != WORD:
        return token, 1
    return _join_words(token.text, following)


def _join_words(word: str, following: List[str]) -> Tuple[Token, int]:
    after, after2 = following[0], following[1]
    if word in _GREETINGS[0] and after in _GREETINGS[1]:  # "buenas tardes" is not an afternoon
        return Token(NOISE, f"{word} {after}"), 2
    if word == "hasta" and after == "manana":  # "hasta mañana" says goodbye, it books nothing
        return Token(NOISE, "hasta manana"), 2
    if word == "medio" and after == "dia":
        return Token(WORD, "mediodia"), 2
    if word == "fin" and after == "de" and after2 == "semana":
        return Token(WORD, "finde"), 3
    if word == "finde" and after == "semana":
        return Token(WORD, "finde"), 2
    return Token(WORD, word), 1


def _is_amount(token: Token) -> bool:
    if token.kind == NUMBER:
        return not token.suffix
    return token.kind == WORD and token.text in CARDINALS
