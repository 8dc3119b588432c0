"""Liveness of the database and the broker."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import get_engine

router = APIRouter(tags=["health"])


def check_db() -> str:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"


def check_broker() -> str:
    from kombu import Connection

    try:
        with Connection(get_settings().broker_url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@router.get("/healthz")
def healthz() -> JSONResponse:
    body = {"db": check_db(), "broker": check_broker()}
    ok = all(v == "ok" for v in body.values())
    return JSONResponse(body, status_code=200 if ok else 503)
