"""Campaigns, the assignment engine and annotations."""
from __future__ import annotations

from sqlmodel import Session, select

from app.labeling.models import Campaign, CampaignStatus
from app.users.models import User


def campaigns_for(session: Session, *, user: User) -> list[Campaign]:
    """Campaigns an annotator can work on now."""
    return list(session.exec(select(Campaign).where(Campaign.status == CampaignStatus.active).order_by(Campaign.id)).all())
