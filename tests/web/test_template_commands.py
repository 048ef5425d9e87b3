"""Every `tandem …` command the console or widget pages tell people to run exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer.main

from tandem.cli import app

SRC = Path(__file__).resolve().parents[2] / "src" / "tandem"
# A command as pages show it: `<code>tandem kb import --answers</code>`.
MENTION = re.compile(r"<code>(tandem [^<]+)</code>")


def mentions() -> list[tuple[str, str]]:
    """Return (template, command line) for every `tandem` command named in a template."""
    found = []
    for template in sorted(SRC.rglob("templates/**/*.html")):
        for line in MENTION.findall(template.read_text()):
            found.append((str(template.relative_to(SRC)), line))
    return found


def check_command(line: str) -> str | None:
    """Return what is wrong with a `tandem …` command line, or None if the CLI has it."""
    words = shlex.split(line)[1:]
    command: Any = typer.main.get_command(app)
    path = ["tandem"]
    # Typer ships its own click: groups are the commands that have sub-commands.
    while words and hasattr(command, "commands") and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        if sub is None:
            return f"`{' '.join(path)}` has no sub-command {words[0]!r}"
        path.append(words.pop(0))
        command = sub
    if hasattr(command, "commands"):
        return f"`{' '.join(path)}` needs a sub-command"
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    unknown = [w for w in words if w.startswith("-") and w.split("=")[0] not in options]
    return f"`{' '.join(path)}` has no option {unknown[0]}" if unknown else None


def test_templates_name_real_commands() -> None:
    found = mentions()
    assert found, "expected the empty states to name commands"
    problems = [f"{where}: {line}: {why}" for where, line in found if (why := check_command(line))]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_wrong_command() -> None:
    assert check_command("tandem ai kb import") is not None
    assert check_command("tandem kb import --answer") is not None
    assert check_command("tandem kb") is not None
    assert check_command("tandem kb import --answers") is None
    assert check_command("tandem train --data") is None
