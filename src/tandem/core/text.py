"""Small text helpers shared by every module that shows a message in one line."""

from __future__ import annotations


def one_line(text: str, limit: int) -> str:
    """Return the text on one line (whitespace collapsed), cut with an ellipsis at `limit`."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def first_line(text: str | None, limit: int = 120) -> str | None:
    """Return the first line of a text as `one_line` does, or None for no text."""
    if not text or not text.strip():
        return None
    return one_line(text.strip().splitlines()[0], limit)
