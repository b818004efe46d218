"""Agents: skills, languages, sign-in at a desk, breaks, sign-out.

Published by the check-in service on ``frontdesk.checkin.agents``, keyed ``agent-<agent_id>``.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic
from contracts.vocabulary import LanguagePreference, ServiceQueue

CHECKIN_AGENTS = register_topic(
    TopicSpec(
        name="frontdesk.checkin.agents",
        producer="checkin",
        stream_type="agent",
        description="Every change of an agent: profile, sign-in at a desk, status, sign-out.",
    )
)


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    SERVING = "serving"
    ON_BREAK = "on_break"
    OFFLINE = "offline"


class ChannelLimits(BaseModel):
    """How many remote contacts of each kind the agent handles at once."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    phone: int = Field(default=1, ge=0, le=1)
    chat: int = Field(default=3, ge=0, le=10)
    email: int = Field(default=5, ge=0, le=50)


@REGISTRY.event("checkin.agent_profile_set", version=1, topic=CHECKIN_AGENTS)
class AgentProfileSet(EventPayload):
    """What an agent may serve: queues, specialist skills, languages and dialects, limits."""

    agent_id: str
    queues: list[ServiceQueue] = Field(min_length=1, description="Queues the agent may serve.")
    specialist_skills: list[str] = Field(
        default_factory=list, description="e.g. minors_refunds, account_security_forensics."
    )
    languages: list[LanguagePreference] = Field(
        min_length=1, description="Languages with dialects, e.g. zh-CN/cmn, zh-HK/yue, en."
    )
    limits: ChannelLimits = Field(default_factory=ChannelLimits)
    set_at: AwareDatetime
    organization_id: UUID | None = Field(
        default=None,
        description="The verified organization whose agent this is (set by the first "
        "profile, from that organization's administrator or supervisor, and never changed); "
        "the agent signs in only at its sites. None: the platform's own agent.",
    )


@REGISTRY.event("checkin.agent_signed_in", version=1, topic=CHECKIN_AGENTS)
class AgentSignedIn(EventPayload):
    """The agent signed in at a desk (or remote position) of a site; now available."""

    agent_id: str
    site_id: str
    desk_id: str
    remote: bool = Field(description="True at a remote position.")
    signed_in_at: AwareDatetime


@REGISTRY.event("checkin.agent_status_changed", version=1, topic=CHECKIN_AGENTS)
class AgentStatusChanged(EventPayload):
    """available <-> serving (a ticket started or ended) and available <-> on break."""

    agent_id: str
    status: AgentStatus
    previous: AgentStatus
    ticket_id: UUID | None = Field(default=None, description="The ticket being served.")
    reason: str | None = Field(default=None, max_length=200)
    changed_at: AwareDatetime


@REGISTRY.event("checkin.agent_signed_out", version=1, topic=CHECKIN_AGENTS)
class AgentSignedOut(EventPayload):
    """The agent left the desk; offline."""

    agent_id: str
    site_id: str
    desk_id: str
    signed_out_at: AwareDatetime
