"""Talk about the conversation itself: blanked out, whatever the case, accents or language."""

from __future__ import annotations

import pytest

from tandem.handoff.meta_talk import fold, strip_meta_talk


@pytest.mark.parametrize(
    "text",
    [
        "THIS IS RIDICULOUS, THIRD TIME I'M ASKING, NOBODY HELPS",
        "Nadie me ayuda, es ridículo",
        "C'est ridicule, personne ne répond",
        "Das ist lächerlich, niemand hilft mir",
    ],
)
def test_venting_in_any_supported_language_leaves_no_words(text: str) -> None:
    assert not any(ch.isalpha() for ch in strip_meta_talk(text))


def test_the_need_around_meta_talk_survives() -> None:
    left = strip_meta_talk("I want a human now, my parcel NW-1 never arrived")
    assert "human" not in left
    assert "my parcel nw-1 never arrived" in left


def test_words_that_merely_contain_meta_words_are_kept() -> None:
    # "personnel" is not "person", "humanity" not "human": matches end at a word boundary.
    assert strip_meta_talk("Our personnel department needs invoices").split() == [
        "our",
        "personnel",
        "department",
        "needs",
        "invoices",
    ]


def test_fold_lowercases_and_removes_accents() -> None:
    assert fold("Ça N'ÉTAIT pas arrivé") == "ca n'etait pas arrive"
