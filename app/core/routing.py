"""The app's routes as one flat list (FastAPI keeps included routers nested)."""
from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts


def flat_routes(app) -> list:
    """Every route, with its effective path (prefixes applied): objects
    that answer `.path`, `.methods`, `.matches(scope)`, `.openapi_extra`."""
    return list(iter_route_contexts(app.routes))


def api_route(route) -> APIRoute | None:
    """The APIRoute behind a flat route (its `dependant`), or None."""
    original = getattr(route, "original_route", route)
    return original if isinstance(original, APIRoute) else None
