"""Small shared column helpers for the SQLModel tables, and the bounded
types every request value is declared with."""
from __future__ import annotations

import re
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator, Strict, StringConstraints
from pydantic import Field as _PField
from sqlmodel import Field


def json_field(default_factory=dict, **kw: Any) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON, **kw)


def str_enum_field(default: Any, length: int = 16, **kw: Any) -> Any:
    # Enums are stored as plain strings: no PostgreSQL ENUM types to migrate.
    return Field(default=default, sa_type=sa.String(length), **kw)


# -- request boundary types --------------------------------------------------------
#
# Every id, count, number and piece of text a request carries goes through
# one of these, so out-of-range or malformed input is a 422 with a clear
# message instead of a database error (a 500) deep inside a handler.
# tests/api/test_boundaries.py walks the router and fails on any bare `int`,
# `float` or `str` parameter a new route forgets to bound.

# PostgreSQL INTEGER columns hold up to 2³¹ − 1 (SQLite's are wider); every
# id and counter here is such a column.
MAX_INT = 2**31 - 1


def _not_bool(v: Any) -> Any:
    # JSON `true`/`false` would otherwise pass as 1/0 (pydantic's lax mode).
    if isinstance(v, bool):
        raise ValueError("must be a number, not true or false")
    return v


# Blank means only these (the same in Python, JavaScript and Rust regexes, so
# the documented pattern and the check agree).
_SPACES = " \t\n\r\f\v"
# Documented as patterns, so schema-driven clients never send what is
# refused; checked by the validators below, whose messages are clearer.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK = r"^[^\x00]*[^ \t\n\r\f\v\x00][^\x00]*$"


def _clean_text(v: str) -> str:
    # NUL is refused by PostgreSQL text columns; a lone surrogate cannot be
    # encoded as UTF-8 by either driver.
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return v


def _not_blank(v: str) -> str:
    v = v.strip(_SPACES)
    if not v:
        raise ValueError("must not be empty or only spaces")
    return v


def Int(ge: int = 0, le: int = MAX_INT):  # noqa: N802 - a type, used like one
    """An integer in [ge, le] (le at most an INTEGER column's range); never a boolean."""
    return Annotated[int, _PField(ge=ge, le=min(le, MAX_INT)), BeforeValidator(_not_bool)]


def Float(*, ge: float | None = None, le: float | None = None, gt: float | None = None):  # noqa: N802
    """A finite number (JSON's 1e999 is infinity), never a boolean."""
    return Annotated[float, _PField(ge=ge, le=le, gt=gt, allow_inf_nan=False), BeforeValidator(_not_bool)]


# A row id: path, query or body. 0 and negatives never name a row.
Id = Int(1)
# A count, size or offset that lands in an INTEGER column or a LIMIT/OFFSET.
Count = Int(0)
# Any finite number.
Real = Float()


def Text(max_length: int, *, min_length: int = 0):  # noqa: N802
    """Free text of at most `max_length` characters, no NUL, valid Unicode."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     _PField(json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_clean_text)]


def Name(max_length: int, *, pattern: str = _NOT_BLANK):  # noqa: N802
    """A name: like Text, never blank, surrounding spaces dropped. A
    narrower `pattern` (documented only) must be checked by its model."""
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length),
                     _PField(json_schema_extra={"pattern": pattern}), AfterValidator(_clean_text),
                     AfterValidator(_not_blank)]


_EMAIL = r"^[ \t\n\r\f\v]*[^@ \t\n\r\f\v\x00]+@[^@ \t\n\r\f\v\x00]+[ \t\n\r\f\v]*$"


def _email(v: str) -> str:
    if not re.fullmatch(_EMAIL, v):
        raise ValueError("must be an email address (name@domain, no spaces)")
    return v.strip(_SPACES).lower()


# An email address as accounts store it: one @, no spaces inside, lower-cased.
Email = Annotated[str, StringConstraints(max_length=254), _PField(json_schema_extra={"pattern": _EMAIL}),
                  AfterValidator(_clean_text), AfterValidator(_email)]


# A JSON true/false: never 0, 1 or "yes" (pydantic's lax mode takes those).
Bool = Annotated[bool, Strict()]


def IdList(max_items: int):  # noqa: N802
    """A list of ids, at most `max_items` long (SQL `IN` lists and bind
    parameters have limits: 65,535 on PostgreSQL)."""
    return Annotated[list[Id], _PField(max_length=max_items)]
