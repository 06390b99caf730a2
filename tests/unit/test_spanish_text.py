"""The one accent fold and the shared vocabulary."""

from __future__ import annotations

import unicodedata

import pytest

from rasa_project.spanish_text import CARDINALS, HOUR_WORDS, MONTHS, ORDINALS, QUANTITY_WORDS, WEEKDAYS, fold, reply_key


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Mañana", "manana"), ("MIÉRCOLES", "miercoles"), ("sábado", "sabado"), ("Pingüino", "pinguino"),
     ("¿Qué tal?", "¿que tal?"), ("hola 👋", "hola 👋"), ("", ""), ("ya", "ya")],
)
def test_fold_lowercases_and_drops_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_one_character_per_character_of_the_nfc_text() -> None:
    decomposed = "man\u0303ana a las 6 e\u0301xito"  # combining tilde and acute
    nfc = unicodedata.normalize("NFC", decomposed)
    assert len(fold(decomposed)) == len(nfc)
    assert fold(decomposed) == "manana a las 6 exito"


@pytest.mark.parametrize(
    ("text", "key"),
    [("¡BAJA!", "baja"), (" La 2. ", "la 2"), ("No   más mensajes...", "no mas mensajes"), ("👍", ""),
     ("Sí, confirmar", "si, confirmar")],
)
def test_reply_key_trims_noise_at_both_ends(text: str, key: str) -> None:
    assert reply_key(text) == key


def test_vocabulary_is_folded_and_consistent() -> None:
    for words in (WEEKDAYS, MONTHS, CARDINALS, ORDINALS):
        assert all(word == fold(word) for word in words)
    assert sorted(set(WEEKDAYS.values())) == list(range(7))
    assert sorted(set(MONTHS.values())) == list(range(1, 13))
    assert "una" not in QUANTITY_WORDS and QUANTITY_WORDS["doce"] == 12
    assert HOUR_WORDS["una"] == 1 and max(HOUR_WORDS.values()) == 12 and "un" not in HOUR_WORDS
