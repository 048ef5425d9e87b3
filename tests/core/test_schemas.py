"""The shared API shapes: bodies refuse unknown fields, responses and values read stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from tandem.core.schemas import BodyIn, RowOut, value_from_row


class NoteIn(BodyIn):
    text: str


class NoteOut(RowOut):
    id: str
    text: str
    tags: list[str]


@dataclass(frozen=True)
class Note:
    id: str
    text: str


def test_a_body_refuses_a_field_it_does_not_know() -> None:
    assert NoteIn.model_validate({"text": "hi"}).text == "hi"
    with pytest.raises(ValidationError, match="colour"):
        NoteIn.model_validate({"text": "hi", "colour": "blue"})


def test_a_response_reads_the_row_and_takes_the_values_it_is_given() -> None:
    row = SimpleNamespace(id="n1", text="hello", tags=None, secret="never shown")
    note = NoteOut.from_row(row, tags=list(row.tags or []))
    assert note.model_dump() == {"id": "n1", "text": "hello", "tags": []}
    with pytest.raises(AttributeError):
        NoteOut.from_row(SimpleNamespace(id="n1", text="hello"))  # no tags, none given


def test_a_dataclass_value_reads_the_row_too() -> None:
    row = SimpleNamespace(id="n1", text="hello", other=1)
    assert value_from_row(Note, row) == Note(id="n1", text="hello")
    assert value_from_row(Note, row, text="changed") == Note(id="n1", text="changed")
