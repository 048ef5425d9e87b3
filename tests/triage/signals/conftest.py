"""Fixtures for the triage-signal tests: the real multilingual encoder (fast, packaged)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tandem.triage.signals._common import embed_texts


@pytest.fixture(scope="session")
def embed() -> Callable[[str], np.ndarray]:
    """Return a function embedding one text with the shared use-m3 encoder."""

    def _embed(text: str) -> np.ndarray:
        return embed_texts([text])[0]

    return _embed


@pytest.fixture(scope="session")
def heldout() -> dict[str, Any]:
    """Return the held-out evaluation sentences."""
    return json.loads((Path(__file__).parent / "heldout.json").read_text(encoding="utf-8"))
