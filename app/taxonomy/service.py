"""Reading and editing the scenario → scene tree and the expressions."""
from __future__ import annotations

from sqlmodel import Session, select

from app.core.errors import Conflict, NotFound
from app.taxonomy.defaults import EXPRESSIONS, SCENARIOS
from app.taxonomy.models import Expression, Scenario, Scene


def seed_defaults(session: Session) -> bool:
    """Insert the FERV39k taxonomy where missing. Returns True if anything was added."""
    added = False
    scenarios = {s.name: s for s in session.exec(select(Scenario)).all()}
    scenes = {s.name for s in session.exec(select(Scene)).all()}
    for i, (scenario_name, scene_names) in enumerate(SCENARIOS.items()):
        scenario = scenarios.get(scenario_name)
        if scenario is None:
            scenario = Scenario(name=scenario_name, position=i)
            session.add(scenario)
            session.flush()
            added = True
        for j, name in enumerate(scene_names):
            if name not in scenes:
                session.add(Scene(name=name, scenario_id=scenario.id, position=j))
                added = True
    existing = {e.name for e in session.exec(select(Expression)).all()}
    for i, (name, words) in enumerate(EXPRESSIONS.items()):
        if name not in existing:
            session.add(Expression(name=name, position=i, descriptors=words))
            added = True
    session.flush()
    return added


def expressions(session: Session) -> list[Expression]:
    return list(session.exec(select(Expression).order_by(Expression.position)).all())


def expression_names(session: Session) -> list[str]:
    return [e.name for e in expressions(session)]


def tree(session: Session) -> dict:
    scenarios = session.exec(select(Scenario).order_by(Scenario.position, Scenario.id)).all()
    scenes = session.exec(select(Scene).order_by(Scene.position, Scene.id)).all()
    by_scenario: dict[int, list[Scene]] = {}
    for sc in scenes:
        by_scenario.setdefault(sc.scenario_id, []).append(sc)
    return {
        "scenarios": [
            {"name": s.name, "scenes": [{"id": sc.id, "name": sc.name} for sc in by_scenario.get(s.id, [])]}
            for s in scenarios
        ],
        "expressions": [{"name": e.name, "descriptors": list(e.descriptors)} for e in expressions(session)],
    }


def get_scene(session: Session, scene_id: int) -> Scene:
    scene = session.get(Scene, scene_id)
    if scene is None:
        raise NotFound(f"Scene {scene_id} does not exist.")
    return scene


def scene_by_name(session: Session, name: str) -> Scene:
    scene = session.exec(select(Scene).where(Scene.name == name)).first()
    if scene is None:
        known = ", ".join(s.name for s in session.exec(select(Scene).order_by(Scene.name)).all())
        raise NotFound(f"Scene '{name}' does not exist. Known scenes: {known}.")
    return scene


def scene_scenarios(session: Session) -> dict[int, tuple[str, str]]:
    """scene id → (scene name, scenario name)."""
    scenarios = {s.id: s.name for s in session.exec(select(Scenario)).all()}
    return {s.id: (s.name, scenarios[s.scenario_id]) for s in session.exec(select(Scene)).all()}


def add_scene(session: Session, *, name: str, scenario: str) -> Scene:
    if session.exec(select(Scene).where(Scene.name == name)).first() is not None:
        raise Conflict(f"Scene '{name}' already exists.")
    parent = session.exec(select(Scenario).where(Scenario.name == scenario)).first()
    if parent is None:
        parent = Scenario(name=scenario, position=len(session.exec(select(Scenario)).all()))
        session.add(parent)
        session.flush()
    scene = Scene(name=name, scenario_id=parent.id, position=len(session.exec(
        select(Scene).where(Scene.scenario_id == parent.id)).all()))
    session.add(scene)
    session.commit()

    return scene


def check_expression(session: Session, expression: str, descriptor: str | None = None) -> Expression:
    """The Expression named `expression` (case-insensitive), or a clear 422."""
    from app.core.errors import Invalid

    for e in expressions(session):
        if e.name.lower() == expression.strip().lower():
            if descriptor is not None and descriptor not in e.descriptors:
                raise Invalid(
                    f"'{descriptor}' is not a descriptor of {e.name}; choose one of {', '.join(e.descriptors)}."
                )
            return e
    raise Invalid(f"'{expression}' is not an expression; choose one of {', '.join(expression_names(session))}.")
