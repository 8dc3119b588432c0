"""Liveness of the database and the broker."""
from __future__ import annotations

import os

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


def check_embedded_broker(url: str) -> str:
    """kombu's SQLAlchemy transport connects lazily, so asking it proves
    nothing: open the SQLite file itself (creating it, as the transport
    would) and check that it can be written."""
    import sqlite3
    from pathlib import Path

    path = url.split("///", 1)[-1]
    try:
        conn = sqlite3.connect(path, timeout=3)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"error: {type(exc).__name__}: {exc} ({path})"
    if not os.access(path, os.W_OK) or not os.access(Path(path).parent, os.W_OK):
        return f"error: not writable ({path})"
    return "ok"


def check_broker() -> str:
    from kombu import Connection

    url = get_settings().broker_url
    if url.startswith("sqla+sqlite"):
        return check_embedded_broker(url[len("sqla+"):])
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@router.get("/healthz")
def healthz() -> JSONResponse:
    body = {"db": check_db(), "broker": check_broker()}
    ok = all(v == "ok" for v in body.values())
    return JSONResponse(body, status_code=200 if ok else 503)
