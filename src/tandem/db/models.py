"""Import every table so the metadata (and Alembic) sees the whole schema."""

from tandem.conversations.models import Conversation, Message
from tandem.copilot.models import ResolvedCase
from tandem.customers.models import Customer
from tandem.db.base import Base
from tandem.events.models import Event
from tandem.handoff.models import HandoffPacket
from tandem.jobs.models import Job
from tandem.knowledge.models import Answer, AnswerCandidate, Article, Chunk, TrainingExample
from tandem.routing.models import Queue, QueueMember, SlaPolicy
from tandem.triage.models import ModelVersion, TrainingRun
from tandem.users.models import ApiToken, User
from tandem.workspaces.models import Workspace

__all__ = [
    "Answer",
    "AnswerCandidate",
    "ApiToken",
    "Article",
    "Base",
    "Chunk",
    "Conversation",
    "Customer",
    "Event",
    "HandoffPacket",
    "Job",
    "Message",
    "ModelVersion",
    "Queue",
    "QueueMember",
    "ResolvedCase",
    "SlaPolicy",
    "TrainingExample",
    "TrainingRun",
    "User",
    "Workspace",
]
