"""A release: one immutable row, one row per clip it holds."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import json_field


class DatasetRelease(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=80)  # folder-safe, see service.check_name
    parent_id: int | None = Field(default=None, foreign_key="datasetrelease.id")
    # The parent's name, kept so the lineage reads after the parent is deleted.
    parent_name: str | None = Field(default=None, max_length=80)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # What was asked: {"min_posterior", "scenes", "test_share", "seed"}.
    params: dict = json_field()
    # What went in and what was left out, and why: {"included", "trusted", ...}.
    counts: dict = json_field()
    # Figures the pages and the card show, computed once at creation.
    stats: dict = json_field()
    consensus_run_id: int | None = Field(default=None, foreign_key="consensusrun.id")
    consensus_method: str | None = Field(default=None, max_length=40)
    # Votes up to this annotation id were frozen into the release's votes file.
    last_annotation_id: int | None = None
    licence: str = Field(default="", max_length=2000)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class ReleaseClip(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("release_id", "clip_id"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="datasetrelease.id", index=True)
    clip_id: int = Field(foreign_key="clip.id", index=True)
    clip_key: str = Field(max_length=200)
    scenario: str = Field(max_length=80)
    scene: str = Field(max_length=80)
    expression: str = Field(max_length=40)
    descriptor: str | None = Field(default=None, max_length=40)  # the most voted one for the label
    posterior: float | None = None  # None: a label imported with the clip, no votes
    votes: int = 0
    agreement: float | None = None  # share of the clip's votes that chose its label
    histogram: dict = json_field()  # expression -> votes
    split: str = Field(max_length=8)
    source: str = Field(max_length=16)  # consensus | review | import
    consensus_run_id: int | None = None
    review_id: int | None = None
    # Where the FERV39k layout puts it: "<Scene>/<Expression>/<NNNN>".
    ferv39k_path: str = Field(max_length=200)
