"""Campaigns, the pool of clips each deals, leases and the votes they yield."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import Bool, Float, Id, IdList, Int, Name, Text, json_field, str_enum_field


# A campaign draws from at most this many scenes (FERV39k has 22); the list
# becomes one SQL IN (...), whose bind parameters are limited.
MAX_SCENES = 1000


class CampaignStatus(str, Enum):
    active = "active"
    paused = "paused"
    closed = "closed"


class CampaignSettings(SQLModel):
    overlap: Int(1, 50) = Field(default=3)
    # Adaptive overlap: the consensus engine may ask for votes up to this many.
    max_overlap: Int(1, 50) = Field(default=7)
    gold_rate: Float(ge=0.0, le=1.0) = Field(default=0.05)
    lease_seconds: Int(10, 7 * 24 * 3600) = Field(default=600)
    assisted: Bool = True
    qualification_clips: Int(0, 1000) = Field(default=10)
    qualification_accuracy: Float(ge=0.0, le=1.0) = Field(default=0.6)
    # Rolling gold accuracy below this pauses an annotator.
    pause_accuracy: Float(ge=0.0, le=1.0) = Field(default=0.5)
    rolling_window: Int(1, 1000) = Field(default=20)
    # Consensus policy: trusted at posterior ≥ trust_threshold with ≥ min_votes.
    trust_threshold: Float(ge=0.5, le=1.0) = Field(default=0.9)
    min_votes: Int(1, 50) = Field(default=3)


class Campaign(CampaignSettings, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    scene_ids: list[int] = json_field(default_factory=list)
    status: CampaignStatus = str_enum_field(CampaignStatus.active)
    created_at: datetime = Field(default_factory=utcnow)


class CampaignCreate(CampaignSettings):
    name: Name(120)
    scene_ids: IdList(MAX_SCENES) = Field(default_factory=list)

    @model_validator(mode="after")
    def _max(self) -> "CampaignCreate":
        if self.max_overlap < self.overlap:
            self.max_overlap = self.overlap
        return self


class CampaignUpdate(SQLModel):
    name: Name(120) | None = None
    status: CampaignStatus | None = None
    overlap: Int(1, 50) | None = None
    max_overlap: Int(1, 50) | None = None
    gold_rate: Float(ge=0.0, le=1.0) | None = None
    lease_seconds: Int(10, 7 * 24 * 3600) | None = None
    assisted: Bool | None = None
    qualification_clips: Int(0, 1000) | None = None
    qualification_accuracy: Float(ge=0.0, le=1.0) | None = None
    pause_accuracy: Float(ge=0.0, le=1.0) | None = None
    trust_threshold: Float(ge=0.5, le=1.0) | None = None
    min_votes: Int(1, 50) | None = None


class CampaignClip(SQLModel, table=True):
    """One clip in one campaign's pool, with the counters the dealer reads.

    `wanted` is how many distinct annotators should label it (the campaign's
    overlap, raised by the consensus engine); `active` counts live leases and
    `done` finished votes, so a clip is dealable while active + done < wanted.
    """

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "clip_id"),
        sa.Index("ix_campaignclip_deal", "campaign_id", "is_gold", "priority", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    clip_id: int = Field(foreign_key="clip.id", index=True)
    is_gold: bool = False
    wanted: int = 3
    active: int = 0
    done: int = 0
    # Higher first: 2 = consensus asked for more votes, 1 = started, 0 = fresh.
    priority: int = 0
    closed: bool = False  # trusted, rejected or reviewed: deal no more


class AssignmentStatus(str, Enum):
    active = "active"
    done = "done"
    expired = "expired"


class Assignment(SQLModel, table=True):
    """A lease: one clip dealt to one annotator until `expires_at`."""

    __table_args__ = (
        # Never the same clip twice to the same annotator within a campaign.
        sa.UniqueConstraint("campaign_id", "clip_id", "user_id"),
        sa.Index("ix_assignment_user_status", "user_id", "status"),
        sa.Index("ix_assignment_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    clip_id: int = Field(foreign_key="clip.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    is_gold: bool = False
    status: AssignmentStatus = str_enum_field(AssignmentStatus.active)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    completed_at: datetime | None = None
    # A gold lease's first answer, right or wrong: final for scoring, even if
    # the vote is undone and the clip answered again (else submit, read the
    # record, undo and retry would find the answer). None: not scored yet.
    gold_result: bool | None = None


class Annotation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", unique=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    clip_id: int = Field(foreign_key="clip.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    expression: str | None = Field(default=None, max_length=40)
    descriptor: str | None = Field(default=None, max_length=40)
    flags: list[str] = json_field(default_factory=list)
    # Whether the model's ranking was on screen when this vote was cast.
    assisted: bool = False
    duration_ms: int | None = None
    is_gold: bool = False
    gold_correct: bool | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AnnotationCreate(SQLModel):
    assignment_id: Id
    expression: Text(40) | None = None
    descriptor: Text(40) | None = None
    flags: Annotated[list[Text(40)], Field(max_length=10)] = Field(default_factory=list)
    duration_ms: Int(0, 24 * 3600 * 1000) | None = None


class CampaignMember(SQLModel, table=True):
    """An annotator's standing in a campaign: qualification and gold record."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    user_id: int = Field(foreign_key="user.id", index=True)
    qualified: bool = False
    gold_answered: int = 0
    gold_correct: int = 0
    # Last `rolling_window` gold outcomes, newest last (1 correct, 0 wrong).
    recent_gold: list[int] = json_field(default_factory=list)
    labels: int = 0
    paused: bool = False
    updated_at: datetime = Field(default_factory=utcnow)
    # What the annotator is shown of their gold record: a snapshot taken every
    # quality.GOLD_BLOCK attempts (and when qualification is decided), so no
    # single gold outcome can be read off it. Admins see the live figures.
    shown_answered: int = 0
    shown_correct: int = 0
    shown_rolling: float | None = None
