"""Parsing knowledge files into documents and chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.core.errors import ValidationError
from tandem.knowledge.importers import (
    Section,
    chunk_sections,
    parse_csv,
    parse_html,
    parse_markdown,
    read_documents,
)

MARKDOWN = """# Returns policy

You can return items within **30 days**. See [the form](https://shop.example/returns).

## Exceptions

Underwear and gift cards cannot be returned.
"""

HTML = """<html><head><title>Shipping</title><script>var secret = 1;</script></head>
<body><nav>Home | Shop</nav><h1>Shipping</h1><p>We ship in 2&ndash;3 days.</p>
<h2>International</h2><ul><li>EU: 5 days</li><li>US: 7 days</li></ul></body></html>"""


def test_markdown_splits_at_headings_and_keeps_link_targets() -> None:
    doc = parse_markdown(MARKDOWN, source="returns.md")
    assert doc.title == "Returns policy"
    assert [s.heading for s in doc.sections] == ["", "Exceptions"]
    assert "30 days" in doc.sections[0].text and "**" not in doc.sections[0].text
    assert "https://shop.example/returns" in doc.sections[0].text


def test_html_drops_scripts_and_navigation() -> None:
    doc = parse_html(HTML, source="shipping.html")
    assert doc.title == "Shipping"
    assert "secret" not in doc.body and "Home | Shop" not in doc.body
    assert [s.heading for s in doc.sections] == ["", "International"]
    assert "2–3 days" in doc.sections[0].text
    assert "EU: 5 days\nUS: 7 days" in doc.sections[1].text


def test_csv_rows_become_documents_with_intents() -> None:
    docs = parse_csv(
        "question,answer,intent\nWhere is my order?,Track it online.,order_status\n,,\n",
        source="faq.csv",
    )
    assert [(d.title, d.body, d.intent, d.source) for d in docs] == [
        ("Where is my order?", "Track it online.", "order_status", "faq.csv#row2")
    ]


def test_csv_without_known_columns_says_which_it_needs() -> None:
    with pytest.raises(ValidationError, match="title column"):
        parse_csv("foo,bar\n1,2\n", source="x.csv")


def test_long_sections_are_chunked_at_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = chunk_sections([Section("H", text)], max_chars=300)
    assert all(len(c.text) <= 300 for c in chunks)
    assert " ".join(c.text for c in chunks) == text
    assert all(c.heading == "H" for c in chunks)


def test_read_documents_rejects_unknown_types_and_bad_encoding(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(ValidationError, match="unsupported"):
        read_documents(pdf)
    latin = tmp_path / "b.md"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValidationError, match="UTF-8"):
        read_documents(latin)
    with pytest.raises(ValidationError, match=r"b\.csv"):
        read_documents(tmp_path / "b.csv")
