"""Turn Markdown, HTML and CSV files into plain documents (pure parsing, no database)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from tandem.core.errors import ValidationError

MAX_CHUNK_CHARS = 900


@dataclass(frozen=True)
class Section:
    """A heading and the text under it."""

    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    """One importable article."""

    title: str
    source: str
    sections: list[Section]
    intent: str | None = None
    url: str | None = None  # a public link to the original (an HTML page's canonical URL)

    @property
    def body(self) -> str:
        """Return the whole text, headings included."""
        return "\n\n".join(
            (f"{s.heading}\n{s.text}" if s.heading else s.text) for s in self.sections
        ).strip()


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_NOISE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\(([^)]+)\)"), r"\1 (\2)"),  # links keep their target
    (re.compile(r"(\*\*|__|`)"), ""),
]


def _clean_markdown(text: str) -> str:
    for pattern, replacement in _MD_NOISE:
        text = pattern.sub(replacement, text)
    return text.strip()


def parse_markdown(text: str, *, source: str) -> Document:
    """Split Markdown into sections at its headings; the first H1 is the title."""
    title = ""
    sections: list[Section] = []
    heading, lines = "", list[str]()
    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            if lines and "".join(lines).strip():
                sections.append(Section(heading, _clean_markdown("\n".join(lines))))
            heading, lines = match.group(2).strip(), []
            if match.group(1) == "#" and not title:
                title = heading
                heading = ""
        else:
            lines.append(line)
    if lines and "".join(lines).strip():
        sections.append(Section(heading, _clean_markdown("\n".join(lines))))
    return Document(
        title=title or Path(source).stem.replace("-", " ").title(), source=source, sections=sections
    )


class _HTMLText(HTMLParser):
    _SKIP = frozenset({"script", "style", "nav", "footer", "header", "noscript", "template"})
    _BLOCK = frozenset({"p", "div", "li", "br", "tr", "section", "article", "ul", "ol", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[Section] = []
        self._heading = ""
        self._buffer: list[str] = []
        self._skip_depth = 0
        self._in: str | None = None
        self._capture: list[str] = []
        self.canonical: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and self.canonical is None:
            values = dict(attrs)
            if "canonical" in (values.get("rel") or "").lower().split():
                self.canonical = (values.get("href") or "").strip() or None
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in {"title", "h1", "h2", "h3", "h4"}:
            self._in, self._capture = tag, []
        elif tag in self._BLOCK:
            self._buffer.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == self._in:
            text = " ".join("".join(self._capture).split())
            if tag in {"title", "h1"}:
                # The page title and its H1 name the article; they are not section headings.
                self.title = self.title or text
            else:
                self._flush()
                self._heading = text
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        (self._capture if self._in else self._buffer).append(data)

    def _flush(self) -> None:
        text = "\n".join(" ".join(line.split()) for line in "".join(self._buffer).splitlines())
        text = re.sub(r"\n{2,}", "\n", text).strip()
        if text:
            self.sections.append(Section(self._heading, text))
        self._buffer = []

    def finish(self) -> None:
        self._flush()


def parse_html(text: str, *, source: str) -> Document:
    """Extract the visible text of an HTML page, split at its headings (scripts dropped)."""
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser.finish()
    canonical = parser.canonical
    return Document(
        title=parser.title or Path(source).stem,
        source=source,
        sections=parser.sections,
        # Only an absolute web address is a link worth giving a customer.
        url=canonical if canonical and is_web_url(canonical) else None,
    )


def is_web_url(value: str) -> bool:
    """Return whether a value is an absolute http(s) address."""
    parts = urlsplit(value)
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.netloc)
        and not any(c.isspace() for c in value)
    )


CSV_TITLE_COLUMNS = ("title", "question", "subject")
CSV_BODY_COLUMNS = ("body", "answer", "content", "text")


def parse_csv(text: str, *, source: str) -> list[Document]:
    """Read one article per row: a title/question column, a body/answer column, optional intent."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    title_col = next((c for c in CSV_TITLE_COLUMNS if c in columns), None)
    body_col = next((c for c in CSV_BODY_COLUMNS if c in columns), None)
    if title_col is None or body_col is None:
        raise ValidationError(
            f"{source}: CSV needs a title column ({', '.join(CSV_TITLE_COLUMNS)}) and a body "
            f"column ({', '.join(CSV_BODY_COLUMNS)}); found: {', '.join(columns) or 'none'}"
        )
    documents = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get(body_col):
            continue
        documents.append(
            Document(
                title=row.get(title_col) or f"Row {number}",
                source=f"{source}#row{number}",
                sections=[Section("", row[body_col])],
                intent=row.get("intent") or None,
            )
        )
    return documents


SUPPORTED_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".csv")


def parse_file(name: str, data: bytes) -> list[Document]:
    """Parse the bytes of a .md, .markdown, .html, .htm or .csv file (named by name)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationError(
            f"{name}: unsupported file type {suffix or 'without extension'!r} "
            "(use .md, .html or .csv)"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"{name}: not UTF-8 text") from None
    if "\x00" in text or "\x00" in name:
        # Uploads skip the request-text middleware (it leaves multipart to its handlers).
        line = text.count("\n", 0, max(text.find("\x00"), 0)) + 1
        raise ValidationError(f"{name}: contains a NUL character (line {line}); not a text file")
    source = Path(name).name
    if suffix in {".md", ".markdown"}:
        return [parse_markdown(text, source=source)]
    if suffix in {".html", ".htm"}:
        return [parse_html(text, source=source)]
    return parse_csv(text, source=source)


def read_documents(path: Path) -> list[Document]:
    """Parse a .md, .markdown, .html, .htm or .csv file into documents."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ValidationError(
            f"{path}: unsupported file type {path.suffix.lower()!r} (use .md, .html or .csv)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: {exc.strerror}") from None
    return parse_file(str(path), data)


def chunk_sections(sections: list[Section], *, max_chars: int = MAX_CHUNK_CHARS) -> list[Section]:
    """Split long sections at paragraph, then sentence, boundaries into retrievable chunks."""
    chunks: list[Section] = []
    for section in sections:
        pieces = re.split(r"\n\s*\n|(?<=[.!?])\s+", section.text)
        current = ""
        for piece in (p.strip() for p in pieces):
            if not piece:
                continue
            if current and len(current) + len(piece) + 1 > max_chars:
                chunks.append(Section(section.heading, current))
                current = ""
            current = f"{current} {piece}".strip()
            while len(current) > max_chars:  # one enormous sentence
                chunks.append(Section(section.heading, current[:max_chars]))
                current = current[max_chars:]
        if current:
            chunks.append(Section(section.heading, current))
    return chunks
