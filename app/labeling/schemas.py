"""Shapes of the labelling API's answers (requests use models.py's
CampaignCreate / CampaignUpdate / AnnotationCreate)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.labeling.models import CampaignStatus


class RankItem(BaseModel):
    expression: str
    p: float


class DealOut(BaseModel):
    assignment_id: int
    clip_id: int
    media_url: str
    expires_at: datetime
    ranking: list[RankItem] | None


class ClipState(BaseModel):
    state: str
    clips: int
    waiting_for: str


class Progress(BaseModel):
    clips: int
    gold: int
    complete: int
    in_progress: int
    remaining: int
    votes: int
    leases: int
    labels: int
    labels_last_hour: int
    annotators: int
    # How many clips are in each state and what they wait for (progress.STATES).
    states: list[ClipState] = []


class CampaignOut(BaseModel):
    id: int
    name: str
    scene_ids: list[int]
    status: CampaignStatus
    overlap: int
    max_overlap: int
    gold_rate: float
    lease_seconds: int
    assisted: bool
    qualification_clips: int
    qualification_accuracy: float
    pause_accuracy: float
    rolling_window: int
    trust_threshold: float
    min_votes: int
    created_at: datetime
    progress: Progress | None = None


class AnnotationOut(BaseModel):
    id: int
    assignment_id: int
    clip_id: int
    expression: str | None
    descriptor: str | None
    flags: list[str]
    assisted: bool
    duration_ms: int | None
    created_at: datetime
    # The annotator's count of labels in this campaign, for the page's counter.
    labels_done: int


class MemberStats(BaseModel):
    campaign_id: int
    campaign: str
    labels: int
    gold_answered: int
    gold_correct: int
    gold_accuracy: float | None
    rolling_accuracy: float | None
    qualified: bool
    qualification_needed: int
    paused: bool
    message: str | None = None
    # For the annotator the gold figures move once every `gold_block` gold
    # attempts (no single check clip's outcome shows); admins see them live.
    gold_block: int = 1


class AnnotatorRow(MemberStats):
    user_id: int
    email: str
    labels_last_hour: int
    last_active: datetime | None
