"""Settings: the only place that reads environment variables.

Every setting is `FERVLAB_<NAME>`; a bad value stops start-up with one line
that names the variable (see `load_settings`).
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FERVLAB_", extra="ignore")

    env: str = Field("dev", description="dev | test | prod")
    var_dir: Path = Path("./var")
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""
    media_root: Path = Path("")
    secret_key: str = DEV_SECRET
    max_upload_mb: int = Field(512, gt=0)
    # Every request body but an upload (JSON, forms): bounded before it is read.
    max_body_kb: int = Field(1024, gt=0)
    session_max_age_s: int = Field(14 * 24 * 3600, gt=0)
    # Requests that use the database at once in one web process: the
    # connection pool holds this many, the thread pool this many plus
    # headroom (app/core/db.py), so neither can starve the other.
    db_connections: int = Field(20, ge=1, le=500)
    # How long a request waits for one before it is answered 503 + Retry-After.
    db_wait_s: float = Field(5.0, gt=0, le=300)
    # Password guessing (app/users/throttle.py): refused passwords allowed per
    # sliding window, per (account, client address) and per client address.
    login_window_s: int = Field(15 * 60, gt=0)
    login_failures_per_account: int = Field(10, gt=0)
    login_failures_per_address: int = Field(100, gt=0)
    # Celery runs tasks in the calling process when True (tests of tasks only).
    task_always_eager: bool = False
    # Work that outlives its worker (app/jobs/liveness.py, app/jobs/reaper.py).
    # A running job or ingest beats every `work_heartbeat_s`; one silent for
    # `work_stale_s` lost its worker and is re-queued, up to `work_max_attempts`
    # sends in all, then failed. Queued work is re-sent after
    # `work_queue_stale_s` when no work on its queue is alive. The reaper runs in
    # every worker at start and every `reaper_interval_s`.
    work_heartbeat_s: float = Field(15.0, gt=0)
    work_stale_s: float = Field(120.0, gt=0)
    work_max_attempts: int = Field(3, ge=1)
    work_queue_stale_s: float = Field(1800.0, gt=0)
    reaper_interval_s: float = Field(60.0, gt=0)
    # Redis redelivers an unacknowledged task after this long: longer than the
    # longest task (a training run), so a task still running is never handed to
    # a second worker; a killed worker's task is recovered by the reaper first.
    task_visibility_timeout_s: int = Field(24 * 3600, gt=0)
    # Enqueueing waits at most this long for the broker, then answers 503.
    broker_connect_timeout_s: float = Field(2.0, gt=0)
    broker_retry_after_s: int = Field(30, gt=0)
    # Set by `fervlab serve` for its embedded worker: the worker ends with it.
    embedded_parent_pid: int = Field(0, ge=0)

    @field_validator("env")
    @classmethod
    def _env(cls, v: str) -> str:
        if v not in {"dev", "test", "prod"}:
            raise ValueError("must be one of dev, test, prod")
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        if v and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return v

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, v: str) -> str:
        if v and not v.startswith(("sqla+", "redis://", "rediss://", "amqp://", "memory://")):
            raise ValueError("must be a redis://, amqp://, sqla+sqlite:// or memory:// URL")
        return v

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        var = self.var_dir.resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{var / 'fervlab.db'}"
        if self.database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship.
            self.database_url = "postgresql+psycopg://" + self.database_url[len("postgresql://"):]
        if not self.broker_url:
            # A broker that needs no server: kombu's SQLAlchemy transport on SQLite.
            self.broker_url = f"sqla+sqlite:///{var / 'broker.db'}"
        if not self.result_backend:
            if self.broker_url.startswith(("redis://", "rediss://")):
                self.result_backend = self.broker_url
            else:
                self.result_backend = f"db+sqlite:///{var / 'results.db'}"
        if str(self.media_root) in ("", "."):
            self.media_root = var / "media"
        self.media_root = self.media_root.resolve()
        if self.work_stale_s < 2 * self.work_heartbeat_s:
            raise ValueError("FERVLAB_WORK_STALE_S must be at least twice FERVLAB_WORK_HEARTBEAT_S")
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("FERVLAB_SECRET_KEY must be set outside dev mode")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def broker_is_embedded(self) -> bool:
        return self.broker_url.startswith("sqla+")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


class SettingsError(SystemExit):
    pass


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ()
        name = f"FERVLAB_{str(loc[0]).upper()}" if loc else "FERVLAB settings"
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        if msg.startswith("FERVLAB_"):
            line = f"fervlab: {msg}"
        else:
            line = f"fervlab: invalid {name}: {msg}"
        print(line, file=sys.stderr)
        raise SettingsError(2) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
