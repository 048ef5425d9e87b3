"""Shapes shared by the APIs (request bodies, responses) and values read off stored rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


def row_values(row: object, names: Iterable[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Return `values` and, for every other name, the row's attribute of that name."""
    return {**{name: getattr(row, name) for name in names if name not in values}, **values}


def value_from_row(cls: type[D], row: object, **values: Any) -> D:
    """Build a dataclass from a stored row, as RowOut.from_row builds a response."""
    return cls(**row_values(row, (field.name for field in fields(cls)), values))


def _assume_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A time an API caller sends (body or query): without a zone ("2026-12-07T00:00:00", or a bare
# date) it is read as UTC. Stored times are always zone-aware, so a naive one cannot reach a query.
UtcDatetime = Annotated[datetime, AfterValidator(_assume_utc)]


class BodyIn(BaseModel):
    """A request body that refuses fields it does not know (the 422 names them)."""

    model_config = ConfigDict(extra="forbid")


class RowOut(BaseModel):
    """A response shape whose fields a stored row holds under the same names."""

    @classmethod
    def from_row(cls, row: object, **values: Any) -> Self:
        """Build from a stored row; `values` gives the fields it holds under other names or forms.

        Every other field is the row's attribute of the same name.
        """
        return cls(**row_values(row, cls.model_fields, values))
