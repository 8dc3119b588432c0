"""Every number, text and list a request carries is bounded at the boundary
(app/core/types.py): this walks every route, its dependencies and its body
models, so a new route cannot forget (ids past 2³¹ − 1, NUL bytes, 1e999,
65,536-item lists were 500s)."""
from __future__ import annotations

import enum
import types
import typing
from datetime import datetime

import annotated_types as at
from pydantic import AfterValidator, BaseModel, BeforeValidator
from starlette.datastructures import UploadFile as StarletteUpload

from app.core import types as bounds
from app.core.routing import api_route, flat_routes


def _meta(field_info) -> list:
    return list(getattr(field_info, "metadata", []) or [])


def _validators(meta: list) -> set:
    return {m.func for m in meta if isinstance(m, (AfterValidator, BeforeValidator))}


def _problems(annotation, meta: list, where: str, seen: set) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        flat = []
        for m in extra:
            flat.extend(_meta(m) if hasattr(m, "metadata") and not isinstance(m, (at.BaseMetadata,)) else [m])
        return _problems(inner, meta + flat, where, seen)
    if origin in (typing.Union, types.UnionType):
        return [p for a in typing.get_args(annotation) if a is not type(None)
                for p in _problems(a, meta, where, seen)]
    if origin in (list, set, tuple, typing.Sequence):
        out = [] if any(isinstance(m, at.MaxLen) for m in meta) else [f"{where}: list without a length cap"]
        for a in typing.get_args(annotation):
            if a is not Ellipsis:
                out += _problems(a, [], where + "[]", seen)
        return out
    if annotation is bool:
        # JSON bodies: true/false only (app.core.types.Bool); query strings are text anyway.
        strict = any(getattr(m, "strict", None) for m in meta)
        return [] if strict or " body " not in where else [f"{where}: bool that is not app.core.types.Bool"]
    if origin is typing.Literal or annotation in (datetime, type(None), typing.Any, dict):
        return []
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return []
    if isinstance(annotation, type) and issubclass(annotation, StarletteUpload):
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        return [p for name, f in annotation.model_fields.items()
                for p in _problems(f.annotation, _meta(f), f"{where}.{name}", seen)]
    if annotation is int:
        le = [m.le for m in meta if isinstance(m, at.Le)] + [m.lt for m in meta if isinstance(m, at.Lt)]
        ok = le and min(le) <= bounds.MAX_INT and bounds._not_bool in _validators(meta)
        return [] if ok else [f"{where}: int without the Id/Count bounds (or a bool check)"]
    if annotation is float:
        finite = any(getattr(m, "allow_inf_nan", None) is False for m in meta)
        ok = finite and bounds._not_bool in _validators(meta)
        return [] if ok else [f"{where}: float that is not app.core.types.Real/Float"]
    if annotation is str:
        capped = any(isinstance(m, at.MaxLen) or getattr(m, "max_length", None) for m in meta)
        clean = bounds._clean_text in _validators(meta) or any(getattr(m, "pattern", None) for m in meta)
        return [] if capped and clean else [f"{where}: str that is not Text/Name (length cap, no NUL)"]
    return [f"{where}: unchecked type {annotation!r}"]


def _params(dependant):
    stack = [dependant]
    while stack:
        d = stack.pop()
        for kind in ("path_params", "query_params", "header_params", "cookie_params", "body_params"):
            for f in getattr(d, kind):
                yield kind.removesuffix("_params"), f
        stack.extend(d.dependencies)


def test_every_request_value_is_bounded(app):
    problems = []
    for route in flat_routes(app):
        original = api_route(route)
        if original is None:
            continue
        for methods in [sorted(route.methods or [])]:
            label = f"{'/'.join(methods)} {route.path}"
            for kind, f in _params(original.dependant):
                if f.name in ("session_data",):
                    continue
                problems += _problems(f.field_info.annotation, _meta(f.field_info), f"{label} {kind} {f.name}",
                                      set())
    assert not problems, "unbounded request values:\n" + "\n".join(sorted(set(problems)))


def test_no_route_reads_an_upload_before_authentication(app):
    """FastAPI reads File/Form parameters before any dependency runs, so an
    UploadFile parameter would let anonymous clients make the server spool
    a whole upload before its 401: uploads are read by a dependency after
    authentication instead (app/videos/upload.py, app.core.limits.multipart_body)."""
    from app.core.limits import _has_file_param

    offenders = [f"{sorted(r.methods or [])} {r.path}" for r in flat_routes(app)
                 if api_route(r) is not None and _has_file_param(api_route(r).dependant)]
    assert not offenders, offenders
