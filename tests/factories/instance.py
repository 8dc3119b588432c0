"""A small, realistic instance of the platform, for tests that look at every
page: people of each role, videos (done, failed), clips in two scenes, a
campaign with votes (expressions, passes, not-a-face, bad-clip, gold), a
consensus run, an expert review, a checkpoint evaluated on every scope, model
predictions, and finished and failed jobs."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from app.benchmarks.models import BenchmarkResult, ModelCheckpoint
from app.clips.models import Clip, GoldAnswer
from app.consensus import runs
from app.datasets import service as datasets
from app.datasets.models import DatasetRelease
from app.jobs.models import Job, JobStatus
from app.labeling import service as labelling
from app.labeling.models import Campaign, CampaignCreate
from app.review import service as review
from app.taxonomy.defaults import EXPRESSION_NAMES, SCENARIOS
from app.users.models import Role, User
from app.videos.models import Video, VideoStatus
from tests.consensus_db.conftest import add_vote
from tests.factories.clips import add_prediction, make_clips, scene_id
from tests.factories.users import make_user

# Votes of annotators 0..2 per clip index: agreed, split, flagged ones.
PLAN: list[list[tuple[str | None, list[str]]]] = [
    [("Happy", []), ("Happy", []), ("Happy", [])],
    [("Sad", []), ("Sad", []), ("Sad", [])],
    [("Angry", []), ("Fear", []), ("Surprise", [])],          # disputed → review
    [("Neutral", []), ("Neutral", []), (None, ["pass"])],
    [(None, ["not_a_face"]), (None, ["bad_clip"]), (None, ["not_a_face"])],
    [("Disgust", []), ("Angry", []), ("Disgust", [])],
    [("Surprise", []), ("Surprise", []), ("Surprise", [])],
    [("Happy", []), ("Neutral", []), ("Sad", [])],             # disputed → review
]


@dataclass
class Instance:
    admin: User
    reviewer: User
    annotators: list[User]
    campaign: Campaign
    clips: list[Clip]
    videos: list[Video]
    checkpoint: ModelCheckpoint
    release: DatasetRelease
    run_ids: list[int] = field(default_factory=list)

    def path_values(self) -> dict[str, int | str]:
        """A real value for each path parameter a page may have."""
        return {"campaign_id": self.campaign.id, "video_id": self.videos[0].id, "clip_id": self.clips[0].id,
                "checkpoint_id": self.checkpoint.id, "user_id": self.annotators[0].id, "run_id": self.run_ids[-1],
                "name": self.release.name}


def _checkpoint(session: Session, *, model: str, quality: float) -> ModelCheckpoint:
    ckpt = ModelCheckpoint(model_name=model, path=f"checkpoints/{model}.pt", epochs=5, train_clips=120,
                           device="cpu", seconds=42.0, config={"size": 112})
    session.add(ckpt)
    session.flush()
    k = len(EXPRESSION_NAMES)
    confusion = [[(8 if i == j else 1) + (i + j) % 3 for j in range(k)] for i in range(k)]
    rows = [("all", "", quality)]
    rows += [("scenario", sc, quality - 0.02 * n) for n, sc in enumerate(SCENARIOS)]
    rows += [("scene", s, quality - 0.01 * (n % 7)) for n, s in enumerate(s for ss in SCENARIOS.values() for s in ss)]
    rows += [("class", e, quality - 0.03 * n) for n, e in enumerate(EXPRESSION_NAMES)]
    for scope, key, war in rows:
        session.add(BenchmarkResult(checkpoint_id=ckpt.id, scope=scope, key=key, war=round(war, 4),
                                    uar=round(war - 0.05, 4), n=40, confusion=confusion if scope == "all" else []))
    return ckpt


def seed_instance(session: Session) -> Instance:
    admin = make_user(session, Role.admin)
    reviewer = make_user(session, Role.reviewer)
    annotators = [make_user(session, Role.annotator) for _ in range(3)]

    daily, interview = scene_id(session, "DailyLife"), scene_id(session, "Interview")
    videos = [Video(scene_id=daily, filename="market-street.mp4", path="videos/a.mp4", size_bytes=1_234_567,
                    status=VideoStatus.done, progress=1.0, stage="done", duration_s=12.5, fps=25.0, width=1280,
                    height=720, frames=312, clips_count=6, created_by_id=admin.id),
              Video(scene_id=interview, filename="broken-upload.mp4", path="videos/b.mp4", size_bytes=2048,
                    status=VideoStatus.failed, error="The file is not a video PyAV can decode.", created_by_id=admin.id)]
    session.add_all(videos)
    session.commit()
    clips = make_clips(session, 6, scene="DailyLife") + make_clips(session, 2, scene="Interview")
    for clip in clips[:6]:
        clip.video_id = videos[0].id
        session.add(clip)
    session.add(GoldAnswer(clip_id=clips[0].id, expression="Happy"))
    session.commit()

    campaign = labelling.create_campaign(session, data=CampaignCreate(
        name="Street interviews, round 1", overlap=3, max_overlap=3, min_votes=3, trust_threshold=0.6,
        gold_rate=0.0, qualification_clips=0, assisted=True))
    for clip, votes in zip(clips, PLAN):
        for user, (expression, flags) in zip(annotators, votes):
            add_vote(session, campaign, clip.id, user, expression, flags=flags, duration_ms=1800,
                     is_gold=clip.id == clips[0].id, gold_correct=(expression == "Happy") if clip.id == clips[0].id
                     else None)
    for clip in clips:
        add_prediction(session, clip.id, {"Happy": 0.41, "Neutral": 0.22, "Sad": 0.12, "Surprise": 0.1,
                                          "Angry": 0.07, "Fear": 0.05, "Disgust": 0.03}, commit=False)
    session.commit()

    first = runs.run_consensus(session, method="mv")
    second = runs.run_consensus(session, method="ds")
    session.commit()
    review.decide(session, clip_id=clips[2].id, reviewer=reviewer,
                  data=review.ReviewIn(decision="label", expression="Fear", reason="wide eyes, raised brows"))
    session.commit()

    # Two releases, the second after one more expert decision: a release page with a diff to its parent.
    datasets.create_release(session, data=datasets.ReleaseIn(name="v1", licence="CC BY-NC 4.0"), user_id=admin.id)
    review.decide(session, clip_id=clips[7].id, reviewer=reviewer,
                  data=review.ReviewIn(decision="label", expression="Neutral", reason="a calm face"))
    session.commit()
    release = datasets.create_release(session, data=datasets.ReleaseIn(name="v2", parent="v1"), user_id=admin.id)
    session.commit()

    checkpoint = _checkpoint(session, model="frame_cnn", quality=0.52)
    other = _checkpoint(session, model="cnn_lstm", quality=0.47)
    session.add_all([
        Job(kind="train", status=JobStatus.done, progress=1.0, created_by_id=admin.id,
            params={"model": "frame_cnn", "epochs": 5},
            result={"checkpoint": checkpoint.id, "model": "frame_cnn", "epochs": 5, "train_clips": 120,
                    "device": "cpu", "seconds": 42.0, "final_loss": 0.8123}),
        Job(kind="evaluate", status=JobStatus.done, progress=1.0, created_by_id=admin.id,
            params={"checkpoint": other.id},
            result={"checkpoint": other.id, "war": 0.47, "uar": 0.42, "n": 40, "per_scenario": {}, "per_scene": {}}),
        Job(kind="prerank", status=JobStatus.failed, progress=0.3, created_by_id=admin.id,
            params={"checkpoint": "prior"}, error="no clip without a prediction"),
        Job(kind="consensus", status=JobStatus.done, progress=1.0, created_by_id=admin.id, params={"method": "ds"},
            result={"id": second.id, "method": "ds", "items": second.items, "votes": second.votes,
                    "counts": runs.run_counts(session, second.id)}),
    ])
    session.commit()
    return Instance(admin=admin, reviewer=reviewer, annotators=annotators, campaign=campaign, clips=clips,
                    videos=videos, checkpoint=checkpoint, release=release, run_ids=[first.id, second.id])
