"""Measure per-message triage latency on a trained model (printed as JSON by the CLI)."""

from __future__ import annotations

import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tandem.demo.knowledge import faq_entries
from tandem.demo.seed import load_demo_content
from tandem.triage.intent import IntentModel
from tandem.triage.pipeline import Triage
from tandem.triage.signals.bot_loop import Turn

# Chat messages carry more than the question: a greeting, context, a sign-off.
_OPENERS = ["", "Hi, ", "Hello there! ", "Hey, quick question: ", "Good morning. "]
_CONTEXT = [
    "",
    " I ordered last week and I'm not sure what to do next.",
    " I've looked on the website but couldn't find it anywhere.",
    " This is the second time I'm asking, so I'd appreciate a clear answer.",
    " My order number is NW-482913 if that helps, and my email is sam@example.com.",
]
_CLOSERS = ["", " Thanks!", " Thank you in advance, Sam", " Cheers"]


def realistic_messages(questions: list[str], count: int, seed: int = 7) -> list[str]:
    """Wrap short questions in the greetings and context real chat messages have."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    return [
        rng.choice(_OPENERS) + rng.choice(questions) + rng.choice(_CONTEXT) + rng.choice(_CLOSERS)
        for _ in range(count)
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_triage_benchmark(
    *,
    messages_path: Path | None,
    text_column: str,
    count: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train on the demo store's FAQ, then time full triage of `count` messages one by one."""
    content = load_demo_content()
    texts = [t for e in faq_entries(content) for t in e["examples"]]
    labels = [e["intent"] for e in faq_entries(content) for _ in e["examples"]]
    model = IntentModel.train(texts, labels, progress=progress)
    if messages_path is not None:
        from tandem.triage.evaluation import load_labeled_rows

        questions, _ = load_labeled_rows(messages_path, text_column=text_column, label_column=None)
    else:
        questions = texts
    messages = realistic_messages(questions, count)
    triage = Triage(model, languages=["en", "es", "de", "fr"])
    for warm in messages[:10]:  # load every model before timing
        triage.run(warm)
    latencies: list[float] = []
    history: list[Turn] = []
    started = time.perf_counter()
    for done, text in enumerate(messages, start=1):
        t0 = time.perf_counter()
        result = triage.run(text, history[-3:])
        latencies.append((time.perf_counter() - t0) * 1000)
        history.append(
            Turn(
                text=text,
                vector=result.vector,
                intent=result.intent,
                confidence=result.confidence,
                ai_answered=True,
            )
        )
        if progress and done % 25 == 0:
            progress("triaging", done, len(messages))
    elapsed = time.perf_counter() - started
    return {
        "messages": len(messages),
        "mean_chars": round(statistics.mean(len(m) for m in messages), 1),
        "latency_ms_p50": round(_percentile(latencies, 0.50), 2),
        "latency_ms_p95": round(_percentile(latencies, 0.95), 2),
        "latency_ms_max": round(max(latencies), 2),
        "messages_per_second": round(len(messages) / elapsed, 1),
        "history_turns": 3,
        "model": model.describe(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
    }
