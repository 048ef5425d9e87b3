"""Per-message triage signals: language, human request, sentiment, sensitive topics, entities,
personal data and bot loops. Signals that use embeddings take the message's precomputed
use-m3 vector and only embed the text themselves when none is given."""

from __future__ import annotations

from tandem.privacy.detect import PersonalData, find_personal_data, redact
from tandem.triage.signals.bot_loop import BotLoop, Turn, detect_bot_loop
from tandem.triage.signals.entities import Entity, extract_entities
from tandem.triage.signals.human_request import detect_human_request
from tandem.triage.signals.language import detect_language
from tandem.triage.signals.sensitive import ALL_TOPICS, detect_sensitive_topics
from tandem.triage.signals.sentiment import Sentiment, score_sentiment

__all__ = [
    "ALL_TOPICS",
    "BotLoop",
    "Entity",
    "PersonalData",
    "Sentiment",
    "Turn",
    "detect_bot_loop",
    "detect_human_request",
    "detect_language",
    "detect_sensitive_topics",
    "extract_entities",
    "find_personal_data",
    "redact",
    "score_sentiment",
    "warm_up",
]


def warm_up(thorough_pii: bool = False) -> None:
    """Load the models and embed the exemplars now, so the first message is not slow."""
    from tandem.triage.embedders import get_embedder
    from tandem.triage.signals._common import EMBEDDER_NAME

    vector = get_embedder(EMBEDDER_NAME).encode(["warm up"])[0]
    detect_language("warm up")
    detect_human_request("warm up", vector)
    score_sentiment("warm up", vector)
    detect_sensitive_topics("warm up", vector)
    detect_bot_loop([Turn("warm up the bot", vector, ai_answered=True)], Turn("warm up", vector))
    extract_entities("warm up")
    find_personal_data("warm up", thorough=thorough_pii)
