"""The README's Configuration table and `tandem.config.Settings` describe the same settings."""

from __future__ import annotations

import re

from tandem.config import Settings

from .rules import ROOT

README = ROOT / "README.md"
_NAME = re.compile(r"\bTANDEM_[A-Z0-9_]*[A-Z0-9]\b")
_ROW = re.compile(r"^\|\s*`(TANDEM_[A-Z0-9_]+)`\s*\|(?P<default>[^|]*)\|(?P<meaning>.*)\|\s*$")


def _setting_names() -> dict[str, str]:
    """Return TANDEM_<NAME> -> description for every field of Settings."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias or info.alias
        name = alias if isinstance(alias, str) else prefix + field
        names[name.upper()] = info.description or ""
    return names


def _readme_rows() -> dict[str, str]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = match.group("meaning").strip()
    return rows


def test_every_setting_has_a_description_in_config() -> None:
    undocumented = sorted(name for name, text in _setting_names().items() if not text.strip())
    assert not undocumented, f"give these Field(..., description=...) in config.py: {undocumented}"


def test_every_setting_is_a_row_of_the_readme_configuration_table() -> None:
    rows = _readme_rows()
    missing = sorted(set(_setting_names()) - set(rows))
    assert not missing, (
        "add a row `| `TANDEM_X` | default | one-line meaning |` to README.md's Configuration "
        f"table for: {missing}"
    )
    empty = sorted(name for name, meaning in rows.items() if not meaning)
    assert not empty, f"README.md's Configuration rows need a meaning: {empty}"


def test_every_tandem_name_in_the_readme_is_a_setting() -> None:
    mentioned = set(_NAME.findall(README.read_text(encoding="utf-8")))
    unknown = sorted(mentioned - set(_setting_names()))
    assert not unknown, (
        f"README.md names {unknown}, which tandem.config.Settings does not define: rename or "
        "remove them in the README, or add the setting to config.py"
    )
