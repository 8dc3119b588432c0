from fastapi import APIRouter

from app.core.deps import AdminWriter, SessionDep
from app.taxonomy import service
from app.taxonomy.models import SceneCreate

router = APIRouter(prefix="/api/v1", tags=["taxonomy"])


@router.get("/taxonomy")
def get_taxonomy(session: SessionDep) -> dict:
    return service.tree(session)


@router.post("/scenes", status_code=201)
def create_scene(body: SceneCreate, session: SessionDep, _: AdminWriter) -> dict:
    scene = service.add_scene(session, name=body.name, scenario=body.scenario)
    return {"id": scene.id, "name": scene.name, "scenario": body.scenario}
