"""Scenarios → scenes, and the expressions with their descriptor words."""
from __future__ import annotations

import re

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.types import Name, json_field


class Scenario(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=80)
    position: int = 0


class SceneBase(SQLModel):
    name: str = Field(unique=True, max_length=80)


class Scene(SceneBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenario.id", index=True)
    position: int = 0


# Surrounding spaces are dropped before the check (app.core.types.Name).
FOLDER_NAME = r"^[ \t\n\r\f\v]*[A-Za-z0-9][A-Za-z0-9_.-]*[ \t\n\r\f\v]*$"


class SceneCreate(SQLModel):
    # Scene names become folder names (FERV39k's <Scene>/<clip>/ layout).
    name: Name(80, pattern=FOLDER_NAME)
    scenario: Name(80)

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, v: str) -> str:
        if not re.fullmatch(FOLDER_NAME, v):
            raise ValueError("use letters, digits, '_', '.' or '-' only (it becomes a folder name), e.g. RoadTrip")
        return v


class Expression(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=40)
    position: int = 0
    descriptors: list[str] = json_field(default_factory=list)
