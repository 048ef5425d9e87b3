"""The replay simulator: feed a labelled stream through the real desk and watch automation grow.

A fresh workspace starts with no model and no examples. Each message of the stream goes
through the functions the widget API calls (a conversation opened, the message stored, the
worker's triage, the decision, the answer or the escalation and handoff). Whatever the AI does
not answer, a simulated agent answers with the stream's recorded answer (or a fixed answer per
label) and resolves through the real resolve-and-confirm path with the recorded label; a
simulated supervisor approves what the resolution proposes (a new intent, its answer) at once.
After every resolution the real scheduled-retraining check runs, so retraining happens through
the real job, on the real schedule (`retrain_after_examples`), with the real promotion rule.

Retraining runs to completion before the next message, so a replay is repeatable: the same
stream, seed and settings give the same curve. (In the running desk the active version keeps
answering while a candidate trains: tests/learning/test_versions_e2e.py.)
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.models import Message
from tandem.conversations.service import Author, check_text
from tandem.conversations.state import Status
from tandem.copilot.cases import is_substantive
from tandem.core.errors import ComplianceBlockedError, ValidationError
from tandem.db.base import utcnow
from tandem.db.migrate import upgrade
from tandem.db.session import get_engine, scope_session, session_factory, transaction
from tandem.handoff.service import request_human
from tandem.jobs.service import DEFAULT_LANE, TRAINING_LANE
from tandem.jobs.worker import Worker
from tandem.knowledge.intents import clean_intent
from tandem.knowledge.models import TrainingExample
from tandem.learning import service as learning
from tandem.learning.schedule import periodic_retrain_check
from tandem.triage.decision import Action
from tandem.triage.evaluation import DataError, load_rows
from tandem.triage.models import ModelVersion
from tandem.users.models import Role
from tandem.users.service import create_user
from tandem.workspaces.service import create_workspace

MAX_INTENT_CHARS = 100
Progress = Callable[[int, int], None]  # (messages done, total)


class StreamError(DataError):
    """A stream that cannot be replayed; the message names the file and the row."""


@dataclass(frozen=True)
class StreamRow:
    """One customer message of the stream, with what a human decided about it."""

    where: str  # "line 12": what an editor shows
    text: str
    label: str
    answer: str | None


def read_stream(
    path: Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    answer_column: str | None = None,
    max_chars: int,
) -> list[StreamRow]:
    """Read and check a whole stream before anything is written (the first bad row is named)."""
    wanted = [text_column, label_column] + ([answer_column] if answer_column else [])
    rows = []
    codes: dict[str, str] = {}  # intent code -> the label it came from
    for where, row in load_rows(path, wanted):
        text = _cell(row, text_column)
        label = _cell(row, label_column)
        if not text:
            raise StreamError(f"{path}: {where} has an empty {text_column!r} value")
        if not label:
            raise StreamError(f"{path}: {where} has an empty {label_column!r} value")
        try:
            check_text(text, max_chars=max_chars)
            code = intent_code(label)
        except ValidationError as exc:
            raise StreamError(f"{path}: {where}: {exc.message}") from None
        if codes.setdefault(code, label) != label:
            raise StreamError(
                f"{path}: {where}: labels {codes[code]!r} and {label!r} would both become "
                f"intent {code!r}; rename one"
            )
        label = code
        answer = _cell(row, answer_column) if answer_column else ""
        rows.append(StreamRow(where, text, label, answer or None))
    return rows


def intent_code(label: str) -> str:
    """Return the intent code a stream label becomes ("reverted_card_payment?" loses its "?")."""
    code = re.sub(r"[^A-Za-z0-9_.-]+", "_", label.strip()).strip("_")[:MAX_INTENT_CHARS]
    if not code:
        raise ValidationError(f"label {label!r} has no letters or digits to name an intent by")
    return clean_intent(code)


def _cell(row: dict[str, Any], column: str | None) -> str:
    value = row.get(column) if column else None
    return "" if value is None else str(value).strip()


def fixed_answer(label: str) -> str:
    """The simulated agent's reply for a label when the stream records none."""
    topic = label.replace("_", " ").replace("-", " ").replace(".", " ")
    return f"Here is what you need to know about {topic}: our recorded answer for this topic."


@dataclass(frozen=True)
class ReplayConfig:
    """How the replay runs (the CLI's options)."""

    window: int = 1000
    retrain_every: int = 500
    precision_target: float = 0.95
    seed: int | None = 0  # None: the stream's own order

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValidationError(f"--window must be at least 1 (got {self.window})")
        if self.retrain_every < 1:
            raise ValidationError(f"--retrain-every must be at least 1 (got {self.retrain_every})")
        if not 0.5 <= self.precision_target < 1.0:
            raise ValidationError(
                f"--precision-target must be in [0.5, 1) (got {self.precision_target})"
            )


@dataclass
class WindowFigures:
    """What happened to one window of consecutive messages."""

    window: int
    first_message: int  # 1-based positions in the (shuffled) stream
    last_message: int
    messages: int = 0
    answered: int = 0
    correct: int = 0
    escalations: int = 0
    model_version: int | None = None  # active at the end of the window
    n_examples: int = 0  # trainable examples at the end of the window
    versions_trained: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the window as the JSON report shows it."""
        data = asdict(self)
        data["automation_rate"] = round(self.answered / self.messages, 4) if self.messages else 0.0
        data["answered_precision"] = (
            round(self.correct / self.answered, 4) if self.answered else None
        )
        return data


@dataclass(frozen=True)
class Outcome:
    """What the desk did with one message."""

    answered: bool
    intent: str | None  # the intent the AI answered as


class Simulation:
    """The desk, its simulated agent and supervisor, and the replay's bookkeeping."""

    def __init__(
        self, factory: sessionmaker[Session], *, config: ReplayConfig, max_chars: int
    ) -> None:
        self.factory = factory
        self.config = config
        self.max_chars = max_chars
        # The widget's messages are handled by the default lane; retraining by its own lane.
        self.worker = Worker(factory, lanes=[DEFAULT_LANE], periodic=[])
        self.trainer = Worker(factory, lanes=[TRAINING_LANE], periodic=[])
        with transaction(factory) as session:
            self.workspace_id, self.agent_id, self.supervisor_id = self._set_up(session)

    def _set_up(self, session: Session) -> tuple[str, str, str]:
        stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
        workspace = create_workspace(
            session,
            name=f"replay-{stamp}",
            settings={
                "precision_target": self.config.precision_target,
                "retrain_after_examples": self.config.retrain_every,
            },
        )
        scope_session(session, workspace.id)
        people = {}
        for role in (Role.AGENT, Role.SUPERVISOR):
            people[role] = create_user(
                session,
                workspace_id=workspace.id,
                email=f"{role.value}.{stamp}@replay.invalid",
                name=f"Replay {role.value}",
                password=secrets.token_hex(24),  # nobody logs in as the simulation
                role=role,
            )
        return workspace.id, people[Role.AGENT].id, people[Role.SUPERVISOR].id

    def ask(self, text: str) -> tuple[str, Outcome]:
        """A new customer writes through the widget's functions; the worker handles it."""
        with transaction(self.factory, self.workspace_id) as session:
            started = conversations.start_conversation(
                session, workspace_id=self.workspace_id, channel="widget"
            )
            conversation = conversations.get_conversation(
                session, started.conversation.id, lock=True
            )
            conversations.post_message(
                session,
                conversation,
                author=Author.CUSTOMER,
                text=text,
                max_chars=self.max_chars,
            )
            conversation_id = conversation.id
        self.worker.drain()
        with transaction(self.factory, self.workspace_id) as session:
            replies = session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.author == Author.AI.value
                )
            ).all()
            answer = next((m for m in replies if m.meta.get("action") == Action.ANSWER), None)
            if answer is not None:
                return conversation_id, Outcome(True, answer.meta.get("intent"))
            conversation = conversations.get_conversation(session, conversation_id, lock=True)
            if conversation.status_enum is Status.AI:
                # The AI replied without answering (it says what it can help with): the
                # customer asks for a person, as the widget's handoff button does.
                request_human(session, conversation, trigger="customer")
        return conversation_id, Outcome(False, None)

    def resolve(self, conversation_id: str, row: StreamRow) -> None:
        """The agent answers and resolves with the recorded label; the supervisor approves."""
        with transaction(self.factory, self.workspace_id) as session:
            conversation = conversations.get_conversation(session, conversation_id, lock=True)
            reply = row.answer if row.answer and is_substantive(row.answer) else None
            try:
                self._reply(session, conversation, reply or fixed_answer(row.label))
            except ComplianceBlockedError:
                # The recorded reply breaks the workspace's rules; the agent writes another.
                self._reply(session, conversation, fixed_answer(row.label))
            # A customer who only asked for a person stated no need: nothing to label.
            stated = learning.suggest_label(session, conversation).text is not None
            intent = row.label if stated else None
            learning.resolve(session, conversation, actor_id=self.agent_id, intent=intent)
            self._approve(session)
        self.worker.drain()  # the resolved case is recorded (the co-pilot and gaps read it)
        with transaction(self.factory) as session:
            periodic_retrain_check(session, utcnow())
        self.worker.drain()  # decides whether a retraining run is due and queues it
        self.trainer.drain()  # trains, judges and stores the candidate (promoted or not)

    def _reply(self, session: Session, conversation: Any, text: str) -> None:
        # The compliance check runs before anything is written, so a refused reply leaves
        # the conversation as it was.
        conversations.post_message(
            session,
            conversation,
            author=Author.AGENT,
            text=text,
            max_chars=max(self.max_chars, len(text)),
            user_id=self.agent_id,
        )

    def _approve(self, session: Session) -> None:
        """Approve every proposed answer and new intent, as an attentive supervisor would."""
        for candidate in learning.list_candidates(session):
            learning.approve_candidate(
                session, candidate_id=candidate.id, actor_id=self.supervisor_id
            )
        for pending in learning.pending_intents(session):
            learning.approve_intent(session, workspace_id=self.workspace_id, intent=pending.intent)

    def state(self) -> tuple[int | None, int, list[int]]:
        """Return the active version, the trainable examples and every version's number."""
        with transaction(self.factory, self.workspace_id) as session:
            active = session.scalar(
                select(ModelVersion.version).where(ModelVersion.status == "active")
            )
            examples = session.scalar(
                select(func.count(TrainingExample.id)).where(TrainingExample.pending.is_(False))
            )
            versions = list(session.scalars(select(ModelVersion.version)))
        return active, int(examples or 0), sorted(versions)

    def versions(self) -> list[dict[str, Any]]:
        """Return every trained version with its evaluation, oldest first."""
        with transaction(self.factory, self.workspace_id) as session:
            rows = session.scalars(select(ModelVersion).order_by(ModelVersion.version)).all()
            return [
                {
                    "version": row.version,
                    "status": row.status,
                    "trigger": row.trigger,
                    "promotion_reason": row.promotion_reason,
                    "threshold": row.description.get("threshold"),
                    "training_examples": row.description.get("n_train"),
                    "evaluation": {k: v for k, v in row.evaluation.items() if k != "candidate"}
                    | {
                        "candidate": {
                            k: v
                            for k, v in (row.evaluation.get("candidate") or {}).items()
                            if k != "per_intent"
                        }
                    },
                }
                for row in rows
            ]


def replay(
    factory: sessionmaker[Session],
    rows: Sequence[StreamRow],
    *,
    config: ReplayConfig,
    max_chars: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replay a checked stream through a fresh workspace; return the report (JSON-able)."""
    started = time.perf_counter()
    order = list(rows)
    if config.seed is not None:
        random.Random(config.seed).shuffle(order)  # noqa: S311 - a repeatable order, not a secret
    sim = Simulation(factory, config=config, max_chars=max_chars)
    windows: list[WindowFigures] = []
    known_versions: set[int] = set()
    for position, row in enumerate(order, start=1):
        if not windows or windows[-1].messages == config.window:
            last = min(position + config.window - 1, len(order))
            windows.append(WindowFigures(len(windows) + 1, position, last))
        window = windows[-1]
        conversation_id, outcome = sim.ask(row.text)
        window.messages += 1
        if outcome.answered:
            window.answered += 1
            window.correct += outcome.intent == row.label
        else:
            window.escalations += 1
            sim.resolve(conversation_id, row)
        if window.messages == config.window or position == len(order):
            active, examples, versions = sim.state()
            window.model_version, window.n_examples = active, examples
            window.versions_trained = [v for v in versions if v not in known_versions]
            known_versions.update(versions)
        if progress is not None:
            progress(position, len(order))
    answered = sum(w.answered for w in windows)
    correct = sum(w.correct for w in windows)
    return {
        "config": asdict(config),
        "windows": [w.as_dict() for w in windows],
        "summary": {
            "messages": len(order),
            "answered": answered,
            "automation_rate": round(answered / len(order), 4) if order else 0.0,
            "answered_precision": round(correct / answered, 4) if answered else None,
            "escalations": sum(w.escalations for w in windows),
            "labels": len({row.label for row in order}),
            "wall_seconds": round(time.perf_counter() - started, 1),
        },
        "versions": sim.versions(),
    }


def run(
    database_url: str,
    rows: Sequence[StreamRow],
    *,
    config: ReplayConfig,
    max_chars: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Migrate the database, then replay into a fresh workspace there."""
    upgrade(database_url)
    factory = session_factory(get_engine(database_url))
    return replay(factory, rows, config=config, max_chars=max_chars, progress=progress)


def plot(report: dict[str, Any], path: Path, *, title: str) -> None:
    """Draw the learning curve (automation and precision per window) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    windows = report["windows"]
    x = [w["window"] for w in windows]
    figure, axis = plt.subplots(figsize=(8, 4.5), dpi=120)
    axis.plot(x, [w["automation_rate"] for w in windows], marker="o", label="automation rate")
    precision = [w["answered_precision"] for w in windows]
    axis.plot(
        x,
        [p if p is not None else float("nan") for p in precision],
        marker="s",
        label="precision of AI answers",
    )
    target = report["config"]["precision_target"]
    axis.axhline(target, linestyle="--", linewidth=1, color="grey", label=f"target {target:g}")
    for w in windows:
        if w["versions_trained"]:
            axis.annotate(
                f"v{w['model_version']}" if w["model_version"] else "",
                (w["window"], w["automation_rate"]),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=7,
            )
    axis.set_ylim(0, 1.05)
    axis.set_xlabel(f"window ({report['config']['window']} messages each)")
    axis.set_ylabel("share")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
