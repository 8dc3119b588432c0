"""Every table, imported in one place for alembic and create_all."""
from app.benchmarks.models import BenchmarkResult, ModelCheckpoint, Prediction  # noqa: F401
from app.clips.models import Clip, GoldAnswer  # noqa: F401
from app.consensus.models import ConsensusLabel, ConsensusRun  # noqa: F401
from app.datasets.models import DatasetRelease, ReleaseClip  # noqa: F401
from app.jobs.models import Job  # noqa: F401
from app.labeling.models import Annotation, Assignment, Campaign, CampaignClip, CampaignMember  # noqa: F401
from app.review.models import Review  # noqa: F401
from app.taxonomy.models import Expression, Scenario, Scene  # noqa: F401
from app.users.models import ApiToken, LoginFailure, LoginSession, User  # noqa: F401
from app.videos.models import Video  # noqa: F401
from sqlmodel import SQLModel

metadata = SQLModel.metadata
