"""Article Markdown renders to HTML with nothing executable left in it."""

from __future__ import annotations

from tandem.knowledge.markdown import render_markdown


def test_raw_html_is_escaped_not_passed_through() -> None:
    html = render_markdown('Hi <script>alert(1)</script> <img src=x onerror="alert(2)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dangerous_links_are_not_links() -> None:
    html = render_markdown("[click](javascript:alert(1)) [data](data:text/html,<b>x</b>)")
    assert "href" not in html


def test_markdown_formatting_and_safe_links_render() -> None:
    html = render_markdown("## Returns\n\n**30 days**, see [the form](https://shop.example/r).")
    assert "<h2>Returns</h2>" in html and "<strong>30 days</strong>" in html
    assert '<a href="https://shop.example/r" rel="nofollow noopener noreferrer">' in html
